#!/bin/sh
# The demo (README): what an operator sees on a machine with an SR-IOV SSD,
# here QEMU's emulated one under the real Debian kernel.
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh
POLICY=/etc/homi/policies.d/qemu-testbed.json
PF=0000:01:00.0
say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

say "homictl topology: the PCI tree and the SSD's SR-IOV state"
homictl topology
say "homictl device show $PF: the NVMe virtualization state (Identify CNS 0x14 / 0x15)"
homictl device show "$PF"
say "the policy: $POLICY"
cat "$POLICY"
say "homictl --direct plan: what would change (exit 3: changes pending)"
homictl --direct plan "$POLICY" || [ $? = 3 ]
say "homictl --direct apply"
homictl --direct apply "$POLICY"
say "homictl device show $PF afterwards"
homictl device show "$PF"
VF1=$(vm_vf "$PF" 1)
group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}
say "the delegated VF $VF1: driver, IOMMU group, device node, and nvme-cli's independent view"
echo "driver:      $(vm_driver "$VF1")"
echo "iommu group: $group (members: $(ls /sys/kernel/iommu_groups/$group/devices | tr '\n' ' '))"
echo "node:        $(ls -l /dev/vfio/$group)"
nvme list-secondary "/dev/$(vm_ctrl "$PF")" | head -20
say "a second plan: nothing to do"
homictl --direct plan "$POLICY"
say "homictl --direct teardown $PF: back to the state recorded before the first change"
homictl --direct teardown "$PF"
echo "sriov_numvfs=$(cat $VM_PCI/$PF/sriov_numvfs) sriov_drivers_autoprobe=$(cat $VM_PCI/$PF/sriov_drivers_autoprobe)"
