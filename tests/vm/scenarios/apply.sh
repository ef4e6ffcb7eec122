#!/bin/sh
# Scenario apply: homictl --direct plan/apply of policies/qemu-testbed.json
# against the real kernel and QEMU's SR-IOV controller, with nvme-cli as the
# independent observer: VF1 online (2 VQ, 1 VI) on vfio-pci with
# /dev/vfio/<group> user:homi-admin 0660, VF2 online on nvme with namespace
# 1; a second plan has nothing to do; teardown returns the recorded state;
# a fail point at every step leaves the device exactly as it was.
# run-vm: --vfs 4 --policy policies/qemu-testbed.json
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

POLICY=/etc/homi/policies.d/qemu-testbed.json
PF=0000:01:00.0
CTRL=/dev/$(vm_ctrl "$PF")

# state: everything a step could change, in one comparable text.
state() {
	echo "numvfs=$(cat $VM_PCI/$PF/sriov_numvfs) autoprobe=$(cat $VM_PCI/$PF/sriov_drivers_autoprobe)"
	nvme list-secondary "$CTRL" -o json | tr -d ' \n'
	echo
	for l in "$VM_PCI/$PF"/virtfn*; do
		[ -L "$l" ] || continue
		v=$(readlink "$l"); v=${v##*/}
		echo "$v driver=$(vm_driver "$v") override=$(cat "$VM_PCI/$v/driver_override")"
	done
	for g in /dev/vfio/[0-9]*; do
		[ -e "$g" ] && echo "$g $(stat -c '%u:%g %a' "$g")"
	done
	return 0
}

vm_log "plan: changes pending (exit 3)"
set +e
homictl --direct plan "$POLICY"; rc=$?
set -e
[ $rc = 3 ] || vm_fail "plan exited $rc, expected 3"
homictl --direct -j plan "$POLICY" > /tmp/plan.json || [ $? = 3 ]
homi-vm-export /tmp/plan.json

vm_log "apply"
before=$(state)
vm_time apply homictl --direct apply "$POLICY"

vm_log "nvme-cli's view"
nvme list-secondary "$CTRL" -o json > /tmp/secondaries.json
homi-vm-export /tmp/secondaries.json
cat /tmp/secondaries.json
VF1=$(vm_vf "$PF" 1)
VF2=$(vm_vf "$PF" 2)
[ "$(cat $VM_PCI/$PF/sriov_numvfs)" = 2 ] || vm_fail "sriov_numvfs is not 2"
[ "$(cat $VM_PCI/$PF/sriov_drivers_autoprobe)" = 0 ] || vm_fail "autoprobe is not 0"
[ "$(vm_driver "$VF1")" = vfio-pci ] || vm_fail "$VF1 is on $(vm_driver "$VF1"), not vfio-pci"
[ "$(vm_driver "$VF2")" = nvme ] || vm_fail "$VF2 is on $(vm_driver "$VF2"), not nvme"
group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}
[ "$(stat -c '%U:%G %a' /dev/vfio/$group)" = "user:homi-admin 660" ] ||
	vm_fail "/dev/vfio/$group is $(stat -c '%U:%G %a' /dev/vfio/$group)"
for vfn in 1 2; do
	scid=$(vm_scid "$PF" $vfn)
	nvme list-secondary "$CTRL" -c "$scid" -e 1 | grep -q 'SCS.*0x0001' || vm_fail "VF $vfn (SCID $scid) not online"
	nvme list-secondary "$CTRL" -c "$scid" -e 1 | grep -q 'NVQ.*0x0002' || vm_fail "VF $vfn: NVQ is not 2"
	nvme list-secondary "$CTRL" -c "$scid" -e 1 | grep -q 'NVI.*0x0001' || vm_fail "VF $vfn: NVI is not 1"
done
nvme list-ctrl "$CTRL" -n 1 | tee /tmp/ns1-ctrls.txt
grep -q "$(printf '%x' "$(vm_scid "$PF" 1)")" /tmp/ns1-ctrls.txt || vm_fail "namespace 1 not attached to VF1"
homictl -j device show "$PF" > /tmp/show.json
homi-vm-export /tmp/show.json

vm_log "second plan: nothing to do (exit 0), second apply changes nothing"
vm_run homictl --direct plan "$POLICY"
applied=$(state)
vm_time reapply homictl --direct apply "$POLICY" | tee /tmp/reapply.txt
grep -q 'Nothing to do' /tmp/reapply.txt || vm_fail "second apply did something"
[ "$(state)" = "$applied" ] || vm_fail "second apply changed the state"
[ -f /var/lib/homi/owned/$PF.json ] || vm_fail "no ownership record"

vm_log "teardown: back to the recorded state"
vm_time teardown homictl --direct teardown "$PF"
after=$(state)
if [ "$after" != "$before" ]; then
	echo "before: $before"; echo "after: $after"
	vm_fail "teardown did not restore the recorded state"
fi
[ ! -f /var/lib/homi/owned/$PF.json ] || vm_fail "ownership record left after teardown"

vm_log "a fail point at each step leaves the device as it was"
for op in set-autoprobe enable-vfs assign secondary-online attach-ns bind set-vfio-owner; do
	for nth in 1 2; do
		[ $nth = 2 ] && case $op in set-autoprobe|enable-vfs|set-vfio-owner) continue ;; esac
		set +e
		HOMI_FAILPOINTS="$op#$nth=errno:EIO" homictl --direct apply "$POLICY" > /tmp/fp.txt 2>&1; rc=$?
		set -e
		grep -q 'Rolled back' /tmp/fp.txt || { cat /tmp/fp.txt; vm_fail "$op#$nth: not rolled back (exit $rc)"; }
		[ $rc = 1 ] || vm_fail "$op#$nth: exit $rc, expected 1"
		now=$(state)
		if [ "$now" != "$before" ]; then
			cat /tmp/fp.txt; echo "before: $before"; echo "now: $now"
			vm_fail "$op#$nth: the device is not as it was"
		fi
		echo "$op#$nth: rolled back, state as before"
	done
done
HOMI_FAILPOINTS="attach-ns=nvme:0x411c" homictl --direct apply "$POLICY" > /tmp/fp.txt 2>&1 && vm_fail "nvme status fail point ignored"
grep -q 'NVMe status 0x411c (Controller List Invalid)' /tmp/fp.txt || { cat /tmp/fp.txt; vm_fail "status not reported"; }
[ "$(state)" = "$before" ] || vm_fail "attach-ns nvme fail point: not restored"

vm_log "apply again after all that: converges"
vm_run homictl --direct apply "$POLICY"
vm_run homictl --direct plan "$POLICY"
vm_log "ok"
