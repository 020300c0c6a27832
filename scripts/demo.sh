#!/usr/bin/env bash
# The tabby demo: a 3-node cluster of network namespaces on this machine, each node with
# its own agent, 2 pods per node wired by real CNI calls, and a connectivity matrix from
# real TCP and UDP packets. Needs root. Run from anywhere: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "demo: needs root (network namespaces, an agent per node); try: sudo bash scripts/demo.sh" >&2
  exit 1
fi

tabby() { node dist/cli/main.js "$@"; }

echo "== setup (packages, native addon, BPF objects, dist/)"
bash scripts/setup.sh

echo "== removing what an earlier demo may have left"
tabby lab down

echo "== lab up: 3 nodes, 2 pods each"
tabby lab up --nodes 3 --pods-per-node 2

echo "== lab status"
tabby lab status

echo "== lab probe: every pod to every other pod, TCP and UDP"
tabby lab probe || echo "demo: some pairs failed (see above); agent logs are in /run/tabby-lab/tabby/node*/agent.log"

cat <<'HELP'

The lab is still running. Explore it:
  node dist/cli/main.js lab status
  node dist/cli/main.js lab exec node1 -- ip route                  # routes the agent programmed
  node dist/cli/main.js lab exec node1-p1 -- ping -c3 <ip of node3-p2>
  node dist/cli/main.js lab ctl -- ipam show --show-blocks          # tabby CLI against the lab's etcd
  node dist/cli/main.js lab ctl -- get workloadendpoints -o wide
  node dist/cli/main.js lab pod add web --node node2 --labels app=web
  node dist/cli/main.js lab agent restart node2                     # pods keep their connectivity
  less /run/tabby-lab/tabby/node1/agent.log

Tear it down (removes every namespace, process, pin and file it made):
  node dist/cli/main.js lab down
HELP
