#!/bin/sh
# Scenario vfio-refuse: homi-io refuses, in one line that starts with the
# address and names the reason, to open what is not a delegated VF alone in
# its IOMMU group: a VF behind a PCIe switch without ACS (its group holds
# the PF, the switch port and the other VFs), a VF the kernel's nvme driver
# owns, the PF itself, a VF without a driver, a function that is not an
# SR-IOV VF at all, and an address that does not exist. Nothing changes on
# the machine: the nvme VF keeps serving.
# run-vm: --switch --controllers 1 --vfs 4
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=$(vm_pfs)
[ "$PF" = 0000:03:00.0 ] || vm_fail "expected one PF at 0000:03:00.0 behind the switch, got: $PF"
vm_testbed_sequence "$PF" 3
VF1=$(vm_vf "$PF" 1) VF2=$(vm_vf "$PF" 2) VF3=$(vm_vf "$PF" 3)
[ "$(vm_driver "$VF1")" = vfio-pci ] || vm_fail "$VF1 is not on vfio-pci"
before=$(ls -l /sys/bus/pci/drivers/*/ | md5sum)

# refused PCI PATTERN: homi-io identify on PCI fails with exit 1 and one
# line on stderr matching "^PCI: PATTERN".
refused() {
	if homi-io "$1" identify > /tmp/out.txt 2> /tmp/err.txt; then
		cat /tmp/out.txt
		vm_fail "$1 was opened"
	else
		rc=$?
	fi
	cat /tmp/err.txt
	[ $rc = 1 ] || vm_fail "$1: exit $rc, expected 1"
	[ "$(wc -l < /tmp/err.txt)" = 1 ] || vm_fail "$1: the refusal is not one line"
	grep -q "^$1: $2" /tmp/err.txt || vm_fail "$1: refusal does not match '$2'"
	[ ! -s /tmp/out.txt ] || vm_fail "$1: output on stdout"
}

vm_log "a VF that shares its IOMMU group (no ACS below the switch)"
group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}
ls "/sys/kernel/iommu_groups/$group/devices"
refused "$VF1" "IOMMU group $group is shared with .*$PF (nvme).*: the VF is not isolated"
grep -q "0000:02:00.0 (pcieport)" /tmp/err.txt || vm_fail "the switch port is not named"
vm_log "a VF on the kernel's nvme driver"
refused "$VF2" "bound to nvme, not vfio-pci"
vm_log "the PF"
refused "$PF" "an SR-IOV physical function, not a VF"
vm_log "a VF without a driver"
refused "$VF3" "not bound to any driver"
vm_log "a function that is not an SR-IOV VF"
refused 0000:00:1f.2 "not an SR-IOV virtual function"
vm_log "an address that does not exist, and one that is not an address"
refused 0000:09:00.0 "no such PCI function"
refused 01:00 "not a PCI address"
vm_log "homi-perf refuses the same way"
if homi-perf "$VF1" --time 1 2> /tmp/err.txt; then vm_fail "homi-perf opened $VF1"; fi
grep -q "^$VF1: IOMMU group $group is shared" /tmp/err.txt || vm_fail "homi-perf: $(cat /tmp/err.txt)"

vm_log "nothing changed: drivers as before, the nvme VF still serves"
[ "$(ls -l /sys/bus/pci/drivers/*/ | md5sum)" = "$before" ] || vm_fail "driver bindings changed"
vm_wait_live "$VF2"
dd if=/dev/nvme0n1 of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null || vm_fail "namespace 1 unreadable"
vm_log "ok"
