#!/bin/sh
# Scenario vfio-coexist: the core claim of the architecture. The kernel
# keeps the PF (nvme0n1) while user space drives VF1 through VFIO, on the
# same namespace: data written through the VF with homi-io is what the
# PF's block device reads with O_DIRECT, and the reverse; and both at once
# (the kernel writing one LBA range with dd while homi-perf --rw write
# covers another) leave both ranges exactly as written, with no error on
# either side. Random data catches misplaced blocks, a byte pattern
# exercises verify.
# run-vm: --vfs 4 --policy tests/vm/policies/testbed-rw.json
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
BDEV=/dev/nvme0n1
vm_run homictl --direct apply /etc/homi/policies.d/testbed-rw.json > /dev/null
VF1=$(vm_vf "$PF" 1)
[ "$(cat /sys/block/nvme0n1/queue/logical_block_size)" = 512 ] || vm_fail "expected 512-byte blocks"
dmesg > /tmp/dmesg.before

# pattern FILE BYTE BLOCKS: BLOCKS 512-byte blocks of BYTE (octal for tr).
pattern() { dd if=/dev/zero bs=512 count="$3" 2>/dev/null | tr '\0' "\\$2" > "$1"; }
# pf_read LBA COUNT: the blocks through the kernel, bypassing its cache.
pf_read() { dd if=$BDEV bs=512 skip="$1" count="$2" iflag=direct 2>/dev/null; }
# pf_zero LBA: whether block LBA reads as zeros through the kernel.
pf_zero() { [ -z "$(pf_read "$1" 1 | od -v -A n -t x1 | tr -d ' \n0')" ]; }

vm_log "VF -> PF: homi-io writes, the kernel reads with O_DIRECT"
pattern /tmp/zero 000 256
pf_read 2048 256 | cmp - /tmp/zero || vm_fail "LBA 2048+256 not zero before the test"
dd if=/dev/urandom of=/tmp/rand-vf bs=512 count=256 2>/dev/null
vm_time vf-write homi-io "$VF1" write --lba 2048 --count 256 < /tmp/rand-vf
pf_read 2048 256 | cmp - /tmp/rand-vf || vm_fail "the PF does not read what the VF wrote at LBA 2048+256"
pf_zero 2304 || vm_fail "the VF write spilled past LBA 2303"
pf_zero 2047 || vm_fail "the VF write spilled before LBA 2048"
vm_run homi-io "$VF1" write --lba 3000 --count 100 --pattern 0xa5
pattern /tmp/a5 245 100
pf_read 3000 100 | cmp - /tmp/a5 || vm_fail "the PF does not read 0xa5 at LBA 3000+100"
echo "VF -> PF: 256 random blocks and 100 blocks of 0xa5 read back through $BDEV"

vm_log "PF -> VF: the kernel writes with O_DIRECT, homi-io reads"
dd if=/dev/urandom of=/tmp/rand-pf bs=512 count=1024 2>/dev/null
vm_run dd if=/tmp/rand-pf of=$BDEV bs=64k seek=80 oflag=direct conv=fsync,notrunc 2>/dev/null # LBA 10240
vm_time vf-read homi-io "$VF1" read --lba 10240 --count 1024 > /tmp/vf-read
cmp /tmp/vf-read /tmp/rand-pf || vm_fail "the VF does not read what the PF wrote at LBA 10240+1024"
pattern /tmp/3c 074 64
vm_run dd if=/tmp/3c of=$BDEV bs=512 seek=12000 oflag=direct conv=fsync,notrunc 2>/dev/null
vm_run homi-io "$VF1" verify --lba 12000 --count 64 --pattern 0x3c
echo "PF -> VF: 1024 random blocks and 64 blocks of 0x3c read back through $VF1"

vm_log "both at once: kernel dd on LBA 32768+2048, homi-perf --rw write on LBA 65536+4096"
dd if=/dev/urandom of=/tmp/rand-a bs=512 count=2048 2>/dev/null
rm -f /tmp/stop /tmp/dd-errors
echo 0 > /tmp/dd-rounds
(
	n=0
	while [ ! -f /tmp/stop ]; do
		dd if=/tmp/rand-a of=$BDEV bs=64k seek=256 oflag=direct conv=fsync,notrunc 2>/tmp/dd-err ||
			cat /tmp/dd-err >> /tmp/dd-errors
		dd if=$BDEV bs=64k skip=256 count=16 iflag=direct 2>/dev/null | cmp -s - /tmp/rand-a ||
			echo "round $n: read back differs" >> /tmp/dd-errors
		n=$((n + 1))
		echo $n > /tmp/dd-rounds
	done
) &
ddpid=$!
vm_time both homi-perf "$VF1" --rw write --bs 4k --qd 16 --time 3 --lba-range 65536:4096 --pattern 0x77 -j |
	tee /tmp/perf.json
rounds_during=$(cat /tmp/dd-rounds)
touch /tmp/stop
wait $ddpid
rounds=$(cat /tmp/dd-rounds)
echo "kernel: $rounds dd rounds of 1 MiB ($rounds_during finished while homi-perf ran)"
homi-vm-export /tmp/perf.json
[ ! -s /tmp/dd-errors ] || { cat /tmp/dd-errors; vm_fail "the kernel side saw errors"; }
[ "$rounds_during" -ge 1 ] || vm_fail "no dd round finished while homi-perf ran: no overlap"
grep -q '"errors":0' /tmp/perf.json || vm_fail "homi-perf reported errors"
ios=$(sed -n 's/.*"ios":\([0-9]*\).*/\1/p' /tmp/perf.json)
[ "$ios" -ge 512 ] || vm_fail "homi-perf did only $ios writes: range 65536+4096 not covered"
vm_log "verify both ranges through both paths"
pf_read 32768 2048 | cmp - /tmp/rand-a || vm_fail "kernel range differs through the PF"
homi-io "$VF1" read --lba 32768 --count 2048 | cmp - /tmp/rand-a || vm_fail "kernel range differs through the VF"
pattern /tmp/77 167 4096
pf_read 65536 4096 | cmp - /tmp/77 || vm_fail "homi-perf range differs through the PF"
vm_run homi-io "$VF1" verify --lba 65536 --count 4096 --pattern 0x77
pf_zero 65535 || vm_fail "homi-perf wrote before its range"
pf_zero 69632 || vm_fail "homi-perf wrote past its range"

vm_log "no errors in the kernel log"
dmesg > /tmp/dmesg.after
diff /tmp/dmesg.before /tmp/dmesg.after | sed -n 's/^+//p' | grep -v '^++' > /tmp/dmesg.new || true
cat /tmp/dmesg.new
if grep -iE 'nvme.*(error|timeout|reset|abort)|I/O error|blk_update_request|DMAR.*fault' /tmp/dmesg.new; then
	vm_fail "kernel errors while both sides worked"
fi
vm_log "ok"
