#!/bin/sh
# Scenario rollback: the rollbacks the fault matrix found broken on the
# simulated host, on the real kernel. A teardown that fails after disabling
# the VFs (at its last step, set-autoprobe) or crashes right after it gets
# the VFs back as they were: namespaces, drivers, driver_override,
# /dev/vfio ownership (the recovery's following apply has nothing to do); a
# failing step that did nothing (secondary-offline) rolls back cleanly; a
# repair after a PF controller reset that fails gives the vfio VF's node
# back its owner and mode, and rebinds nvme to the VF whose controller the
# reset took offline. The state compared is apply.sh's: sriov_numvfs,
# autoprobe, nvme-cli's Secondary Controller List, drivers and overrides,
# /dev/vfio modes, and the controllers of namespace 1.
# run-vm: --vfs 4 --policy policies/qemu-testbed.json --timeout 240
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

POLICY=/etc/homi/policies.d/qemu-testbed.json
PF=0000:01:00.0
CTRL=/dev/$(vm_ctrl "$PF")

state() {
	echo "numvfs=$(cat "$VM_PCI/$PF/sriov_numvfs") autoprobe=$(cat "$VM_PCI/$PF/sriov_drivers_autoprobe")"
	nvme list-secondary "$CTRL" -o json | tr -d ' \n'
	echo
	for l in "$VM_PCI/$PF"/virtfn*; do
		[ -L "$l" ] || continue
		v=$(readlink "$l"); v=${v##*/}
		echo "$v driver=$(vm_driver "$v") override=$(cat "$VM_PCI/$v/driver_override")"
	done
	for g in /dev/vfio/[0-9]*; do
		[ -e "$g" ] && echo "$g $(stat -c '%U:%G %a' "$g")"
	done
	nvme list-ctrl "$CTRL" -n 1 | tr -s ' \n' ' '
	echo
}
expect_state() { # WHAT EXPECTED
	now=$(state)
	[ "$now" = "$2" ] || { echo "expected: $2"; echo "now: $now"; vm_fail "$1"; }
	echo "$1: state as expected"
}
# rolled_back SPEC COMMAND...: COMMAND with fail point SPEC must fail and roll back.
rolled_back() {
	spec=$1; shift
	set +e
	HOMI_FAILPOINTS=$spec "$@" > /tmp/fp.txt 2>&1; rc=$?
	set -e
	cat /tmp/fp.txt
	if [ $rc != 1 ] || ! grep -q "(rolled back)" /tmp/fp.txt; then
		vm_fail "$spec: not rolled back (exit $rc)"
	fi
}

vm_log "apply"
vm_run homictl --direct apply "$POLICY"
APPLIED=$(state)
echo "$APPLIED"
grep -q "user:homi-admin 660" <<EOF || vm_fail "no /dev/vfio node with the policy's owner"
$APPLIED
EOF

vm_log "a teardown failing at its last step (after disable-vfs): the VFs come back as they were"
rolled_back set-autoprobe=errno:EACCES homictl --direct teardown "$PF"
expect_state "teardown failing at set-autoprobe" "$APPLIED"

vm_log "a teardown failing at a step that did nothing (secondary-offline)"
rolled_back secondary-offline#2=nvme:0x411f homictl --direct teardown "$PF"
expect_state "teardown failing at secondary-offline#2" "$APPLIED"

vm_log "a teardown crashing right after disable-vfs: recovery restores the VFs"
set +e
HOMI_FAILPOINTS=disable-vfs=crash homictl --direct teardown "$PF"; rc=$?
set -e
[ $rc = 137 ] || vm_fail "disable-vfs=crash: exit $rc, expected the crash (137)"
[ -f /run/homi/journal.json ] || vm_fail "no journal left"
[ "$(cat "$VM_PCI/$PF/sriov_numvfs")" = 0 ] || vm_fail "the crash came before the VFs went"
homictl --direct apply "$POLICY" > /tmp/recover.txt 2>&1 || { cat /tmp/recover.txt; vm_fail "apply after the crash"; }
cat /tmp/recover.txt
grep -q 'rolled back' /tmp/recover.txt || vm_fail "no recovery reported"
grep -q 'Nothing to do' /tmp/recover.txt || vm_fail "the recovery left something for the apply to do"
expect_state "recovered after disable-vfs=crash" "$APPLIED"

vm_log "a repair after a PF controller reset that fails: the vfio VF's node keeps the policy's owner"
nvme reset "$CTRL"
vm_wait_live "$PF"
sleep 1 # let the VFs' drivers notice their controllers went offline
RESET=$(state)
echo "$RESET"
rolled_back assign=errno:EIO homictl --direct apply "$POLICY"
expect_state "repair failing at assign" "$RESET"

vm_log "the same failing after the repair unbound nvme from VF 2 (its controller offline)"
# nvme's probe of an offline VF succeeds, its initialisation fails later
# (asynchronously): the rollback binds it again, as it was before.
rolled_back assign#3=errno:EIO homictl --direct apply "$POLICY"
expect_state "repair failing at assign#3" "$RESET"
vm_run homictl --direct apply "$POLICY"
expect_state "repair" "$APPLIED"

vm_log "teardown"
vm_run homictl --direct teardown "$PF"
[ "$(cat "$VM_PCI/$PF/sriov_numvfs")" = 0 ] || vm_fail "teardown left VFs"
vm_log "ok"
