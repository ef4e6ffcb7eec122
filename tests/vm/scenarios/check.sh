#!/bin/sh
# Scenario check: homictl check against the real kernel. Before apply the
# delegated VF is not enabled (vf-driver FAIL); after homictl --direct apply
# VF1 is alone in its IOMMU group, on vfio-pci, online with 2 VQ and 1 VI,
# and /dev/vfio/<group> is user:homi-admin 0660 as the policy says: those
# checks PASS. The testbed has no GPU: the GPU-dependent checks are UNKNOWN
# with that reason; modes D and G FAIL (IOMMU on, no dma-buf importer), so
# `check` exits 4 and `check --mode H` exits 0. A node with the wrong mode
# and an offline secondary each turn their check to FAIL; an unprivileged
# user gets UNKNOWN, never FAIL, for what it cannot read in-process, and
# through homid (root) the verdicts root gets. The host part checks the
# exported JSON documents.
# run-vm: --vfs 4 --policy policies/qemu-testbed.json
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
CTRL=/dev/$(vm_ctrl "$PF")

# expect STATUS CHECK FILE: FILE (homictl check's text) has a verdict line
# "  STATUS  CHECK  MODES  SUBJECT".
expect() {
	grep -Eq "^  $1 +$2 " "$3" || { cat "$3"; vm_fail "no $1 verdict for $2"; }
}
# never STATUS CHECK FILE
never() {
	! grep -Eq "^  $1 +$2 " "$3" || { cat "$3"; vm_fail "a $1 verdict for $2"; }
}
# check_rc WANT FILE ARGS...: homictl check ARGS > FILE, exit status WANT.
check_rc() {
	_want=$1 _file=$2; shift 2
	set +e
	homictl check "$@" > "$_file" 2>&1; _rc=$?
	set -e
	[ "$_rc" = "$_want" ] || { cat "$_file"; vm_fail "homictl check $*: exit $_rc, expected $_want"; }
}

vm_log "before apply: the delegated VF is not enabled"
check_rc 4 /tmp/before.txt
cat /tmp/before.txt
expect FAIL vf-driver /tmp/before.txt
grep -q 'VF 1 of 0000:01:00.0 is not enabled' /tmp/before.txt || vm_fail "no 'not enabled' reason"
expect UNKNOWN iommu-group /tmp/before.txt

vm_log "apply"
vm_run homictl --direct apply
VF1=$(vm_vf "$PF" 1)
group=$(readlink "$VM_PCI/$VF1/iommu_group"); group=${group##*/}

vm_log "after apply: all modes (D and G fail here: IOMMU on, no importer, no GPU)"
check_rc 4 /tmp/after.txt
cat /tmp/after.txt
for c in modules iommu-group vf-driver vf-online vfio-owner; do
	expect PASS "$c" /tmp/after.txt
done
grep -Eq "^  PASS +iommu-mode +H " /tmp/after.txt || vm_fail "iommu-mode is not PASS for mode H"
grep -Eq "^  FAIL +iommu-mode +D G " /tmp/after.txt || vm_fail "iommu-mode is not FAIL for modes D G"
for c in gpu affinity acs gpu-bar1; do
	expect UNKNOWN "$c" /tmp/after.txt
	never PASS "$c" /tmp/after.txt
done
grep -q 'this machine has no GPU' /tmp/after.txt || vm_fail "the missing GPU is not named as the reason"
grep -q "group $group holds $VF1 alone" /tmp/after.txt || vm_fail "group $group not reported alone"
grep -Eq "is online with 2 VQ and 1 VI" /tmp/after.txt || vm_fail "secondary not reported online with 2 VQ, 1 VI"
grep -q "/dev/vfio/$group is 1000:" /tmp/after.txt || vm_fail "vfio node owner not reported"
expect FAIL dmabuf-importer /tmp/after.txt
# The only failures are those of modes D and G.
fails=$(grep -Ec '^  FAIL ' /tmp/after.txt)
[ "$fails" = 2 ] || vm_fail "$fails FAIL verdicts, expected 2 (iommu-mode D G, dmabuf-importer)"
homictl -j check > /tmp/check.json || [ $? = 4 ]
homi-vm-export /tmp/check.json

vm_log "mode H only: ready (exit 0)"
check_rc 0 /tmp/mode-h.txt --mode H
cat /tmp/mode-h.txt
never FAIL '[a-z-]+' /tmp/mode-h.txt
homictl -j check --mode H "$VF1" > /tmp/check-h-vf.json
homi-vm-export /tmp/check-h-vf.json

vm_log "the node as udev leaves it (0600): vfio-owner FAIL, apply repairs it"
vm_run chmod 0600 "/dev/vfio/$group"
check_rc 4 /tmp/owner.txt --mode H
expect FAIL vfio-owner /tmp/owner.txt
grep -q 'wants owner user, group homi-admin, mode 0660' /tmp/owner.txt || { cat /tmp/owner.txt; vm_fail "policy wish not shown"; }
vm_run homictl --direct apply
check_rc 0 /tmp/owner2.txt --mode H

vm_log "an unprivileged user: UNKNOWN for the NVMe admin data, never FAIL for it"
if command -v setpriv > /dev/null; then
	set +e
	setpriv --reuid=1000 --regid=1000 --clear-groups homictl check --mode H > /tmp/user.txt 2>&1; rc=$?
	set -e
	cat /tmp/user.txt
	expect UNKNOWN vf-online /tmp/user.txt
	expect PASS vf-driver /tmp/user.txt
	[ "$rc" = 0 ] || vm_fail "unprivileged check exited $rc"
fi

vm_log "homid runs: check goes through it, so uid 1000 gets what only root reads"
if command -v setpriv > /dev/null; then
	homid --foreground > /tmp/homid.log 2>&1 &
	HOMID=$!
	homictl wait --ready --timeout 60 || { cat /tmp/homid.log; vm_fail "homid not ready"; }
	set +e
	setpriv --reuid=1000 --regid=1000 --clear-groups homictl --direct -j check --mode H \
		> /tmp/check-user-direct.json; rc_direct=$?
	setpriv --reuid=1000 --regid=1000 --clear-groups homictl -j check --mode H > /tmp/check-user-homid.json
	rc_homid=$?
	setpriv --reuid=1000 --regid=1000 --clear-groups homictl check --mode H > /tmp/user-homid.txt 2>&1
	rc_text=$?
	homictl --direct check --mode H > /tmp/root-direct.txt 2>&1; rc_root=$?
	setpriv --reuid=1000 --regid=1000 --clear-groups homictl check --mode H --policy /nonexistent.json \
		> /tmp/user-homid-nopolicy.txt 2>&1; rc_nopolicy=$?
	set -e
	cat /tmp/user-homid.txt
	[ "$rc_direct" = 0 ] && [ "$rc_homid" = 0 ] && [ "$rc_text" = 0 ] && [ "$rc_root" = 0 ] ||
		vm_fail "check --mode H exits: uid 1000 direct $rc_direct, through homid $rc_homid/$rc_text, root $rc_root"
	expect PASS vf-online /tmp/user-homid.txt
	grep -Eq "is online with 2 VQ and 1 VI" /tmp/user-homid.txt || vm_fail "uid 1000 through homid: secondary not online"
	# through homid as uid 1000, the very text root gets in-process
	diff -u /tmp/root-direct.txt /tmp/user-homid.txt || vm_fail "check through homid differs from root's in-process check"
	# --policy travels as contents: homid reads no path for the caller
	[ "$rc_nopolicy" = 1 ] || { cat /tmp/user-homid-nopolicy.txt; vm_fail "a missing --policy through homid: exit $rc_nopolicy"; }
	grep -q '^/nonexistent.json: ' /tmp/user-homid-nopolicy.txt || { cat /tmp/user-homid-nopolicy.txt; vm_fail "missing --policy not named"; }
	homi-vm-export /tmp/check-user-direct.json
	homi-vm-export /tmp/check-user-homid.json
	kill "$HOMID"
	wait "$HOMID" || { cat /tmp/homid.log; vm_fail "homid exited with status $?"; }
	[ ! -e /run/homi/homid.sock ] || vm_fail "socket left after SIGTERM"
fi

vm_log "the VF's secondary offline: vf-online FAIL"
vm_run nvme virt-mgmt "$CTRL" -c "$(vm_scid "$PF" 1)" -a 7 -n 0
check_rc 4 /tmp/offline.txt --mode H
expect FAIL vf-online /tmp/offline.txt
grep -q 'is offline with 0 VQ and 0 VI' /tmp/offline.txt || { cat /tmp/offline.txt; vm_fail "offline not reported"; }
homictl -j check --mode H > /tmp/check-offline.json || [ $? = 4 ]
homi-vm-export /tmp/check-offline.json
vm_log "ok"
