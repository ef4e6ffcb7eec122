#!/bin/sh
# Scenario examples: every example policy in policies/ through
# `homictl --direct apply` on the testbed. Those that need a GPU
# (per-gpu) or another SSD (split-vfio-nvme matches a Samsung model) match
# nothing here and change nothing; vfio-nearest-gpu matches the emulated PF
# and provisions VF 1 (4 VQ, 1 VI) on vfio-pci for group gpu, mode 0660.
# run-vm: --vfs 4 --max-vq-per-vf 4 --policy policies/per-gpu.json --policy policies/split-vfio-nvme.json --policy policies/vfio-nearest-gpu.json
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
CTRL=/dev/$(vm_ctrl "$PF")
for f in /etc/homi/policies.d/*.json; do
	vm_log "$(basename "$f")"
	homictl policy check "$f"
	homictl --direct apply "$f" | tee /tmp/out.txt
	case $f in
	*vfio-nearest-gpu.json)
		grep -q '^Applied' /tmp/out.txt || vm_fail "vfio-nearest-gpu did not apply"
		VF1=$(vm_vf "$PF" 1)
		[ "$(vm_driver "$VF1")" = vfio-pci ] || vm_fail "VF 1 not on vfio-pci"
		nvme list-secondary "$CTRL" -c "$(vm_scid "$PF" 1)" -e 1 | grep -q 'NVQ.*0x0004' || vm_fail "VF 1 has not 4 VQ"
		group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}
		[ "$(stat -c '%U:%G %a' /dev/vfio/$group)" = "root:gpu 660" ] || vm_fail "/dev/vfio/$group: $(stat -c '%U:%G %a' /dev/vfio/$group)"
		vm_run homictl --direct plan "$f"
		vm_run homictl --direct teardown "$PF"
		;;
	*)
		grep -q 'Nothing to do' /tmp/out.txt || vm_fail "$(basename "$f") changed something without its hardware"
		;;
	esac
	[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 0 ] || vm_fail "VFs left after $(basename "$f")"
done
vm_log "ok"
