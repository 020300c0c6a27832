/**
 * What the CNI verbs need from the rest of the agent, all injected: the unit tests pass a
 * MemoryBackend, a fake WorkloadWiring and an ApplyLoop over a MemoryRouteKernel.
 */
import type { ResourceClient } from '../../client/resources.js';
import type { Ipam } from '../../ipam/allocator.js';
import type { Logger } from '../../log/logger.js';
import type { WorkloadWiring } from '../../dataplane/linux/workload-wiring.js';
import type { EndpointExpectation } from '../apply-loop.js';
import type { Readiness } from '../health-server.js';
import type { AgentMetrics } from '../metrics.js';

export interface EndpointWaiter {
  waitForEndpoint(key: string, timeoutMs: number, expect?: EndpointExpectation): Promise<void>;
}

/**
 * The agent's synced view of this node's WorkloadEndpoints (calc's desired state): lets ADD
 * skip its datastore read when neither this view nor the kernel knows the pod.
 */
export interface LocalEndpointView {
  /** Whether a local endpoint uses host interface `name`; undefined while the view is not in sync. */
  usesInterface(name: string): boolean | undefined;
}

export interface CniDeps {
  nodeName: string;
  ipam: Pick<Ipam, 'autoAssign' | 'releaseByHandle' | 'store'>;
  client: ResourceClient;
  wiring: WorkloadWiring;
  dataplane: EndpointWaiter;
  /** Without it, every ADD reads the WorkloadEndpoint from the datastore. */
  localEndpoints?: LocalEndpointView;
  readiness(): Readiness;
  /** How long ADD waits for the dataplane (below the plugin's 60 s default timeout). */
  programTimeoutMs?: number;
  /** Monotonic ms for the per-step timings in the log (performance.now by default). */
  monotonic?: () => number;
  /** Wall clock for the allocation's `timestamp` attribute. */
  now?: () => Date;
  /** Host interfaces being worked on right now (ADD in flight); sweeps leave them alone. */
  busyInterfaces: Set<string>;
  metrics?: AgentMetrics;
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
}

export const DEFAULT_PROGRAM_TIMEOUT_MS = 30_000;
