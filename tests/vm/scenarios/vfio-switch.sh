#!/bin/sh
# Scenario vfio-switch: behind a PCIe switch without ACS (xio3130), a VF on
# vfio-pci shares its IOMMU group with its PF (on nvme) and the switch's
# downstream port, so the group is not viable and VFIO refuses it; behind
# a pxb-pcie expander host bridge on NUMA node 1 the VF is alone and usable.
# run-vm: --switch --controllers 2 --expander --vfs 4 --program tests/vm/vfio-probe
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

# shellcheck disable=SC2046 # one word per PF
set -- $(vm_pfs)
[ "$*" = "0000:03:00.0 0000:04:00.0 0000:81:00.0" ] || vm_fail "unexpected PFs: $*"
SW0=$1 SW1=$2 EXP=$3
for pf in "$SW0" "$SW1" "$EXP"; do
	vm_testbed_sequence "$pf" 2
done

for pf in "$SW0" "$SW1"; do
	vf=$(vm_vf "$pf" 1)
	port=$(basename "$(dirname "$(cd -P "$VM_PCI/$pf" && pwd -P)")")
	vm_log "$vf behind the switch (downstream port $port)"
	vm_run vfio-probe --expect-not-viable --expect-group-has "$pf" --expect-group-has "$port" \
		--expect-group-has "$(vm_vf "$pf" 2)" "$vf"
	[ "$(readlink "$VM_PCI/$pf/iommu_group")" = "$(readlink "$VM_PCI/$vf/iommu_group")" ] ||
		vm_fail "$vf and its PF $pf are in different IOMMU groups"
done
g0=$(readlink "$VM_PCI/$SW0/iommu_group") g1=$(readlink "$VM_PCI/$SW1/iommu_group")
[ "$g0" != "$g1" ] || vm_fail "the two downstream ports share one group"

vm_log "$(vm_vf "$EXP" 1) behind the expander host bridge"
[ "$(cat "$VM_PCI/$EXP/numa_node")" = 1 ] || vm_fail "$EXP: numa_node $(cat "$VM_PCI/$EXP/numa_node"), expected 1"
[ "$(cat "$VM_PCI/$(vm_vf "$EXP" 1)/numa_node")" = 1 ] || vm_fail "$(vm_vf "$EXP" 1): numa_node is not 1"
case $(cd -P "$VM_PCI/$EXP" && pwd -P) in
/sys/devices/pci0000:80/*) ;;
*) vm_fail "$EXP is not below host bridge pci0000:80" ;;
esac
vm_run vfio-probe --expect-viable --expect-alone --identify "$(vm_vf "$EXP" 1)"
vm_log "ok"
