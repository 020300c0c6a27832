#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs before tabby runs: Debian packages, npm
# dependencies, the native addon and BPF objects (node-gyp, run by npm ci) and the
# TypeScript build (prepare). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "setup: npm ci (builds the addon, the BPF objects and dist/)"
npm ci --no-audit --no-fund
