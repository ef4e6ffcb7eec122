#!/bin/sh
# Scenario vfio-bringup: after homictl --direct apply of the testbed policy,
# homi-io brings up the NVMe controller of VF1 (vfio-pci) from user space:
# Identify Controller gives the serial and model the kernel shows for the
# PF, Identify Namespace the size of the PF's nvme0n1. The policy's owner
# (uid 1000, RLIMIT_MEMLOCK as the guest gives it) does the same without
# root; a user outside owner and group is refused. Namespace 1 is
# delegated "ro": writes are refused with the policy entry named, reads
# work; --ro refuses writes under a rw policy too. --reset (VFIO function
# reset) before bring-up works.
# run-vm: --vfs 4 --policy policies/qemu-testbed.json --policy tests/vm/policies/testbed-rw.json
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
RO=/etc/homi/ro && RW=/etc/homi/rw
mkdir -p $RO $RW
mv /etc/homi/policies.d/qemu-testbed.json $RO/
mv /etc/homi/policies.d/testbed-rw.json $RW/

vm_log "apply the testbed policy (namespace 1 read-only on VF1)"
vm_run homictl --direct apply $RO/qemu-testbed.json > /dev/null
VF1=$(vm_vf "$PF" 1)
[ "$(vm_driver "$VF1")" = vfio-pci ] || vm_fail "$VF1 is not on vfio-pci"
CTRL=$(vm_ctrl "$PF")

vm_log "bring-up and Identify through the VF, as root"
vm_time identify homi-io --policy $RO -v "$VF1" identify | tee /tmp/id.txt
field() { sed -n "s/^$1: //p" /tmp/id.txt; }
pf_serial=$(sed 's/ *$//' "/sys/class/nvme/$CTRL/serial")
pf_model=$(sed 's/ *$//' "/sys/class/nvme/$CTRL/model")
[ "$(field serial)" = "$pf_serial" ] || vm_fail "serial '$(field serial)' through the VF, '$pf_serial' through the PF"
[ "$(field model)" = "$pf_model" ] || vm_fail "model '$(field model)' through the VF, '$pf_model' through the PF"
[ "$(field cntlid)" = "$(vm_scid "$PF" 1)" ] || vm_fail "CNTLID $(field cntlid) is not VF1's SCID $(vm_scid "$PF" 1)"
[ "$(field cntlid)" != "$(vm_cntlid "$PF")" ] || vm_fail "the VF answered with the PF's CNTLID"
blocks=$(sed -n 's/^namespace 1: \([0-9]*\) blocks of \([0-9]*\) bytes$/\1 \2/p' /tmp/id.txt)
set -- $blocks
[ "$(($1 * $2))" = "$(($(cat /sys/block/nvme0n1/size) * 512))" ] ||
	vm_fail "namespace 1 has $(($1 * $2)) bytes through the VF, $(($(cat /sys/block/nvme0n1/size) * 512)) through the PF"
[ "$(field vfio-mode)" = type1 ] || vm_fail "not opened through type1"
homi-io --policy $RO "$VF1" identify -j > /tmp/id.json
grep -q "\"serial\": \"$pf_serial\"" /tmp/id.json || vm_fail "JSON identify lacks the serial"
grep -q '"access": "ro"' /tmp/id.json || vm_fail "JSON identify does not show namespace 1 as ro"
homi-vm-export /tmp/id.txt /tmp/id.json

vm_log "the policy's owner (uid 1000), without root"
ls -l "/dev/vfio/$(readlink "$VM_PCI/$VF1/iommu_group" | sed 's|.*/||')"
echo "RLIMIT_MEMLOCK of uid 1000: $(setpriv --reuid=1000 --regid=1000 --clear-groups sh -c 'ulimit -l') KiB"
vm_run setpriv --reuid=1000 --regid=1000 --clear-groups homi-io --policy $RO "$VF1" identify > /tmp/user-id.txt
[ "$(sed -n 's/^serial: //p' /tmp/user-id.txt)" = "$pf_serial" ] || vm_fail "uid 1000: wrong serial"
vm_run setpriv --reuid=1000 --regid=1000 --clear-groups homi-io --policy $RO "$VF1" verify --lba 0 --count 8 --pattern 0
setpriv --reuid=1000 --regid=1000 --clear-groups homi-perf --policy $RO "$VF1" --rw randread --qd 4 --time 1 |
	tee /tmp/user-perf.txt
grep -q 'errors 0' /tmp/user-perf.txt || vm_fail "uid 1000: homi-perf failed"

vm_log "a user outside owner and group (nobody) is refused"
if setpriv --reuid=65534 --regid=65534 --clear-groups homi-io "$VF1" identify > /tmp/nobody.txt 2>&1; then
	vm_fail "nobody opened the VF"
fi
cat /tmp/nobody.txt
grep -q "^$VF1: /dev/vfio/[0-9]*: permission denied" /tmp/nobody.txt || vm_fail "no permission message for nobody"
[ "$(wc -l < /tmp/nobody.txt)" = 1 ] || vm_fail "the refusal is not one line"

vm_log "namespace 1 is delegated read-only: writes refused, reads work"
if homi-io --policy $RO "$VF1" write --lba 0 --count 1 --pattern 0xa5 > /tmp/ro.txt 2>&1; then
	vm_fail "a write to a read-only namespace succeeded"
fi
cat /tmp/ro.txt
grep -q "^$VF1: namespace 1 is delegated read-only (.*qemu-testbed.json: \$.devices\[0\].vfs\[0\]): refusing to write" /tmp/ro.txt ||
	vm_fail "the refusal does not name the policy entry"
if homi-perf --policy $RO "$VF1" --rw randwrite --time 1 > /tmp/ro-perf.txt 2>&1; then
	vm_fail "homi-perf wrote to a read-only namespace"
fi
grep -q 'delegated read-only' /tmp/ro-perf.txt || vm_fail "homi-perf: no read-only refusal"
# The default policy directory is the one homid and homictl read.
cp $RO/qemu-testbed.json /etc/homi/policies.d/
homi-io "$VF1" write --lba 0 --count 1 --pattern 0xa5 2>&1 | grep -q 'delegated read-only' ||
	vm_fail "the default policy directory was not consulted"
rm /etc/homi/policies.d/qemu-testbed.json
homi-io --policy $RO "$VF1" read --lba 0 --count 8 > /tmp/ro-read.bin
[ "$(wc -c < /tmp/ro-read.bin)" = 4096 ] || vm_fail "read of 8 blocks gave $(wc -c < /tmp/ro-read.bin) bytes"
dd if=/dev/nvme0n1 bs=4096 count=1 iflag=direct 2>/dev/null | cmp - /tmp/ro-read.bin ||
	vm_fail "blocks 0-7 differ between the VF and the PF"

vm_log "rw policy: writes allowed; --ro still refuses them"
vm_run homictl --direct apply $RW/testbed-rw.json > /dev/null
vm_run homi-io --policy $RW "$VF1" write --lba 4096 --count 8 --pattern 0x42
vm_run homi-io --policy $RW "$VF1" verify --lba 4096 --count 8 --pattern 0x42
if homi-io --policy $RW --ro "$VF1" write --lba 4096 --count 8 --pattern 0x43 > /tmp/ro2.txt 2>&1; then
	vm_fail "--ro did not refuse a write"
fi
grep -q "read-only (.*--ro)" /tmp/ro2.txt || vm_fail "--ro refusal not worded: $(cat /tmp/ro2.txt)"
vm_run homi-io "$VF1" verify --lba 4096 --count 8 --pattern 0x42

vm_log "function-level reset before bring-up"
vm_time reset-identify homi-io --reset "$VF1" identify > /tmp/reset-id.txt
[ "$(sed -n 's/^serial: //p' /tmp/reset-id.txt)" = "$pf_serial" ] || vm_fail "after --reset: wrong serial"
vm_run homi-io "$VF1" verify --lba 4096 --count 8 --pattern 0x42
vm_log "ok"
