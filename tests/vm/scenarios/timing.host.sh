#!/bin/bash
# Host side of the timing scenario: print OUT/times.txt in milliseconds and
# fail when a timed command failed or a procedure was not timed.
set -euo pipefail
times=$1/times.txt
[[ -s $times ]] || { echo "timing: no $times" >&2; exit 1; }
fail=0
while read -r label ns status; do
	printf 'timing: %-22s %8.1f ms  %s\n' "$label" "$(awk -v n="$ns" 'BEGIN { print n / 1e6 }')" "$status"
	[[ $status == rc=0 ]] || fail=1
done <"$times"
for label in provision-1 teardown-1 provision-2 teardown-2; do
	grep -q "^$label " "$times" || { echo "timing: $label was not timed"; fail=1; }
done
exit "$fail"
