#!/bin/bash
# Host side of the check scenario: $1 holds what the guest exported.
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/../host/check-check.py" "$1"
