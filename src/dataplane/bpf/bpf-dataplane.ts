/**
 * The BPF dataplane driver: the second implementation of `Dataplane`, taking the same
 * messages as LegacyDataplane. It loads bpf/tabby_dataplane.bpf.o once (lazily, on the first
 * apply, so a missing uplink is a retried failure instead of a crash), with its maps pinned
 * under `pinDir` (so a restart reuses them: programs keep running on the old maps while
 * the new agent reconciles them), and fans messages out to its managers:
 *
 *   bpf-endpoints  `endpoints` map   (WorkloadEndpoint* messages)
 *   bpf-routes     `routes` map      (Route* messages)
 *   bpf-attach     tc filters        (WorkloadEndpoint* messages, the uplink)
 *
 * Maps are written before programs are attached, so a program never runs on an interface
 * whose routes are not there yet. Besides the Dataplane verbs it offers what the agent
 * needs periodically: conntrack GC, counters and map fill levels for metrics.
 */
import type { Logger } from '../../log/logger.js';
import { TabbyError } from '../../errors.js';
import { applyManagers, type ApplyReport, type Dataplane, type Manager } from '../driver.js';
import type { DataplaneMessage } from '../messages.js';
import { AttachManager } from './attach-manager.js';
import { DEFAULT_CT_TIMEOUTS, type CtTimeouts } from './codecs/conntrack.js';
import { collectConntrack, monotonicNs, type ConntrackGcResult, type MonotonicClock } from './conntrack-gc.js';
import { EndpointsMapManager } from './endpoints-map-manager.js';
import { MAP_NAMES, type BpfKernel, type LoadedDataplane, type MapName } from './kernel.js';
import { RoutesMapManager } from './routes-map-manager.js';
import { readVerdicts, type VerdictTotal } from './verdict-counters.js';

export interface BpfDataplaneOptions {
  /** Per-node pin directory on bpffs, e.g. /sys/fs/bpf/tabby/<node>. */
  pinDir: string;
  /** The node's uplink (where IPIP leaves and arrives). */
  uplinkIfName: string;
  /** The node's IPv4 address (IPIP source; IPIP to it is decapsulated). */
  nodeIPv4: string;
  /** The addon, wrapped (nativeBpfKernel()); unit tests pass a fake. */
  kernel: BpfKernel;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** CLOCK_MONOTONIC in ns, for conntrack GC; default process.hrtime.bigint. */
  clock?: MonotonicClock;
  ctTimeouts?: Readonly<CtTimeouts>;
  /** Prefix of workload interfaces (default `cali`). */
  workloadPrefix?: string;
}

export interface MapFill {
  entries: number;
  maxEntries: number;
}

export class BpfDataplaneError extends TabbyError {}

export class BpfDataplane implements Dataplane {
  private inSync = false;
  private loaded: LoadedDataplane | null = null;
  private readonly managers: readonly Manager[];

  constructor(private readonly opts: BpfDataplaneOptions) {
    const ifindex = (name: string): number | null => opts.kernel.ifindex(name);
    const map = (name: MapName) => () => this.dataplane().map(name);
    this.managers = [
      new EndpointsMapManager({ map: map('endpoints'), ifindex, ...(opts.logger ? { logger: opts.logger } : {}) }),
      new RoutesMapManager({ map: map('routes'), ifindex, nodeIPv4: opts.nodeIPv4, ...(opts.logger ? { logger: opts.logger } : {}) }),
      new AttachManager({
        kernel: opts.kernel,
        dataplane: () => this.dataplane(),
        uplinkIfName: opts.uplinkIfName,
        ...(opts.workloadPrefix ? { workloadPrefix: opts.workloadPrefix } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      }),
    ];
  }

  send(msgs: DataplaneMessage[]): void {
    for (const msg of msgs) {
      if (msg.type === 'InSync') this.inSync = true;
      for (const m of this.managers) m.onUpdate(msg);
    }
  }

  /** The next apply re-reads every map and hook (call it periodically to repair outside tampering). */
  requestResync(): void {
    for (const m of this.managers) m.requestResync?.();
  }

  async apply(): Promise<ApplyReport> {
    try {
      this.dataplane();
    } catch (err) {
      return { inSync: this.inSync, failures: [{ manager: 'bpf-loader', item: 'tabby_dataplane.bpf.o', code: (err as { code?: string }).code ?? 'BPF_LOAD_FAILED', message: (err as Error).message }] };
    }
    return applyManagers(this.managers, this.inSync);
  }

  /** The loaded object; loads it on first use. Throws when the uplink is missing or the load fails. */
  dataplane(): LoadedDataplane {
    if (this.loaded) return this.loaded;
    const uplinkIfindex = this.opts.kernel.ifindex(this.opts.uplinkIfName);
    if (uplinkIfindex === null) {
      throw new BpfDataplaneError('UPLINK_MISSING', `the uplink interface ${this.opts.uplinkIfName} does not exist; the bpf dataplane loads once it does (check --uplink)`);
    }
    this.loaded = this.opts.kernel.load(this.opts.pinDir, { nodeIPv4: this.opts.nodeIPv4, uplinkIfindex });
    this.opts.logger?.info({ pinDir: this.opts.pinDir, uplinkIfindex, nodeIPv4: this.opts.nodeIPv4 }, 'bpf dataplane loaded');
    if (this.loaded.replacedMaps?.length) {
      this.opts.logger?.warn({ maps: this.loaded.replacedMaps }, 'pinned maps had an older layout and were replaced; they are refilled now (conntrack starts empty)');
    }
    return this.loaded;
  }

  /** Deletes conntrack entries idle past their timeout. Call it periodically (every 10 s is plenty). */
  collectConntrack(): ConntrackGcResult {
    return collectConntrack(this.dataplane().map('ct'), (this.opts.clock ?? monotonicNs)(), this.opts.ctTimeouts ?? DEFAULT_CT_TIMEOUTS);
  }

  /** Packets and bytes per outcome and drop reason, summed over CPUs. */
  readCounters(): Record<string, VerdictTotal> {
    return readVerdicts(this.dataplane().map('verdicts'));
  }

  /** How full each map is (entries counted by iteration; the per-CPU array is always full). */
  mapFill(): Record<MapName, MapFill> {
    const out = {} as Record<MapName, MapFill>;
    for (const name of MAP_NAMES) {
      const m = this.dataplane().map(name);
      let entries = 0;
      for (const _ of m.keys()) entries += 1;
      out[name] = { entries, maxEntries: m.info.maxEntries };
    }
    return out;
  }

  /** Closes the object: programs stay attached and maps stay pinned for the next agent. */
  close(): void {
    this.loaded?.close();
    this.loaded = null;
  }
}
