/**
 * Pods' MTU, decided by the agent rather than by each CNI verb: with an IPIP pool, a pod's
 * packets to other nodes grow by a 20-byte outer header (written by the bpf programs, or by
 * the kernel's tunl0 in legacy mode), so pods get MTU 1480 on a 1500 underlay, as in
 * Calico. The rule is a function of the pools the agent currently knows (calc's snapshot),
 * and it reaches wiring by decorating the WorkloadWiring the CNI verbs already use: they
 * need no change, and an explicit `spec.mtu` still wins.
 */
import type { EncapMode } from '../dataplane/messages.js';
import type { WorkloadWiring } from '../dataplane/linux/workload-wiring.js';

export const UNDERLAY_MTU = 1500;
export const IPIP_OVERHEAD = 20;

/** The pod MTU for these pools: 1480 when any pool may use IPIP, else undefined (the kernel's default). */
export function workloadMtuFor(pools: Iterable<{ ipipMode: EncapMode }>, underlayMtu: number = UNDERLAY_MTU): number | undefined {
  for (const p of pools) if (p.ipipMode !== 'Never') return underlayMtu - IPIP_OVERHEAD;
  return undefined;
}

/** `wiring` whose wire() fills in `mtu()` when the caller gave none. */
export function withWorkloadMtu(wiring: WorkloadWiring, mtu: () => number | undefined): WorkloadWiring {
  return {
    wire: (spec) => {
      const m = spec.mtu ?? mtu();
      return wiring.wire(m === undefined ? spec : { ...spec, mtu: m });
    },
    unwire: (name) => wiring.unwire(name),
    listHostInterfaces: (prefix) => wiring.listHostInterfaces(prefix),
    hostInterface: (name) => wiring.hostInterface(name),
  };
}
