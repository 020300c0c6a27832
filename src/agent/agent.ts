/**
 * The composition root of the node agent: it builds the pieces, connects them, and starts
 * them in order. It holds no logic of its own beyond that order:
 *
 *   1. choose the dataplane: legacy, or bpf when asked for / when the probe passes under
 *      auto (one log line + tabby_dataplane_mode); serve /livez /readyz /metrics;
 *   2. find the uplink and node address, register the Node, ensure a pool exists,
 *      turn on IPv4 forwarding;
 *   3. start the pipeline   Syncer → CalcGraph(node) → Sequencer → ApplyLoop → Dataplane
 *      (LegacyDataplane, or BpfDataplane plus its conntrack GC timer and metrics, plus kernel
 *      routes for what BGP learned); the BGP speaker sits on the same syncer, next to calc,
 *      and hands its learned routes to calc (src/agent/bgp.ts); calc stays the one writer
 *      of every route, whichever source `--cluster-routes` names. BgpConvergence (whenever
 *      the speaker runs) says when BGP has brought what it will after the start: calc then
 *      stops bridging with the datastore's routes (`--cluster-routes bgp`), and the
 *      dataplane's learned-routes manager (kernel protocol 85) may sweep what the previous
 *      run learned and this one did not; before that a restart keeps a ToR's routes in the
 *      kernel while the sessions come back;
 *   4. once in sync and applied: remove `cali*` interfaces no local WorkloadEndpoint owns
 *      (what a previous run or crashed ADD left), then serve the CNI socket.
 *
 * `stop()` stops serving, stops the BGP sessions and disconnects, and deliberately leaves routes, interfaces, bpf
 * programs and pinned maps as they are: pods keep their connectivity across an agent
 * restart, and the next agent adopts what it finds (the route managers by protocol, the
 * bpf managers by mark and sweep of the pinned maps and tc replace of the programs, the
 * sweep above for interfaces).
 *
 * Every kernel-facing piece comes in through `AgentPlatform`, so the whole agent runs in
 * unit tests on a MemoryBackend, a MemoryRouteKernel and a fake WorkloadWiring.
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import { ResourceClient } from '../client/resources.js';
import { CalcGraph } from '../calc/calc-graph.js';
import type { ClusterRouteSource } from '../calc/desired-state.js';
import { Sequencer } from '../calc/sequencer.js';
import { serveCniSocket, type CniSocketServer } from '../cni/server.js';
import type { Backend } from '../datastore/backend.js';
import { DatastoreUnavailableError } from '../datastore/errors.js';
import { Keys } from '../datastore/keys.js';
import { Syncer, defaultSyncerPrefixes, type SyncStatus, type SyncerClock } from '../datastore/syncer.js';
import { BpfDataplane } from '../dataplane/bpf/bpf-dataplane.js';
import type { BpfKernel } from '../dataplane/bpf/kernel.js';
import type { ProbeResult } from '../dataplane/bpf/probe.js';
import { withLearnedKernelRoutes, type LearnedRoutesDataplane } from '../dataplane/legacy/learned-routes.js';
import { LegacyDataplane } from '../dataplane/legacy/legacy-dataplane.js';
import type { IpipProbe, RouteKernel } from '../dataplane/legacy/route-kernel.js';
import type { WorkloadWiring } from '../dataplane/linux/workload-wiring.js';
import { Ipam } from '../ipam/allocator.js';
import { DatastorePoolSource } from '../ipam/pools.js';
import { ApplyLoop, realLoopClock, type LoopClock } from './apply-loop.js';
import { detectNodeIp, detectUplink, type InterfaceTable } from './autodetect.js';
import { createAgentBgp, type AgentBgp, type AgentBgpTransport } from './bgp.js';
import { warmUpLearnedRoutes } from './warm-up.js';
import { BgpConvergence, type BgpConvergenceOptions } from './bgp-convergence.js';
import { createCniHandler } from './cni-handler.js';
import { clusterRoutesConflict, type AgentSettings } from './config.js';
import { ConntrackGcTimer } from './conntrack-gc-timer.js';
import { chooseDataplane } from './dataplane-mode.js';
import { AgentError } from './errors.js';
import { serveHealth, type HealthServer, type Readiness } from './health-server.js';
import { sweepOrphanInterfaces } from './interface-sweeper.js';
import { WatchedIpamSettings } from './watched-ipam-settings.js';
import { AgentMetrics } from './metrics.js';
import { nodeSelectorMatcher } from './node-matcher.js';
import { registerNode } from './node-registration.js';
import { withWorkloadMtu, workloadMtuFor } from './workload-mtu.js';

/** How long IPAM's one-transaction ADD relies on its last full look at this node's blocks. */
const IPAM_FAST_PATH_TRUST_MS = 5 * 60_000;

/** The kernel's bpf side, as the agent needs it. */
export interface AgentBpf {
  /** Can this node run the bpf dataplane with maps pinned in `pinDir`? Mounts bpffs when missing. */
  probe(pinDir: string): ProbeResult;
  /** The kernel BpfDataplane drives (the addon in production, a memory fake in unit tests). */
  kernel(): BpfKernel;
}

/** The kernel as the agent sees it. */
export interface AgentPlatform {
  routeKernel: RouteKernel;
  wiring: WorkloadWiring;
  hasIpipModule: IpipProbe;
  /** net.ipv4.ip_forward=1 (and whatever else forwarding needs). */
  enableForwarding(): Promise<void>;
  /** os.networkInterfaces() in production. */
  interfaces(): InterfaceTable;
  /** Absent: this platform cannot run bpf (auto picks legacy with reason no-addon). */
  bpf?: AgentBpf;
}

export interface AgentDeps {
  settings: AgentSettings;
  backend: Backend;
  /** Datastore root (default /calico). */
  root?: string;
  platform: AgentPlatform;
  /** Root logger, without a `component` binding (each part adds its own). */
  logger: Logger;
  loopClock?: LoopClock;
  syncerClock?: SyncerClock;
  /** ADD's bound on waiting for the dataplane. */
  programTimeoutMs?: number;
  resyncIntervalMs?: number;
  /** The BGP speaker's sockets and clocks (unit tests: `{ listen: false }` or a fake session factory). */
  bgpTransport?: AgentBgpTransport;
  /** How long BGP gets to converge after start (defaults in BgpConvergence): ends the cluster-routes bridge and holds the learned routes' sweep. */
  bgpConvergence?: Pick<BgpConvergenceOptions, 'settleMs' | 'maxWaitMs' | 'pollMs'>;
  /** Conntrack GC period in bpf mode (default 10 s). */
  conntrackGcIntervalMs?: number;
  now?: () => Date;
  /** Waits between startup retries while the datastore is unreachable. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RunningAgent {
  readonly nodeName: string;
  readonly uplink: string;
  readonly nodeIp: string;
  readonly metrics: AgentMetrics;
  readonly applyLoop: ApplyLoop;
  readonly dataplaneMode: 'legacy' | 'bpf';
  /** The bpf driver (bpf mode only), for tests and debugging. */
  readonly bpfDataplane?: BpfDataplane;
  /** The bound HTTP address (port resolved). */
  readonly http: HealthServer['address'];
  /** The BGP speaker and its status (disabled: no speaker, status says so). */
  readonly bgp: AgentBgp;
  /** Where cluster routes come from, and (bgp) whether the datastore still bridges until BGP converged. */
  clusterRoutes(): { source: ClusterRouteSource; bridging: boolean };
  readiness(): Readiness;
  /** Stops serving and disconnects; leaves routes and interfaces in place. */
  stop(): Promise<void>;
}

/**
 * Startup steps need the datastore; while it is unreachable they are retried (backoff to
 * 10 s, one warning per attempt), like the syncer does, so agents may start before etcd.
 */
async function untilAvailable<T>(what: string, fn: () => Promise<T>, log: Logger, sleep: (ms: number) => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof DatastoreUnavailableError)) throw err;
      const retryInMs = Math.min(10_000, 250 * 2 ** Math.min(attempt - 1, 6));
      log.warn({ op: 'startup', attempt, retryInMs, err: err.message }, `cannot ${what}: datastore unavailable; retrying in ${retryInMs} ms`);
      await sleep(retryInMs);
    }
  }
}

/** Runs the BGP warm-up (warm-up.ts) and logs how it went; never rejects: a failed warm-up only costs speed. */
async function warmUpBgp(prefixes: number, log: Logger): Promise<void> {
  try {
    const r = await warmUpLearnedRoutes({ prefixes });
    log.info({ op: 'bgp-warm-up', routes: r.routes, ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs) }, `BGP warm-up: ${r.routes} synthetic route writes through the learned-route path in ${Math.round(r.ms)} ms`);
  } catch (err) {
    log.warn({ op: 'bgp-warm-up', err }, `BGP warm-up failed (the first table from a peer will be slower, nothing else changes): ${(err as Error).message}`);
  }
}

export async function startAgent(deps: AgentDeps): Promise<RunningAgent> {
  const { settings, backend, platform } = deps;
  const conflict = clusterRoutesConflict(settings);
  if (conflict) throw new AgentError('AGENT_CONFIG', conflict);
  const clusterRoutes = settings.clusterRoutes ?? 'datastore';
  // Each part logs with its own stable `component`; the root logger given carries none.
  const part = (component: string): Logger => deps.logger.child({ component, node: settings.nodeName });
  const log = part('agent');
  const keys = new Keys(deps.root);
  const metrics = new AgentMetrics();
  let syncStatus: SyncStatus = 'wait-for-datastore';
  let cniServer: CniSocketServer | undefined;
  let loop: ApplyLoop | undefined;
  let syncer: Syncer | undefined;
  let bpfDataplane: BpfDataplane | undefined;
  let learnedDataplane: LearnedRoutesDataplane | undefined;
  let ctGc: ConntrackGcTimer | undefined;
  let bgp: AgentBgp | undefined;
  let convergence: BgpConvergence | undefined;

  const bpf = platform.bpf;
  const decision = chooseDataplane(settings.dataplane, () =>
    bpf ? bpf.probe(settings.pinDir) : { ok: false, reason: 'no-addon', message: 'this agent was built without a bpf kernel interface' },
  );
  log.info({ op: 'dataplane', mode: decision.mode, reason: decision.reason }, decision.explanation);
  metrics.setDataplaneMode(decision.mode, decision.reason);
  metrics.setSyncStatus(syncStatus);

  const readiness = (): Readiness => {
    const reasons: string[] = [];
    if (syncStatus !== 'in-sync') reasons.push(`datastore not in sync (${syncStatus})`);
    if (!loop?.firstApplyDone) reasons.push('first dataplane apply not done');
    if (!cniServer) reasons.push('CNI socket not served yet');
    metrics.ready.set(reasons.length === 0 ? 1 : 0);
    return { ready: reasons.length === 0, reasons };
  };
  const health = await serveHealth(settings.httpListen, {
    readiness,
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    // GET /bgp/status joins once the speaker exists (404 before: startup is not that far yet).
    handlers: () => (bgp ? [bgp.httpHandler] : []),
  });
  log.info({ op: 'http', address: `${health.address.host}:${health.address.port}` }, 'serving /livez, /readyz, /metrics, /bgp/status');

  // The warm-up runs while the datastore steps below wait on I/O; the speaker starts after it.
  const warmUp = settings.bgp !== 'disabled' && settings.bgpWarmUp ? warmUpBgp(settings.bgpWarmUp, part('bgp')) : undefined;

  const stop = async (): Promise<void> => {
    await warmUp;
    await cniServer?.close();
    cniServer = undefined;
    ctGc?.stop();
    convergence?.stop();
    // Sessions end with a Cease; learned routes stay programmed for the next agent.
    await bgp?.close().catch((err: unknown) => log.warn({ op: 'stop', err }, `stopping BGP failed: ${(err as Error).message}`));
    await loop?.stop();
    // A learned-route pass may still be writing; it finishes (routes stay for the next agent).
    await learnedDataplane?.settled();
    await syncer?.stop();
    // Closes our handles only: programs stay attached and maps pinned (never detach here).
    bpfDataplane?.close();
    await health.close();
    await backend.close();
    log.info({ op: 'stop' }, 'agent stopped; routes, interfaces, bpf programs and maps left in place for the next agent');
  };

  try {
    await mkdir(settings.stateDir, { recursive: true, mode: 0o700 });
    const uplink = settings.uplink ?? (await detectUplink(platform.routeKernel));
    const nodeIp = settings.nodeIp ?? detectNodeIp(uplink, platform.interfaces());
    log.info({ op: 'startup', uplink, nodeIp, autodetected: { uplink: !settings.uplink, nodeIp: !settings.nodeIp } }, `node ${settings.nodeName}: uplink ${uplink}, address ${nodeIp}`);

    const client = new ResourceClient(backend, keys);
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const outcome = await untilAvailable('register the Node', () => registerNode({ client, nodeName: settings.nodeName, ipv4Cidr: nodeIp }), log, sleep);
    log.info({ op: 'register', outcome }, `Node ${settings.nodeName} ${outcome}`);
    const pools = new DatastorePoolSource({ backend, root: keys.root, defaultPool: { cidr: settings.defaultPoolCidr } });
    const havePools = await untilAvailable('ensure an IP pool exists', () => pools.ensureDefault(), log, sleep);
    log.info({ op: 'pools', pools: havePools.map((p) => `${p.name} ${p.cidr}`) }, `${havePools.length} IP pool(s)`);
    await platform.enableForwarding();

    const sequencer = new Sequencer();
    const calc = new CalcGraph({ localNode: settings.nodeName, sink: sequencer, keys, clusterRoutes });
    log.info({ op: 'cluster-routes', source: clusterRoutes }, clusterRoutes === 'bgp' ? 'routes to other nodes\' blocks come from BGP (the datastore\'s bridge until BGP has converged)' : 'routes to other nodes\' blocks come from the datastore (block affinities)');
    let dataplane: LearnedRoutesDataplane;
    // Learned routes are written behind the apply loop (a full table keeps the kernel busy
    // while UPDATEs are still decoded); a pass that ends differently wakes the loop.
    const writeBehind = { wake: () => loop?.kick() };
    if (decision.mode === 'bpf') {
      bpfDataplane = new BpfDataplane({ pinDir: settings.pinDir, uplinkIfName: uplink, nodeIPv4: nodeIp.split('/')[0]!, kernel: bpf!.kernel(), logger: part('bpf') });
      // The programs pass destinations they do not know to the kernel: routes BGP learned
      // (outside the pools) are kernel routes in bpf mode too.
      dataplane = withLearnedKernelRoutes(bpfDataplane, { routeKernel: platform.routeKernel, logger: part('bgp-routes'), writeBehind });
      metrics.watchBpf(bpfDataplane);
      ctGc = new ConntrackGcTimer({
        dataplane: bpfDataplane,
        clock: deps.loopClock ?? realLoopClock,
        ...(deps.conntrackGcIntervalMs !== undefined ? { intervalMs: deps.conntrackGcIntervalMs } : {}),
        onSweep: (r) => metrics.bpfConntrackExpired.inc(r.expired),
        logger: part('conntrack-gc'),
      });
    } else {
      dataplane = LegacyDataplane.create({ routeKernel: platform.routeKernel, hasIpipModule: platform.hasIpipModule, uplinkIfName: uplink, logger: part('routes'), learnedWriteBehind: writeBehind });
    }
    learnedDataplane = dataplane;
    loop = new ApplyLoop({
      source: sequencer,
      dataplane,
      metrics,
      logger: part('apply-loop'),
      ...(deps.loopClock ? { clock: deps.loopClock } : {}),
      ...(deps.resyncIntervalMs !== undefined ? { resyncIntervalMs: deps.resyncIntervalMs } : {}),
    });
    const applyLoop = loop;
    bgp = createAgentBgp({
      nodeName: settings.nodeName,
      nodeIp,
      keys,
      enabled: settings.bgp !== 'disabled',
      logger: deps.logger.child({ node: settings.nodeName }), // the speaker names its component itself
      onRoutes: (msgs) => {
        calc.onExternalRoutes(msgs);
        applyLoop.kick();
      },
      ...(deps.bgpTransport ? { transport: deps.bgpTransport } : {}),
      ...(warmUp ? { startAfter: warmUp } : {}),
      ...(settings.bgpSecretsDir ? { secretsDir: settings.bgpSecretsDir } : {}),
    });
    const agentBgp = bgp;
    const learnedRoutes = dataplane;
    if (settings.bgp !== 'disabled') {
      convergence = new BgpConvergence({
        status: () => agentBgp.status(),
        clock: deps.loopClock ?? realLoopClock,
        onConverged: () => {
          calc.onBgpConverged(); // a no-op unless --cluster-routes bgp
          learnedRoutes.onBgpConverged();
          applyLoop.kick();
        },
        logger: log,
        ...deps.bgpConvergence,
      });
    } else {
      // No speaker, nothing will be learned: what a previous run learned goes at InSync.
      learnedRoutes.onBgpConverged();
    }
    const ipamSettings = new WatchedIpamSettings(keys);
    syncer = new Syncer({
      backend,
      prefixes: [...defaultSyncerPrefixes(keys), ipamSettings.configKey],
      logger: deps.logger.child({ node: settings.nodeName }), // the syncer names its component itself
      ...(deps.syncerClock ? { clock: deps.syncerClock } : {}),
      callbacks: {
        onUpdates: (u) => {
          ipamSettings.onUpdates(u);
          calc.onUpdates(u);
          agentBgp.onUpdates(u);
          applyLoop.kick();
        },
        onStatus: (s) => {
          if (s !== syncStatus) log.info({ op: 'sync', status: s }, `datastore ${s}`);
          syncStatus = s;
          metrics.setSyncStatus(s);
          ipamSettings.onStatus(s);
          calc.onStatus(s);
          agentBgp.onStatus(s);
          applyLoop.kick();
        },
      },
    });
    applyLoop.start();
    syncer.start();
    convergence?.start();
    await applyLoop.whenFirstApplied();
    ctGc?.start();

    const owned = new Set([...calc.desiredState().endpoints.values()].map((e) => e.ifaceName));
    const swept = await sweepOrphanInterfaces({ wiring: platform.wiring, owned, logger: log });
    metrics.sweptInterfaces.inc(swept.removed.length);

    const ipam = new Ipam({
      backend,
      root: keys.root,
      pools,
      // Pools and IPAM config come from the syncer's view: no settings round trip per ADD.
      watched: ipamSettings,
      // The one-transaction ADD holds for pods that come minutes apart too (fast-path.ts says why that is safe).
      fastPathTrustMs: IPAM_FAST_PATH_TRUST_MS,
      nodeMatches: nodeSelectorMatcher(client),
      logger: part('ipam'),
    });
    const handler = createCniHandler({
      nodeName: settings.nodeName,
      ipam,
      client,
      // Pods get MTU 1480 while any pool may use IPIP (the outer header's 20 bytes).
      wiring: withWorkloadMtu(platform.wiring, () => workloadMtuFor(calc.desiredState().pools.values())),
      dataplane: applyLoop,
      localEndpoints: {
        usesInterface: (name) => {
          if (syncStatus !== 'in-sync') return undefined;
          for (const e of calc.desiredState().endpoints.values()) if (e.ifaceName === name) return true;
          return false;
        },
      },
      readiness,
      busyInterfaces: new Set(),
      metrics,
      logger: part('cni'),
      ...(deps.programTimeoutMs !== undefined ? { programTimeoutMs: deps.programTimeoutMs } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    cniServer = await serveCniSocket(settings.cniSocket, handler.handle, { logger: part('cni-server') });
    log.info({ op: 'ready', socket: settings.cniSocket, swept: swept.removed }, `agent ready; serving CNI on ${settings.cniSocket}`);
    readiness();

    return {
      nodeName: settings.nodeName,
      uplink,
      nodeIp,
      metrics,
      applyLoop,
      dataplaneMode: decision.mode,
      ...(bpfDataplane ? { bpfDataplane } : {}),
      http: health.address,
      bgp: agentBgp,
      clusterRoutes: () => ({ source: clusterRoutes, bridging: calc.bridging }),
      readiness,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
