#!/bin/sh
# Scenario imperative: vf assign / ns attach / ns detach / vf unassign on the
# real kernel, kept as an overlay on the (absent) policies; a private,
# detached namespace attaches to one VF only (a second attach is refused by
# the controller and rolled back, the overlay unchanged); a VF held open
# through vfio makes a VF count change refuse instead of hang.
# run-vm: --vfs 4 --namespaces 1:64M,2:32M:detached,3:16M:private:detached --program tests/vm/vfio-probe
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
CTRL=/dev/$(vm_ctrl "$PF")

attached() { nvme list-ctrl "$CTRL" -n "$1" | grep -q "]:0*x*$(printf '%x' "$2")\$"; }

vm_log "vf assign VF 3 to nvme: VFs 1-3 enabled, VF 3 online"
vm_time assign homictl --direct vf assign 01:00.0 3 --driver nvme --vq 2 --vi 1
[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 3 ] || vm_fail "sriov_numvfs is not 3"
VF3=$(vm_vf "$PF" 3)
[ "$(vm_driver "$VF3")" = nvme ] || vm_fail "$VF3 is not on nvme"
grep -q '"vf": 3' /var/lib/homi/overlay.json || vm_fail "no overlay entry"
grep -q 'homictl vf assign (uid 0' /var/lib/homi/overlay.json || vm_fail "overlay entry without origin"

vm_log "ns attach the private namespace 3 to VF 3"
SCID3=$(vm_scid "$PF" 3)
vm_run homictl --direct ns attach 01:00.0 3 --vf 3
attached 3 "$SCID3" || vm_fail "namespace 3 not attached to VF 3 (SCID $SCID3)"
vm_wait 10 "ls /sys/bus/pci/devices/$VF3/nvme/*/ | grep -q 'n3\$'" || true
homictl -j topology > /tmp/topo.json
homi-vm-export /tmp/topo.json

vm_log "a second attach of the private namespace is refused and rolled back"
cp /var/lib/homi/overlay.json /tmp/overlay.before
set +e
homictl --direct vf assign 01:00.0 2 --driver nvme --vq 2 --vi 1 && homictl --direct ns attach 01:00.0 3 --vf 2 > /tmp/priv.txt 2>&1
rc=$?
set -e
cat /tmp/priv.txt
[ $rc = 1 ] || vm_fail "attaching a private namespace twice: exit $rc, expected 1"
grep -q 'Namespace Is Private' /tmp/priv.txt || vm_fail "the controller's refusal is not reported"
grep -q 'Rolled back' /tmp/priv.txt || vm_fail "not rolled back"
attached 3 "$SCID3" || vm_fail "VF 3 lost namespace 3"
attached 3 "$(vm_scid "$PF" 2)" && vm_fail "namespace 3 attached to VF 2"
grep -q '"nsid": 3' /var/lib/homi/overlay.json || vm_fail "overlay lost VF 3's namespace"
[ "$(grep -c '"nsid": 3' /var/lib/homi/overlay.json)" = 1 ] || vm_fail "the refused attach was saved in the overlay"

vm_log "ns detach"
vm_run homictl --direct ns detach 01:00.0 3 --vf 3
attached 3 "$SCID3" && vm_fail "namespace 3 still attached to VF 3"

vm_log "a VF held open through vfio: a VF count change refuses, never hangs"
vm_run homictl --direct vf assign 01:00.0 1 --driver vfio-pci --vq 2 --vi 1
VF1=$(vm_vf "$PF" 1)
group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}
sleep 60 < "/dev/vfio/$group" &
holder=$!
sleep 1
set +e
timeout 30 homictl --direct vf assign 01:00.0 4 --driver nvme --vq 2 --vi 1 > /tmp/busy.txt 2>&1
rc=$?
set -e
cat /tmp/busy.txt
[ $rc = 1 ] || vm_fail "count change with VF 1 open: exit $rc, expected 1 (124 = hung)"
grep -q "VF 1 ($VF1) is in use: pid $holder (sleep) holds /dev/vfio/$group" /tmp/busy.txt || vm_fail "the holder is not named"
[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 3 ] || vm_fail "the VF count changed"
kill $holder
wait $holder 2>/dev/null || true

vm_log "the same with the device open and its group descriptor closed (vfio-pci's enable count)"
vfio-probe --hold 60 "$VF1" > /tmp/hold.txt 2>&1 &
holder=$!
i=0
until grep -q '^holding=' /tmp/hold.txt; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat /tmp/hold.txt; vm_fail "vfio-probe did not open $VF1"; }
	sleep 0.1
done
set +e
timeout 30 homictl --direct vf assign 01:00.0 4 --driver nvme --vq 2 --vi 1 > /tmp/busy2.txt 2>&1
rc=$?
set -e
cat /tmp/busy2.txt
[ $rc = 1 ] || vm_fail "count change with VF 1's device open: exit $rc, expected 1 (124 = hung)"
grep -q "VF 1 ($VF1) is in use: " /tmp/busy2.txt || vm_fail "the open device is not reported"
kill $holder
wait $holder 2>/dev/null || true
vm_run homictl --direct vf assign 01:00.0 4 --driver nvme --vq 2 --vi 1
[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 4 ] || vm_fail "sriov_numvfs is not 4"

vm_log "vf unassign everything: back to no VFs"
for vf in 4 3 2 1; do vm_run homictl --direct vf unassign 01:00.0 $vf; done
[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 0 ] || vm_fail "VFs left"
vm_run homictl --direct plan
vm_log "ok"
