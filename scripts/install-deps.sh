#!/usr/bin/env bash
# Installs the Debian 12 packages tabby needs to build, test and run its lab.
# Idempotent: when everything is present it only checks and exits in about a second.
# Usage: sudo scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
  # build: the native addon (node-gyp, libbpf) and the BPF objects (clang -target bpf)
  build-essential python3 pkg-config clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool
  # dataplane and lab
  iproute2 iptables ipset kmod procps psmisc iputils-ping
  # datastore and BGP peers used by the tests
  etcd-server etcd-client bird2 gobgpd
  # traffic, capture and CNI reference plugins used by tests and benchmarks
  iperf3 sockperf tcpdump containernetworking-plugins openssl ca-certificates
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: needs root (try: sudo $0)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} Debian packages present"
fi

# Debian starts these daemons on install; tabby's tests and lab run their own instances.
for svc in etcd bird gobgpd; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "install-deps: Node.js 20.19 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
