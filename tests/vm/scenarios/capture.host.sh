#!/bin/bash
# Host side of the capture scenario: $1 holds what the guest exported.
# The host-built homictl reads the unpacked capture; its JSON must equal the
# guest's live output once the values a capture cannot know (NVMe admin
# data: "primary", "secondaries") are set aside; the capture must report
# those as null with a "-unknown" reason, never guess them.
set -euo pipefail
dir=$1
homictl=${HOMICTL:-${HOMI_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}/homictl/homictl}
[[ -x $homictl ]] || { echo "capture.host.sh: $homictl: not built" >&2; exit 1; }
command -v jq >/dev/null || { echo "capture.host.sh: jq not found (apt-get install jq)" >&2; exit 1; }
[[ -f $dir/capture.tar.gz ]] || { echo "capture.host.sh: $dir/capture.tar.gz: the guest exported no capture" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xzf "$dir/capture.tar.gz"
root=$tmp/sys
fail=0

# same NAME GUEST_JSON CAPTURE_JSON JQ_FILTER: compare after the filter.
same() {
	if diff -u <(jq -S "$4" "$2") <(jq -S "$4" "$3") >"$tmp/diff"; then
		echo "capture: $1: identical"
	else
		echo "capture: $1: the capture differs from the live guest:"
		head -n 40 "$tmp/diff"
		fail=1
	fi
}

"$homictl" --sysfs-root "$root" -j topology >"$tmp/topology.json"
same "topology" "$dir/guest-topology.json" "$tmp/topology.json" .
"$homictl" --sysfs-root "$root" -j device list >"$tmp/devices.json"
same "device list" "$dir/guest-devices.json" "$tmp/devices.json" .
for f in "$dir"/guest-device-*.json; do
	pf=${f##*/guest-device-} pf=${pf%.json}
	"$homictl" --sysfs-root "$root" -j device show "$pf" >"$tmp/device.json"
	same "device show $pf" "$f" "$tmp/device.json" 'del(.primary, .secondaries, ."primary-unknown", ."secondaries-unknown")'
	# What a capture cannot know is null, with a reason.
	if ! jq -e '.primary == null and .secondaries == null and (."primary-unknown" | type) == "string" and (."secondaries-unknown" | type) == "string"' "$tmp/device.json" >/dev/null; then
		echo "capture: device show $pf: primary/secondaries must be null with a -unknown reason in a capture"
		fail=1
	fi
	jq -e '.primary != null and (.secondaries | length) > 0' "$f" >/dev/null ||
		{ echo "capture: device show $pf: the live guest had no NVMe admin data"; fail=1; }
done
exit "$fail"
