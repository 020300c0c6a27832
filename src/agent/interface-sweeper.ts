/**
 * Removes host-side workload interfaces (`cali*`) that no WorkloadEndpoint of this node
 * owns: what a crashed ADD, a DEL that never came, or a previous agent left behind. Runs
 * once after the agent is in sync (before it serves CNI, so no ADD can be half-way), and
 * from CNI GC. Interfaces with an ADD in flight (`busy`) are never touched, nor anything
 * that does not carry our prefix.
 */
import type { Logger } from '../log/logger.js';
import type { WorkloadWiring } from '../dataplane/linux/workload-wiring.js';
import { HOST_IFACE_PREFIX } from './workload-names.js';

export interface SweepOptions {
  wiring: WorkloadWiring;
  /** Host interface names that local WorkloadEndpoints name. */
  owned: ReadonlySet<string>;
  busy?: ReadonlySet<string>;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

export interface SweepResult {
  removed: string[];
  failed: Array<{ name: string; error: string }>;
}

export async function sweepOrphanInterfaces(opts: SweepOptions): Promise<SweepResult> {
  const result: SweepResult = { removed: [], failed: [] };
  for (const iface of await opts.wiring.listHostInterfaces(HOST_IFACE_PREFIX)) {
    if (opts.owned.has(iface.name) || opts.busy?.has(iface.name)) continue;
    try {
      await opts.wiring.unwire(iface.name);
      result.removed.push(iface.name);
      opts.logger?.info({ op: 'sweep', iface: iface.name, ifindex: iface.ifindex }, `removed ${iface.name}: no WorkloadEndpoint of this node owns it`);
    } catch (err) {
      result.failed.push({ name: iface.name, error: (err as Error).message });
      opts.logger?.warn({ op: 'sweep', iface: iface.name, err: (err as Error).message }, `cannot remove leftover interface ${iface.name}`);
    }
  }
  return result;
}
