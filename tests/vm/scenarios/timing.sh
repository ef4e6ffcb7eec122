#!/bin/sh
# Scenario timing: an example of the benchmark hook. Times, inside one
# boot, the nvme-cli provisioning sequence of docs/testbed.md (4 VFs) and
# its teardown, twice each, plus single commands; run-vm collects the
# HOMI-VM-TIME lines into OUT/times.txt and timing.host.sh prints them.
# run-vm: --vfs 4
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=$(vm_pfs)
CTRL=$(vm_ctrl "$PF")
for round in 1 2; do
	vm_time "provision-$round" vm_testbed_sequence "$PF" 4 > /dev/null
	vm_time "teardown-$round" vm_teardown "$PF" > /dev/null
done
homi-vm-time nvme-list-secondary nvme list-secondary "/dev/$CTRL" -o json > /dev/null
homi-vm-time nvme-id-ctrl nvme id-ctrl "/dev/$CTRL" > /dev/null
homi-vm-time true-exec /bin/true
if command -v homictl > /dev/null; then
	homi-vm-time homictl-topology homictl -j topology > /dev/null
	homi-vm-time homictl-device-show homictl -j device show "$PF" > /dev/null
fi
