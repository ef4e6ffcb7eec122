# functions.sh: helpers for homi VM test scripts (busybox sh, inside the
# guest only). Use:   . /usr/lib/homi-vm/functions.sh
#
# Naming: PF/VF arguments are PCI addresses (0000:01:00.0); VFN is the
# 1-based VF number (sysfs virtfn0 is VFN 1); CTRL is an nvme class name.
# Functions that change the machine print what they do with "+ ".
# Every wait is bounded; on failure vm_fail ends the script with status 1.

if [ "${HOMI_VM:-}" != 1 ] || [ ! -f /homi/vm.env ]; then
	echo "functions.sh: not inside the homi VM testbed; refusing to touch this machine" >&2
	exit 1
fi

VM_PCI=/sys/bus/pci/devices
VM_OUT=${VM_OUT:-/tmp/out}
mkdir -p "$VM_OUT"

vm_log() { echo "== $*"; }
vm_fail() { echo "FAIL: $*" >&2; exit 1; }

# vm_run CMD...: print and run CMD; fail the script when it fails.
vm_run() {
	echo "+ $*"
	"$@" || vm_fail "$* (status $?)"
}

# vm_write FILE VALUE: write VALUE to a sysfs FILE; fail on error.
vm_write() {
	echo "+ echo $2 > $1"
	echo "$2" > "$1" || vm_fail "write '$2' to $1 failed"
}

# vm_nvme_functions: NVMe PCI functions that are not VFs (PFs and plain).
vm_nvme_functions() {
	for d in "$VM_PCI"/*; do
		[ "$(cat "$d/class")" = 0x010802 ] || continue
		[ -e "$d/physfn" ] && continue
		echo "${d##*/}"
	done
}

# vm_pfs: SR-IOV capable NVMe PFs, in address order.
vm_pfs() {
	for p in $(vm_nvme_functions); do
		[ -e "$VM_PCI/$p/sriov_totalvfs" ] && echo "$p"
	done
	return 0
}

# vm_ctrl PCI: the nvme controller name (nvme0) of a function bound to nvme.
vm_ctrl() {
	for c in "$VM_PCI/$1"/nvme/nvme*; do
		[ -d "$c" ] && { echo "${c##*/}"; return 0; }
	done
	return 1
}

# vm_wait SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
vm_wait() {
	_n=$(($1 * 10)); shift
	while ! "$@" 2>/dev/null; do
		_n=$((_n - 1))
		[ "$_n" -gt 0 ] || return 1
		sleep 0.1
	done
}

_vm_is_live() { [ "$(cat "$VM_PCI/$1"/nvme/nvme*/state 2>/dev/null)" = live ]; }
# vm_wait_live PCI [SECONDS]: wait until the function's nvme controller is live.
vm_wait_live() {
	vm_wait "${2:-10}" _vm_is_live "$1" || vm_fail "$1: nvme controller not live after ${2:-10}s"
}

# vm_driver PCI: the bound driver's name, or nothing.
vm_driver() {
	_l=$(readlink "$VM_PCI/$1/driver" 2>/dev/null) || return 0
	echo "${_l##*/}"
}

# vm_vf PF VFN: the VF's PCI address (from virtfn<VFN-1>).
vm_vf() {
	_l=$(readlink "$VM_PCI/$1/virtfn$(($2 - 1))") || vm_fail "$1: no VF $2"
	echo "${_l##*/}"
}

# vm_cntlid PF: the PF's own controller ID.
vm_cntlid() { cat "$VM_PCI/$1"/nvme/nvme*/cntlid; }

# vm_scid PF VFN: the secondary controller ID of VF VFN, from the Secondary
# Controller List (never assumed equal to VFN).
vm_scid() {
	_c=$(vm_ctrl "$1") || vm_fail "$1: not bound to nvme"
	nvme list-secondary "/dev/$_c" -o json | awk -v vfn="$2" '
		/"secondary-controller-identifier"/ { gsub(/[^0-9]/, ""); scid = $0 }
		/"virtual-function-number"/ { gsub(/[^0-9]/, ""); if ($0 == vfn) { print scid; exit } }'
}

# vm_release_primary PF: give the primary's flexible VQ/VI back to the pool
# (Virtualization Management, primary flexible allocation NR=0), then the
# function-level reset that makes it take effect (no VFs may be enabled).
vm_release_primary() {
	_c=$(vm_ctrl "$1") || vm_fail "$1: not bound to nvme"
	_id=$(vm_cntlid "$1")
	vm_run nvme virt-mgmt "/dev/$_c" -c "$_id" -r 1 -a 1 -n 0
	vm_run nvme virt-mgmt "/dev/$_c" -c "$_id" -r 0 -a 1 -n 0
	vm_write "$VM_PCI/$1/reset" 1
	vm_wait_live "$1"
}

# vm_enable_vfs PF N: sriov_drivers_autoprobe=0, then sriov_numvfs=N (0 first
# when other VFs are enabled).
vm_enable_vfs() {
	vm_write "$VM_PCI/$1/sriov_drivers_autoprobe" 0
	_cur=$(cat "$VM_PCI/$1/sriov_numvfs")
	[ "$_cur" = "$2" ] && return 0
	[ "$_cur" = 0 ] || vm_write "$VM_PCI/$1/sriov_numvfs" 0
	vm_write "$VM_PCI/$1/sriov_numvfs" "$2"
}

# vm_vf_online PF VFN [VQ [VI]]: secondary offline, assign VQ (default 2)
# and VI (default 1), secondary online.
vm_vf_online() {
	_c=$(vm_ctrl "$1") || vm_fail "$1: not bound to nvme"
	_s=$(vm_scid "$1" "$2")
	[ -n "$_s" ] || vm_fail "$1: no secondary controller for VF $2"
	vm_run nvme virt-mgmt "/dev/$_c" -c "$_s" -a 7 -n 0
	vm_run nvme virt-mgmt "/dev/$_c" -c "$_s" -r 0 -a 8 -n "${3:-2}"
	vm_run nvme virt-mgmt "/dev/$_c" -c "$_s" -r 1 -a 8 -n "${4:-1}"
	vm_run nvme virt-mgmt "/dev/$_c" -c "$_s" -a 9 -n 0
}

# vm_bind PCI DRIVER: driver_override + drivers_probe, then verify the
# driver link (drivers_probe does not report failures). For nvme, wait
# until the controller is live.
vm_bind() {
	_d=$(vm_driver "$1")
	[ "$_d" = "$2" ] && return 0
	[ -z "$_d" ] || vm_write "$VM_PCI/$1/driver/unbind" "$1"
	vm_write "$VM_PCI/$1/driver_override" "$2"
	vm_write /sys/bus/pci/drivers_probe "$1"
	[ "$(vm_driver "$1")" = "$2" ] || vm_fail "$1: not bound to $2 after drivers_probe (driver: $(vm_driver "$1"))"
	[ "$2" != nvme ] || vm_wait_live "$1"
}

# vm_unbind PCI: unbind from its driver and clear driver_override.
vm_unbind() {
	[ -z "$(vm_driver "$1")" ] || vm_write "$VM_PCI/$1/driver/unbind" "$1"
	vm_write "$VM_PCI/$1/driver_override" ""
}

# vm_testbed_sequence PF NVFS: the nvme-cli sequence of docs/testbed.md:
# release the primary's flexible resources, reset, enable NVFS VFs without
# autoprobe, VF1 and VF2 online with 2 VQ and 1 VI, VF1 on vfio-pci, VF2 on
# nvme; the other VFs stay offline and unbound.
vm_testbed_sequence() {
	vm_release_primary "$1"
	vm_enable_vfs "$1" "$2"
	vm_vf_online "$1" 1 2 1
	[ "$2" -ge 2 ] && vm_vf_online "$1" 2 2 1
	vm_bind "$(vm_vf "$1" 1)" vfio-pci
	[ "$2" -ge 2 ] && vm_bind "$(vm_vf "$1" 2)" nvme
	return 0
}

# vm_teardown PF: unbind every VF, take the secondaries offline, disable
# the VFs (sriov_numvfs=0), sriov_drivers_autoprobe back to 1.
vm_teardown() {
	_c=$(vm_ctrl "$1") || vm_fail "$1: not bound to nvme"
	for _l in "$VM_PCI/$1"/virtfn*; do
		[ -L "$_l" ] || continue
		_v=$(readlink "$_l")
		vm_unbind "${_v##*/}"
	done
	nvme list-secondary "/dev/$_c" -o json | awk '
		/"secondary-controller-identifier"/ { gsub(/[^0-9]/, ""); scid = $0 }
		/"secondary-controller-state"/ { gsub(/[^0-9]/, ""); if ($0 % 2) print scid }' |
		while read -r _s; do
			vm_run nvme virt-mgmt "/dev/$_c" -c "$_s" -a 7 -n 0
		done
	vm_write "$VM_PCI/$1/sriov_numvfs" 0
	vm_write "$VM_PCI/$1/sriov_drivers_autoprobe" 1
}

# vm_save NAME CMD...: run CMD, keep its stdout in $VM_OUT/NAME and export
# it; the script fails when CMD fails.
vm_save() {
	_name=$1; shift
	echo "+ $* > $_name"
	"$@" > "$VM_OUT/$_name" || vm_fail "$* (status $?)"
	homi-vm-export "$VM_OUT/$_name" || vm_fail "exporting $_name failed"
}

_vm_no_dates() { sed -E 's/ [A-Z][a-z]{2} +[0-9]+ +([0-9]+:[0-9]+|[0-9]{4}) / /'; }

# vm_facts FILE: the facts golden tests need (nvme-cli view, IOMMU groups,
# command lines) in one text file.
vm_facts() {
	{
		echo "# run-vm command: $HOMI_VM_CMDLINE"
		echo "# kernel: $(uname -r)"
		echo "## /proc/cmdline"
		cat /proc/cmdline
		if command -v lspci > /dev/null; then
			echo "## lspci -tv"
			lspci -tv
			echo "## lspci -nn"
			lspci -nn
		fi
		echo "## PCI functions (address class driver numa_node iommu_group)"
		for d in "$VM_PCI"/*; do
			_g=$(readlink "$d/iommu_group" 2>/dev/null)
			echo "${d##*/} $(cat "$d/class") $(vm_driver "${d##*/}" | grep . || echo -) $(cat "$d/numa_node") ${_g##*/}"
		done
		for p in $(vm_pfs); do
			_c=$(vm_ctrl "$p") || continue
			echo "## $p ($_c): sriov_totalvfs=$(cat "$VM_PCI/$p/sriov_totalvfs") sriov_numvfs=$(cat "$VM_PCI/$p/sriov_numvfs") sriov_drivers_autoprobe=$(cat "$VM_PCI/$p/sriov_drivers_autoprobe")"
			echo "## nvme primary-ctrl-caps /dev/$_c"
			nvme primary-ctrl-caps "/dev/$_c"
			echo "## nvme list-secondary /dev/$_c"
			nvme list-secondary "/dev/$_c"
		done
		echo "## nvme list"
		nvme list
		# ls -l without its time column, so that the file is reproducible.
		echo "## ls -l /sys/kernel/iommu_groups/*/devices"
		# shellcheck disable=SC2012 # the ls -l view is the point
		ls -l /sys/kernel/iommu_groups/*/devices | _vm_no_dates
		echo "## ls -l /dev/vfio"
		# shellcheck disable=SC2012
		ls -l /dev/vfio | _vm_no_dates
	} > "$1" 2>&1
}

# vm_sysfs_dump: what sysfs says about every PCI function, one fact a line:
# "<pci> <key>=<value>" (keys: path class vendor device numa_node driver
# iommu_group physfn virtfnN current_link_speed current_link_width sriov_*
# nvme.name nvme.model nvme.serial nvme.firmware nvme.cntlid nvme.nsid).
# Host-side checks compare homictl's JSON with it.
vm_sysfs_dump() {
	for d in "$VM_PCI"/*; do
		_p=${d##*/}
		echo "$_p path=$(cd -P "$d" && pwd -P)"
		for _a in class vendor device numa_node current_link_speed current_link_width \
			sriov_totalvfs sriov_numvfs sriov_offset sriov_stride sriov_drivers_autoprobe; do
			[ -f "$d/$_a" ] && echo "$_p $_a=$(cat "$d/$_a" 2>/dev/null)"
		done
		for _l in driver iommu_group physfn "$d"/virtfn*; do
			_l=${_l##*/}
			[ -L "$d/$_l" ] || continue
			_t=$(readlink "$d/$_l")
			echo "$_p $_l=${_t##*/}"
		done
		for _c in "$d"/nvme/nvme*; do
			[ -d "$_c" ] || continue
			echo "$_p nvme.name=${_c##*/}"
			echo "$_p nvme.model=$(cat "$_c/model")"
			echo "$_p nvme.serial=$(cat "$_c/serial")"
			echo "$_p nvme.firmware=$(cat "$_c/firmware_rev")"
			echo "$_p nvme.cntlid=$(cat "$_c/cntlid")"
			echo "$_p nvme.state=$(cat "$_c/state")"
			for _n in "$_c"/nvme*n*; do
				[ -f "$_n/nsid" ] && echo "$_p nvme.nsid=$(cat "$_n/nsid")"
			done
		done
	done
}

# vm_time LABEL CMD...: like homi-vm-time, for shell functions too (runs
# CMD in this shell). Prints "HOMI-VM-TIME <label> <ns> rc=<status>".
vm_time() {
	_label=$1; shift
	_vm_now; _t0=$_ns
	_rc=0
	"$@" || _rc=$?
	_vm_now
	if [ -w /dev/console ]; then
		echo "HOMI-VM-TIME $_label $((_ns - _t0)) rc=$_rc" > /dev/console
	else
		echo "HOMI-VM-TIME $_label $((_ns - _t0)) rc=$_rc"
	fi
	return "$_rc"
}
_vm_now() {
	_ns=
	{ read -r _ && read -r _ && read -r _ _ _ns _; } 2>/dev/null < /proc/timer_list
	[ -n "$_ns" ] || _ns=$(homi-vm-now)
}
