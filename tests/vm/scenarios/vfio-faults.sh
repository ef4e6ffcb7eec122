#!/bin/sh
# Scenario vfio-faults: failures of the controller under the user-space
# driver are reported, never waited out.
# - A command the controller holds (an Asynchronous Event Request: no event
#   comes) is reported as a command timeout after its per-command timeout.
# - A controller reset of the PF (nvme reset, what the kernel's error
#   recovery does) while homi-perf runs on the VF takes the VF's secondary
#   controller offline (QEMU then shows CSTS.CFS): homi-perf reports the
#   vanished controller at once and exits; a new open says the VF is
#   offline; homictl apply brings it back and I/O works again.
# - A function-level reset of the PF (sysfs reset) during I/O: reported
#   within seconds too. QEMU 7.2 disables the VFs on a PF FLR behind the
#   kernel's back, so vfio-pci's release of the VF then waits out the
#   kernel's 60 s FLR timeout before homi-perf's exit completes
#   (docs/nvme-sriov.md 4.6); only the report time is ours.
# run-vm: --vfs 4 --policy tests/vm/policies/testbed-rw.json --program tests/vm/vfio-fault
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
POLICY=/etc/homi/policies.d/testbed-rw.json
vm_run homictl --direct apply $POLICY > /dev/null
VF1=$(vm_vf "$PF" 1)
CTRL=/dev/$(vm_ctrl "$PF")

vm_log "a command that never completes: reported as a timeout"
vm_time aer-timeout vfio-fault "$VF1" aer-timeout 300 | tee /tmp/timeout.txt
grep -q "^$VF1: Asynchronous Event Request (opcode 0x0c, command ID [0-9]*) on queue 0 not completed after 300 ms: command timed out" \
	/tmp/timeout.txt || vm_fail "no timeout message"
vm_run homi-io "$VF1" identify > /dev/null

# perf_reset NAME CMD...: homi-perf on VF1 for 60 s; after 2 s run CMD (a
# PF reset); wait until homi-perf reports the vanished controller; print
# how long that took. The exit status of homi-perf goes to /tmp/NAME.rc.
perf_reset() {
	_n=$1; shift
	rm -f "/tmp/$_n.rc"
	(set +e; homi-perf "$VF1" --rw randread --qd 16 --time 60 > "/tmp/$_n.out" 2> "/tmp/$_n.err"; echo $? > "/tmp/$_n.rc") &
	sleep 2
	[ ! -f "/tmp/$_n.rc" ] || { cat "/tmp/$_n.err"; vm_fail "homi-perf ended before the reset"; }
	_t0=$(homi-vm-now)
	vm_run "$@"
	_i=0
	while ! grep -q "controller vanished" "/tmp/$_n.err" && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	_ms=$((($(homi-vm-now) - _t0) / 1000000))
	cat "/tmp/$_n.err"
	grep -q "^$VF1: randread: controller vanished with [0-9]* command(s) in flight on queue 1: CSTS=0x[0-9a-f]*: " \
		"/tmp/$_n.err" || vm_fail "$_n: homi-perf did not report a vanished controller within 5 s"
	grep -q "Controller Fatal Status\|read all ones\|no longer ready" "/tmp/$_n.err" || vm_fail "$_n: CSTS not explained"
	echo "$_n: homi-perf reported the vanished controller ${_ms} ms after the reset was issued"
	echo "HOMI-VM-TIME $_n-report $((_ms * 1000000)) rc=0" > /dev/console
}

vm_log "controller reset of the PF while homi-perf runs on the VF"
perf_reset nvme-reset nvme reset "$CTRL"
vm_wait 10 test -f /tmp/nvme-reset.rc || vm_fail "homi-perf did not exit 10 s after the report"
[ "$(cat /tmp/nvme-reset.rc)" = 1 ] || vm_fail "homi-perf exited $(cat /tmp/nvme-reset.rc), expected 1"
vm_wait_live "$PF" 20

vm_log "the VF is offline now: a new open says so"
if homi-io "$VF1" identify > /tmp/offline.txt 2>&1; then vm_fail "identify worked on an offline VF"; fi
cat /tmp/offline.txt
grep -q "^$VF1: controller offline (CAP reads 0" /tmp/offline.txt || vm_fail "offline VF not reported as such"

vm_log "homictl apply brings the VF back; I/O works again"
vm_run homictl --direct apply $POLICY
vm_run homi-io "$VF1" write --lba 100 --count 8 --pattern 0x11
vm_run homi-io "$VF1" verify --lba 100 --count 8 --pattern 0x11

vm_log "function-level reset of the PF while homi-perf runs on the VF"
perf_reset pf-flr vm_write "$VM_PCI/$PF/reset" 1
vm_wait 90 test -f /tmp/pf-flr.rc || vm_fail "homi-perf did not exit 90 s after the report"
[ "$(cat /tmp/pf-flr.rc)" = 1 ] || vm_fail "homi-perf exited $(cat /tmp/pf-flr.rc), expected 1"
dmesg | grep 'vfio-pci' | tail -4
vm_log "ok"
