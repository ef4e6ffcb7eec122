#!/bin/sh
# Guest part of tests/bench/provision (one boot): (a) the bare nvme-cli +
# sysfs sequence provisioning 4 VFs, (b) homictl --direct apply of the
# equivalent policy after a teardown, (c) homictl --direct apply of the
# applied policy. HOMI_BENCH_RUNS repetitions each.
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
POLICY=/etc/homi/policies.d/policy-4vf.json
RUNS=${HOMI_BENCH_RUNS:-5}

i=1
while [ $i -le "$RUNS" ]; do
	vm_time "bare-$i" vm_testbed_sequence "$PF" 4 > /dev/null
	vm_teardown "$PF" > /dev/null
	i=$((i + 1))
done
i=1
while [ $i -le "$RUNS" ]; do
	vm_time "homictl-$i" homictl --direct apply "$POLICY" > /dev/null
	[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 4 ] || vm_fail "apply did not enable 4 VFs"
	homictl --direct teardown "$PF" > /dev/null
	i=$((i + 1))
done
homictl --direct apply "$POLICY" > /dev/null
i=1
while [ $i -le "$RUNS" ]; do
	vm_time "noop-$i" homictl -v --direct apply "$POLICY" > /dev/null 2>> /tmp/noop.txt
	i=$((i + 1))
done
cat /tmp/noop.txt
homi-vm-export /tmp/noop.txt

# (d) the same no-op apply through homid: the process stays warm.
echo '{"verify-interval": 0}' > /etc/homi/homid.conf
homid --foreground --policy-dir /etc/homi/policies.d > /tmp/homid.log 2>&1 &
homictl wait --ready --timeout 60 > /dev/null
i=1
while [ $i -le "$RUNS" ]; do
	vm_time "homid-noop-$i" homictl -j apply > /tmp/homid-noop-$i.json
	cat /tmp/homid-noop-$i.json >> /tmp/homid-noop.json
	i=$((i + 1))
done
homi-vm-export /tmp/homid-noop.json
