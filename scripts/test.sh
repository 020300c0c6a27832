#!/usr/bin/env bash
# Sets everything up, then runs every test lane (unit, bpf, integration).
# Usage: sudo scripts/test.sh [vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test -- "$@"
