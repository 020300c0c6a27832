/**
 * The agent's Prometheus metrics, in a registry of its own (never prom-client's global
 * one), so several agents in one process (tests) or one machine (the lab) never mix.
 * Names and labels are API: dashboards and the lab's checks read them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncStatus } from '../datastore/syncer.js';

/** What the bpf dataplane exposes for metrics (BpfDataplane); read at scrape time. */
export interface BpfStatsSource {
  readCounters(): Record<string, { packets: bigint; bytes: bigint }>;
  mapFill(): Record<string, { entries: number; maxEntries: number }>;
}

/** `drop_<reason>` -> verdict "drop" with that reason; any other slot is its own verdict with reason "". */
export function verdictLabels(slot: string): { verdict: string; reason: string } {
  return slot.startsWith('drop_') ? { verdict: 'drop', reason: slot.slice('drop_'.length) } : { verdict: slot, reason: '' };
}

export type CniResultLabel = 'ok' | 'error';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly dataplaneMode: Gauge<'mode' | 'reason'>;
  readonly applyDuration: Histogram;
  readonly applyFailures: Counter<'code'>;
  readonly applies: Counter;
  readonly cniRequests: Counter<'verb' | 'result' | 'code'>;
  readonly cniDuration: Histogram<'verb' | 'result'>;
  readonly ipamAllocations: Counter<'result'>;
  readonly ipamReleases: Counter;
  readonly datastoreInSync: Gauge;
  readonly datastoreStatus: Gauge<'status'>;
  readonly ready: Gauge;
  readonly sweptInterfaces: Counter;
  readonly bpfPackets: Counter<'verdict' | 'reason'>;
  readonly bpfBytes: Counter<'verdict' | 'reason'>;
  readonly bpfMapEntries: Gauge<'map'>;
  readonly bpfMapMaxEntries: Gauge<'map'>;
  readonly bpfConntrackExpired: Counter;
  private bpf: BpfStatsSource | undefined;

  constructor() {
    const registers = [this.registry];
    this.dataplaneMode = new Gauge({ name: 'tabby_dataplane_mode', help: 'The dataplane in use (1) and why it was chosen', labelNames: ['mode', 'reason'], registers });
    this.applyDuration = new Histogram({
      name: 'tabby_dataplane_apply_duration_seconds',
      help: 'Time to reconcile the kernel with the desired state, per apply',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.applies = new Counter({ name: 'tabby_dataplane_applies_total', help: 'Dataplane applies run', registers });
    this.applyFailures = new Counter({ name: 'tabby_dataplane_apply_failures_total', help: 'Items a dataplane apply could not program, by failure code', labelNames: ['code'], registers });
    this.cniRequests = new Counter({ name: 'tabby_cni_requests_total', help: 'CNI requests answered, by verb, result and CNI error code (0 for ok)', labelNames: ['verb', 'result', 'code'], registers });
    this.cniDuration = new Histogram({
      name: 'tabby_cni_request_duration_seconds',
      help: 'Time to answer a CNI request, by verb and result',
      labelNames: ['verb', 'result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.ipamAllocations = new Counter({ name: 'tabby_ipam_allocations_total', help: 'IPAM allocations for workloads, by result', labelNames: ['result'], registers });
    this.ipamReleases = new Counter({ name: 'tabby_ipam_releases_total', help: 'Workload addresses released (DEL, rollback, GC)', registers });
    this.datastoreInSync = new Gauge({ name: 'tabby_datastore_in_sync', help: '1 when the agent holds a complete, current snapshot of the datastore', registers });
    this.datastoreStatus = new Gauge({ name: 'tabby_datastore_sync_status', help: 'The syncer status (1 for the current one)', labelNames: ['status'], registers });
    this.ready = new Gauge({ name: 'tabby_agent_ready', help: '1 when the agent serves CNI ADDs (datastore in sync and first apply done)', registers });
    this.sweptInterfaces = new Counter({ name: 'tabby_swept_interfaces_total', help: 'Leftover workload interfaces that no WorkloadEndpoint owned, removed', registers });
    // The bpf series mirror kernel state (per-CPU counters, map sizes): read when scraped,
    // so /metrics is exactly what the maps held at that moment; absent in legacy mode.
    const self = this;
    const counters = (): Record<string, { packets: bigint; bytes: bigint }> | undefined => {
      try {
        return self.bpf?.readCounters();
      } catch {
        return undefined; // not loaded yet (no uplink): no series rather than a failed scrape
      }
    };
    const fill = (): Record<string, { entries: number; maxEntries: number }> | undefined => {
      try {
        return self.bpf?.mapFill();
      } catch {
        return undefined;
      }
    };
    this.bpfPackets = new Counter({
      name: 'tabby_bpf_packets_total',
      help: 'Packets by bpf program outcome (verdict) and drop reason, summed over CPUs since the maps were created',
      labelNames: ['verdict', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [slot, v] of Object.entries(counters() ?? {})) this.inc(verdictLabels(slot), Number(v.packets));
      },
    });
    this.bpfBytes = new Counter({
      name: 'tabby_bpf_bytes_total',
      help: 'Bytes by bpf program outcome (verdict) and drop reason, summed over CPUs',
      labelNames: ['verdict', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [slot, v] of Object.entries(counters() ?? {})) this.inc(verdictLabels(slot), Number(v.bytes));
      },
    });
    this.bpfMapEntries = new Gauge({
      name: 'tabby_bpf_map_entries',
      help: 'Entries in each bpf map',
      labelNames: ['map'],
      registers,
      collect() {
        this.reset();
        for (const [map, f] of Object.entries(fill() ?? {})) this.set({ map }, f.entries);
      },
    });
    this.bpfMapMaxEntries = new Gauge({
      name: 'tabby_bpf_map_max_entries',
      help: 'Capacity of each bpf map',
      labelNames: ['map'],
      registers,
      collect() {
        this.reset();
        for (const [map, f] of Object.entries(fill() ?? {})) this.set({ map }, f.maxEntries);
      },
    });
    this.bpfConntrackExpired = new Counter({ name: 'tabby_bpf_conntrack_expired_total', help: 'Conntrack entries the agent\'s GC deleted as idle', registers });
    this.datastoreInSync.set(0);
    this.ready.set(0);
  }

  /** Exports the bpf dataplane's counters and map fill levels from now on. */
  watchBpf(source: BpfStatsSource): void {
    this.bpf = source;
  }

  setDataplaneMode(mode: string, reason: string): void {
    this.dataplaneMode.reset();
    this.dataplaneMode.set({ mode, reason }, 1);
  }

  setSyncStatus(status: SyncStatus): void {
    this.datastoreStatus.reset();
    this.datastoreStatus.set({ status }, 1);
    this.datastoreInSync.set(status === 'in-sync' ? 1 : 0);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
