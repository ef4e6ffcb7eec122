#!/bin/sh
# Scenario security: no write reaches a function no policy matches or a
# protected one, and nothing outside sysfs and /dev/vfio is written besides
# homi's own run and state directories. Two SSDs: the policy names the
# first; the second, the decoy, was set up by someone else (two VFs, VF1
# online on nvme, VF2 on vfio-pci with its /dev/vfio node 0640, autoprobe
# off). Through homictl --direct apply, homid's start, a drift repair on the
# first SSD, uevents on the decoy, the periodic check, a policy whose glob
# matches both but protects the decoy, a reload, teardowns (one refused), the decoy's
# sriov_numvfs, autoprobe, driver_override, drivers, secondary controllers,
# primary allocation and /dev/vfio node never change. Every homictl and
# homid run goes through write-audit (ptrace): its writes must lie below
# /sys, /dev/vfio (never the decoy's group), /run/homi or /var/lib/homi, and
# its ioctls go to /dev/nvme* and /dev/vfio only.
# run-vm: --controllers 2 --vfs 4 --policy policies/qemu-testbed.json --program tests/vm/write-audit --timeout 300
set -eu
# shellcheck source=/dev/null
. /usr/lib/homi-vm/functions.sh

PF=0000:01:00.0
DECOY=0000:02:00.0
POLICY=/etc/homi/policies.d/qemu-testbed.json
AUDIT=/tmp/audit
mkdir -p $AUDIT /etc/homi
trap 'rc=$?; [ $rc = 0 ] || { echo "--- homid log"; tail -30 /tmp/homid.log 2>/dev/null; }; exit $rc' EXIT
n=0
audited() { n=$((n + 1)); write-audit "$AUDIT/$n.log" "$@"; }

vm_log "the decoy, as someone else set it up"
DCTRL=/dev/$(vm_ctrl "$DECOY")
vm_enable_vfs "$DECOY" 2
vm_vf_online "$DECOY" 1 2 1
vm_bind "$(vm_vf "$DECOY" 1)" nvme
vm_bind "$(vm_vf "$DECOY" 2)" vfio-pci
DGROUP=$(basename "$(readlink "$VM_PCI/$(vm_vf "$DECOY" 2)/iommu_group")")
chmod 0640 "/dev/vfio/$DGROUP"

# Everything of the decoy a step could change, in one comparable text.
decoy() {
	echo "numvfs=$(cat "$VM_PCI/$DECOY/sriov_numvfs") autoprobe=$(cat "$VM_PCI/$DECOY/sriov_drivers_autoprobe")"
	echo "pf driver=$(vm_driver $DECOY) override=$(cat "$VM_PCI/$DECOY/driver_override")"
	for l in "$VM_PCI/$DECOY"/virtfn*; do
		v=$(readlink "$l"); v=${v##*/}
		echo "$v driver=$(vm_driver "$v") override=$(cat "$VM_PCI/$v/driver_override")"
	done
	nvme list-secondary "$DCTRL" -o json | tr -d ' \n'; echo
	nvme primary-ctrl-caps "$DCTRL" -o json | grep -E '"(vqrfap|virfap)"' | tr -d ' \n'; echo
	stat -c '%n %u:%g %a' "/dev/vfio/$DGROUP"
}
ORIG=$(decoy)
echo "$ORIG"
same() {
	now=$(decoy)
	[ "$now" = "$ORIG" ] || { echo "was: $ORIG"; echo "now: $now"; vm_fail "the decoy changed: $1"; }
	echo "decoy unchanged: $1"
}

vm_log "homictl --direct apply of the policy naming the first SSD"
audited homictl --direct apply "$POLICY"
[ "$(vm_driver "$(vm_vf "$PF" 1)")" = vfio-pci ] || vm_fail "the policy was not applied"
same "apply"

vm_log "homid: start, a drift repair, uevents on the decoy, the periodic check"
echo '{"verify-interval": 1}' > /etc/homi/homid.conf
n=$((n + 1))
write-audit "$AUDIT/$n.log" homid --foreground > /tmp/homid.log 2>&1 &
HOMID=$!
audited homictl wait --ready --timeout 60
VF1=$(vm_vf "$PF" 1)
echo "$VF1" > /sys/bus/pci/drivers/vfio-pci/unbind
vm_wait 10 sh -c "[ \"\$(basename \$(readlink $VM_PCI/$VF1/driver))\" = vfio-pci ]" || vm_fail "drift not repaired"
for _ in 1 2 3; do
	echo change > "$VM_PCI/$DECOY/uevent"
	echo change > "$VM_PCI/$(vm_vf "$DECOY" 1)/uevent"
	echo add > "$VM_PCI/$(vm_vf "$DECOY" 2)/uevent"
done
sleep 3 # debounce, repairs, periodic checks
grep -q "$DECOY" /tmp/homid.log && { grep "$DECOY" /tmp/homid.log; vm_fail "homid acted on the decoy"; }
same "homid start, drift repair, uevents, periodic check"

vm_log "a policy whose glob matches the decoy too, which it protects: the decoy is passed over"
cat > /tmp/glob.json <<'EOF'
{"homi-policy": 1, "protect": ["0000:02:00.0"],
 "devices": [{"match": {"pci": "0000:0*:00.0"}, "vfs": [{"vf": 1}]}]}
EOF
audited homictl apply /tmp/glob.json
[ "$(cat "$VM_PCI/$PF/sriov_numvfs")" = 1 ] || vm_fail "the glob policy was not applied to the first SSD"
same "glob policy protecting it"
audited homictl reload
vm_wait 10 sh -c "[ \"\$(cat $VM_PCI/$PF/sriov_numvfs)\" = 2 ]" || vm_fail "reload did not bring the testbed policy back"
same "reload"

vm_log "teardowns: the first SSD, and the decoy (refused: not owned)"
set +e
audited homictl teardown "$DECOY" > /tmp/td.txt 2>&1; rc=$?
set -e
if [ $rc = 0 ] || ! grep -q "does not own" /tmp/td.txt; then
	vm_fail "teardown of the decoy: exit $rc: $(cat /tmp/td.txt)"
fi
audited homictl teardown "$PF"
[ "$(cat "$VM_PCI/$PF/sriov_numvfs")" = 0 ] || vm_fail "teardown left VFs"
kill "$HOMID"
wait "$HOMID" || vm_fail "homid exited $?"
same "teardown, homid stopped"
audited homictl --direct apply "$POLICY"
audited homictl --direct teardown "$PF"
same "direct apply and teardown again"

vm_log "every write of homictl and homid"
cat $AUDIT/*.log > /tmp/audit.log
homi-vm-export /tmp/audit.log
awk -v g="/dev/vfio/$DGROUP" '
	$1 == "ioctl" { if ($2 ~ "^/dev/(nvme[0-9]+|vfio/)" || $2 ~ "^/dev/(null|console|tty|pts/)" || $2 !~ "^/") next }
	$1 == "mkdir" && ("/run/homi/" ~ "^" $2 "/" || "/var/lib/homi/" ~ "^" $2 "/") { next }
	$2 == g { print "the decoy'"'"'s node: " $0; next }
	$2 ~ "^/sys/" || $2 ~ "^/dev/vfio/" || $2 ~ "^/run/homi(/|$)" || $2 ~ "^/var/lib/homi(/|$)" { next }
	{ print }' /tmp/audit.log > /tmp/outside.txt
sort /tmp/audit.log | awk '{ print $1 }' | uniq -c
if [ -s /tmp/outside.txt ]; then
	cat /tmp/outside.txt
	vm_fail "writes outside sysfs, /dev/vfio and homi's directories"
fi
grep -q '^open-w /sys/.*sriov_numvfs' /tmp/audit.log || vm_fail "the audit saw no sysfs write at all"
grep -q '^ioctl /dev/nvme' /tmp/audit.log || vm_fail "the audit saw no NVMe admin command"
grep -q "$DECOY" /tmp/audit.log && { grep "$DECOY" /tmp/audit.log; vm_fail "a write below the decoy's directory"; }
echo "$(wc -l < /tmp/audit.log) writes audited, all where homi may write"
vm_log "ok"
