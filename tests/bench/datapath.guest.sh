#!/bin/sh
# Guest half of tests/bench/datapath (not a check-vm scenario): in one
# boot, 4 KiB random reads of namespace 1 through the kernel (fio, io_uring,
# O_DIRECT on the PF's nvme0n1) and through VF1 with homi-perf (vfio-pci,
# user-space driver), at QD 32 and QD 1, ROUNDS rounds alternating the two
# paths. Results are exported as JSON files, one per run.
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh
. /homi/bench.env # ROUNDS SECS QUEUES

PF=0000:01:00.0
# No polled kernel run (fio --hipri): it needs nvme poll_queues, and
# reloading nvme with poll_queues=1 made the PF's interrupt-driven queue
# lose completions under QEMU 7.2 TCG (I/O timeout, abort, controller reset,
# which also takes the VF offline).
vm_run homictl --direct apply /etc/homi/policies.d/datapath.json > /dev/null
VF1=$(vm_vf "$PF" 1)
echo 64 > /proc/sys/vm/nr_hugepages
echo "hugepages: $(cat /proc/sys/vm/nr_hugepages)"
homi-io "$VF1" identify | tee /tmp/id.txt
granted=$(sed -n 's/^io-queues: //p' /tmp/id.txt)
[ "$granted" -ge "$QUEUES" ] || vm_fail "VF1 has $granted I/O queues, $QUEUES wanted"
{
	echo "kernel=$(uname -r)"
	echo "vcpus=$(grep -c ^processor /proc/cpuinfo)"
	echo "pf-io-queues=$(dmesg | sed -n 's/.*nvme nvme0: \([0-9/]*\) default\/read\/poll queues.*/\1/p' | tail -1)"
	echo "vf-io-queues=$granted"
	echo "namespace-bytes=$(($(cat /sys/block/nvme0n1/size) * 512))"
	echo "fio=$(fio --version)"
} > /tmp/env.txt
homi-vm-export /tmp/env.txt

fio_run() { # NAME QD
	fio --name="$1" --filename=/dev/nvme0n1 --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
		--iodepth="$2" --time_based --runtime="$SECS" --lat_percentiles=1 --randrepeat=0 \
		--output-format=json --output="/tmp/$1.json" > /dev/null
	homi-vm-export "/tmp/$1.json"
	! dmesg | grep -iE 'nvme.*(timeout|reset|abort)|I/O error' || vm_fail "$1: the kernel's nvme driver saw errors"
}
perf_run() { # NAME QD QUEUES
	homi-perf "$VF1" --rw randread --bs 4k --qd "$2" --queues "$3" --time "$SECS" -j > "/tmp/$1.json"
	homi-vm-export "/tmp/$1.json"
}

# QD 32 keeps at most 32 queues busy.
qmax=$QUEUES
[ "$qmax" -le 32 ] || qmax=32
r=1
while [ "$r" -le "$ROUNDS" ]; do
	vm_log "round $r"
	fio_run "fio-qd32-r$r" 32
	perf_run "homi-qd32-q1-r$r" 32 1
	perf_run "homi-qd32-qmax-r$r" 32 "$qmax"
	fio_run "fio-qd1-r$r" 1
	perf_run "homi-qd1-r$r" 1 1
	r=$((r + 1))
done
dmesg | grep -iE 'nvme.*(error|timeout|reset)|I/O error' && vm_fail "kernel errors during the benchmark"
vm_log "done"
