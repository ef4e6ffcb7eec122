#!/bin/sh
# Scenario discovery: homictl's view of the machine agrees with sysfs and
# with nvme-cli, before and after the nvme-cli provisioning sequence of
# docs/testbed.md (3 VFs; VF1 online on vfio-pci, VF2 online on nvme, VF3
# offline and unbound). The guest only collects; discovery.host.sh compares.
# run-vm: --vfs 4 --vq-flex 8 --vi-flex 4 --namespaces 1:64M,2:32M:detached,3:16M:private:detached
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=$(vm_pfs)
[ "$PF" = 0000:01:00.0 ] || vm_fail "expected one PF at 0000:01:00.0, got: $PF"
CTRL=$(vm_ctrl "$PF")

collect() { # PHASE
	vm_save "$1-topology.json" homictl -j topology
	vm_save "$1-device.json" homictl -j device show "$PF"
	vm_save "$1-device-short.json" homictl -j device show 01:00.0
	vm_save "$1-caps.json" nvme primary-ctrl-caps "/dev/$CTRL" -o json
	vm_save "$1-secondary.json" nvme list-secondary "/dev/$CTRL" -o json
	vm_save "$1-sysfs.txt" vm_sysfs_dump
}

vm_log "before: no VFs"
collect before
vm_log "provisioning"
vm_testbed_sequence "$PF" 3
vm_log "after: 3 VFs"
collect after
