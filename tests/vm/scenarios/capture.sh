#!/bin/sh
# Scenario capture: a sysfs capture made in the guest (tests/tools/
# capture-sysfs) must give the host-built homictl (--sysfs-root) the same
# topology as homictl live in the guest. Two SSDs behind a switch plus one
# behind an expander host bridge on NUMA node 1, with VFs in several states.
# capture.host.sh does the comparison.
# run-vm: --switch --controllers 2 --expander --vfs 4 --vq-flex 8 --vi-flex 4 --namespaces 1:64M,2:32M:detached
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

n=0
for pf in $(vm_pfs); do
	n=$((n + 1))
	vm_testbed_sequence "$pf" $((n + 1))
done
[ "$n" = 3 ] || vm_fail "expected 3 PFs, found $n"
vm_save guest-topology.json homictl -j topology
vm_save guest-devices.json homictl -j device list
for pf in $(vm_pfs); do
	vm_save "guest-device-$pf.json" homictl -j device show "$pf"
done
vm_run capture-sysfs /tmp/cap
tar -C /tmp/cap -czf /tmp/capture.tar.gz sys
homi-vm-export /tmp/capture.tar.gz
