#!/bin/bash
# Host side of the discovery scenario: $1 holds what the guest exported.
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/../host/check-discovery.py" "$1"
