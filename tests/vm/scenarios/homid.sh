#!/bin/sh
# Scenario homid: the daemon on the real kernel. It provisions the testbed
# policy at start and signals ready; status answers any user through the
# socket; uid 1000 is refused apply (not authorized) and a homi-admin member
# may; a manual unbind of the vfio VF is repaired from the uevent, a PF
# controller reset (no uevent) by the periodic Identify; SIGHUP picks up a
# changed policy; a removed policy tears the PF down to its recorded state;
# device show answers (NVMe admin data through homid, for uid 1000) while an
# apply runs and a plan sent meanwhile waits for it; a crash right after
# each step of an apply, then a restart, converges with nothing leaked;
# SIGTERM stops it cleanly.
# run-vm: --vfs 4 --policy policies/qemu-testbed.json --timeout 420
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
POLICY=/etc/homi/policies.d/qemu-testbed.json
CTRL=/dev/$(vm_ctrl "$PF")
mkdir -p /etc/homi
echo '{"verify-interval": 2, "log-level": "info"}' > /etc/homi/homid.conf
trap 'rc=$?; [ $rc = 0 ] || { echo "--- homid log"; tail -40 /tmp/homid.log; }; exit $rc' EXIT

start_homid() {
	homid --foreground > /tmp/homid.log 2>&1 &
	HOMID=$!
	homictl wait --ready --timeout 60 || { cat /tmp/homid.log; vm_fail "homid not ready"; }
}
stop_homid() {
	kill "$HOMID"
	wait "$HOMID" || vm_fail "homid exited with status $?"
	[ ! -e /run/homi/homid.sock ] || vm_fail "socket left after SIGTERM"
}
# within SECONDS, COMMAND must succeed
eventually() {
	_s=$1; shift
	_t=0
	while ! sh -c "$*" > /dev/null 2>&1; do
		_t=$((_t + 1))
		[ $_t -le $((_s * 10)) ] || return 1
		sleep 0.1
	done
}
desired_state() {
	[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 2 ] && [ "$(vm_driver "$VF1")" = vfio-pci ] &&
		[ "$(vm_driver "$VF2")" = nvme ] &&
		nvme list-secondary "$CTRL" | grep -c 'SCS.*0x0001' | grep -qx 2
}

vm_log "homid provisions at start and signals ready"
vm_time start start_homid
VF1=$(vm_vf "$PF" 1)
VF2=$(vm_vf "$PF" 2)
desired_state || vm_fail "not provisioned at start"
homictl status | tee /tmp/status.txt
grep -q 'HOMI0000-vf1 .*vfio-pci  /run/homi/vf/HOMI0000-vf1 -> /dev/vfio/' /tmp/status.txt || vm_fail "no stable name"
[ -c "$(readlink /run/homi/vf/HOMI0000-vf1)" ] || vm_fail "stable link does not lead to the vfio node"
homictl -j status > /tmp/status.json
homi-vm-export /tmp/status.json

vm_log "authorization"
setpriv --reuid=1000 --regid=1000 --clear-groups homictl status > /dev/null || vm_fail "uid 1000 cannot read status"
set +e
setpriv --reuid=1000 --regid=1000 --clear-groups homictl apply > /tmp/denied.txt 2>&1; rc=$?
set -e
cat /tmp/denied.txt
[ $rc = 1 ] || vm_fail "uid 1000 apply: exit $rc"
grep -q 'not authorized: uid 1000' /tmp/denied.txt || vm_fail "no not-authorized error"
setpriv --reuid=1001 --regid=1001 --groups=990 homictl apply | tee /tmp/admin.txt || vm_fail "homi-admin member refused"
grep -q 'Nothing to do' /tmp/admin.txt || vm_fail "admin apply did something"

vm_log "drift: a manual unbind of the vfio VF is repaired within 5 s"
group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}
echo "$VF1" > /sys/bus/pci/drivers/vfio-pci/unbind
t0=$(homi-vm-now)
eventually 5 "[ \"\$(basename \$(readlink $VM_PCI/$VF1/driver))\" = vfio-pci ]" || vm_fail "not rebound within 5 s"
echo "rebound after $(( ($(homi-vm-now) - t0) / 1000000 )) ms"
eventually 2 "[ \"\$(stat -c '%U:%G %a' /dev/vfio/$group)\" = 'user:homi-admin 660' ]" || vm_fail "/dev/vfio/$group ownership not re-applied"
homictl status | grep -q 'last-drift: .*uevent' || vm_fail "status does not show the drift"

vm_log "drift: a secondary taken offline behind homid's back (no uevent) is repaired by the periodic check"
nvme virt-mgmt "$CTRL" -c "$(vm_scid "$PF" 1)" -a 7 > /dev/null
eventually 10 "nvme list-secondary $CTRL | grep -c 'SCS.*0x0001' | grep -qx 2" || vm_fail "secondary not back online"
eventually 5 "[ \"\$(basename \$(readlink $VM_PCI/$VF1/driver))\" = vfio-pci ]" || vm_fail "VF1 not back on vfio-pci"
homictl status | grep -E -q 'last-drift: .*(secondary controller 1 .VF 1. is offline|to do: .* VF 1 )' ||
	{ homictl status; vm_fail "status does not name the offline secondary"; }

vm_log "drift: a PF controller reset (every secondary offline) is repaired"
nvme reset "$CTRL"
eventually 15 "nvme list-secondary $CTRL | grep -c 'SCS.*0x0001' | grep -qx 2" || vm_fail "secondaries not back online"
eventually 10 "[ \"\$(basename \$(readlink $VM_PCI/$VF2/driver))\" = nvme ]" || vm_fail "VF2 not back on nvme"

vm_log "SIGHUP picks up a changed policy"
sed 's/"driver": "nvme"/"driver": "none"/' "$POLICY" > /tmp/p && cp /tmp/p "$POLICY"
kill -HUP "$HOMID"
eventually 10 "[ ! -e $VM_PCI/$VF2/driver ]" || vm_fail "VF2 still bound after SIGHUP"

vm_log "a removed policy and a reload tear the PF down to its recorded state"
rm "$POLICY"
homictl reload > /dev/null 2>&1 || kill -HUP "$HOMID"
eventually 10 "[ \"\$(cat $VM_PCI/$PF/sriov_numvfs)\" = 0 ]" || vm_fail "VFs left after the policy went"
[ "$(cat $VM_PCI/$PF/sriov_drivers_autoprobe)" = 1 ] || vm_fail "autoprobe not restored"
[ ! -e /var/lib/homi/owned/$PF.json ] || vm_fail "still owned"
stop_homid
cp /tmp/p "$POLICY"
sed -i 's/"driver": "none"/"driver": "nvme"/' "$POLICY"

vm_log "reads answer while an apply runs on the real kernel; a plan waits for it"
# the PF is torn down; homid starts with nothing to do, then an apply whose
# enable-vfs step waits 3 s (fail point sleep:3000) runs in the background
echo '{"verify-interval": 0, "failpoints": "enable-vfs=sleep:3000"}' > /etc/homi/homid.conf
mv "$POLICY" /tmp/policy.json
start_homid
cp /tmp/policy.json "$POLICY"
homictl apply > /tmp/slow-apply.txt 2>&1 &
APPLY=$!
eventually 10 "homictl -j status | grep -q '\"applying\": {'" || vm_fail "the apply never showed in status"
setpriv --reuid=1000 --regid=1000 --clear-groups homictl -j device show "$PF" > /tmp/show-during.json ||
	vm_fail "device show (through homid) failed during the apply"
homictl -j status | grep -q '"applying": {' || vm_fail "device show answered only after the apply"
grep -q '"vq-flexible-total"' /tmp/show-during.json || vm_fail "device show during the apply: no NVMe admin data"
homictl plan > /tmp/plan-during.txt 2>&1 || { cat /tmp/plan-during.txt; vm_fail "plan sent during the apply failed"; }
grep -q 'Nothing to do' /tmp/plan-during.txt || vm_fail "plan sent during the apply did not wait for it"
wait "$APPLY" || { cat /tmp/slow-apply.txt; vm_fail "the slow apply failed"; }
desired_state || vm_fail "not provisioned after the slow apply"
stop_homid
homictl --direct teardown "$PF" > /dev/null

vm_log "a crash right after each step, then a restart, converges"
for op in set-autoprobe enable-vfs assign secondary-online attach-ns bind set-vfio-owner; do
	echo "{\"verify-interval\": 0, \"failpoints\": \"$op=crash\"}" > /etc/homi/homid.conf
	set +e
	homid --foreground > /tmp/crash.log 2>&1
	rc=$?
	set -e
	[ $rc = 137 ] || { cat /tmp/crash.log; vm_fail "$op=crash: homid exited $rc, expected the crash (137)"; }
	[ -f /run/homi/journal.json ] || vm_fail "$op=crash: no journal left"
	echo '{"verify-interval": 0}' > /etc/homi/homid.conf
	start_homid
	grep -q 'recovery of an interrupted apply' /tmp/homid.log || vm_fail "$op: no recovery logged"
	desired_state || { cat /tmp/homid.log; vm_fail "$op: not converged after the restart"; }
	[ "$(cat "$VM_PCI/$VF1/driver_override")" = vfio-pci ] || vm_fail "$op: override of VF1"
	[ "$(stat -c '%U:%G %a' /dev/vfio/$(basename "$(readlink "$VM_PCI/$VF1/iommu_group")"))" = "user:homi-admin 660" ] ||
		vm_fail "$op: /dev/vfio mode"
	stop_homid
	homictl --direct teardown "$PF" > /dev/null
	[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 0 ] || vm_fail "$op: teardown left VFs"
	echo "$op: crashed after the step, recovered, converged, torn down"
done
vm_log "ok"
