#!/bin/sh
# Scenario vfio: a VF behind a root port, bound to vfio-pci, is alone in its
# IOMMU group, the group is viable, BAR0 maps (CAP/VS of an online NVMe
# controller), a DMA buffer maps through the type1v2 IOMMU, and one NVMe
# admin command (Identify) completes through that DMA memory. An
# unprivileged user is refused until /dev/vfio/<group> is handed over.
# run-vm: --vfs 4 --program tests/vm/vfio-probe
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=$(vm_pfs)
[ "$PF" = 0000:01:00.0 ] || vm_fail "expected one PF at 0000:01:00.0, got: $PF"
vm_testbed_sequence "$PF" 2
VF1=$(vm_vf "$PF" 1)
group=$(readlink "$VM_PCI/$VF1/iommu_group")
group=${group##*/}
[ -c "/dev/vfio/$group" ] || vm_fail "/dev/vfio/$group missing"

vm_log "vfio-probe as root"
vm_time vfio-probe vfio-probe --expect-viable --expect-alone --identify "$VF1" | tee /tmp/probe.txt
grep -q '^vs=0x00010400\|vs=0x00010400' /tmp/probe.txt || vm_fail "$VF1: VS is not 1.4"
grep -q '^identify=ok .*cntlid=1 ' /tmp/probe.txt || vm_fail "$VF1: Identify did not report CNTLID 1 (SCID of VF1)"

vm_log "vfio-probe as user (uid 1000)"
ls -l "/dev/vfio/$group"
if setpriv --reuid=1000 --regid=1000 --clear-groups vfio-probe "$VF1" > /tmp/user.txt 2>&1; then
	cat /tmp/user.txt
	vm_fail "an unprivileged user opened /dev/vfio/$group (mode $(stat -c %a "/dev/vfio/$group"))"
fi
cat /tmp/user.txt
grep -q 'Permission denied' /tmp/user.txt || vm_fail "expected EACCES for uid 1000"
vm_run chown user:homi-admin "/dev/vfio/$group"
vm_run chmod 0660 "/dev/vfio/$group"
vm_run setpriv --reuid=1000 --regid=1000 --clear-groups vfio-probe --expect-viable --identify "$VF1"

vm_log "the VF offline: BAR0 reads 0"
# An offline secondary ignores MMIO (CAP/VS read 0); the probe still maps.
vm_run nvme virt-mgmt "/dev/$(vm_ctrl "$PF")" -c "$(vm_scid "$PF" 1)" -a 7 -n 0
vfio-probe "$VF1" | tee /tmp/offline.txt
grep -q 'vs=0x00000000' /tmp/offline.txt || vm_fail "$VF1: VS not 0 while offline"
vm_log "ok"
