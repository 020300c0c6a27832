/**
 * The apply loop: the only place that moves messages from the sequencer into the dataplane
 * and asks the dataplane to reconcile. It decides WHEN, the pipeline stages decide WHAT.
 *
 *  - `kick()` (after every syncer batch) schedules one cycle; kicks that arrive while a
 *    cycle runs coalesce into one more cycle, so a burst of updates costs few applies.
 *  - A cycle flushes the sequencer, sends the messages, and awaits `dataplane.apply()`.
 *  - Items the dataplane could not program are retried with exponential backoff
 *    (`retryInitialMs` doubling to `retryMaxMs`): bounded in rate, never given up, because
 *    the dataplane keeps the failed items pending and the next apply retries exactly them.
 *  - Every `resyncIntervalMs` the dataplane is asked to re-read the kernel (repairs
 *    outside tampering, e.g. someone deleting one of our routes).
 *
 * It also answers "has the dataplane programmed endpoint X?" for CNI ADD, which must not
 * answer before the pod's route exists: an endpoint counts as programmed after an apply
 * in which the dataplane held its WorkloadEndpointUpdate and reported no failure for any
 * of its addresses' routes.
 */
import type { Logger } from '../log/logger.js';
import { TabbyError } from '../errors.js';
import type { ApplyFailure, ApplyReport, Dataplane } from '../dataplane/driver.js';
import { workloadEndpointKey, type DataplaneMessage } from '../dataplane/messages.js';
import type { AgentMetrics } from './metrics.js';

export interface LoopClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Node's timers. A cycle due now (`kick`) runs on setImmediate, after the I/O callbacks of
 * this turn (so a burst still coalesces) but without setTimeout's 1 ms floor: a CNI ADD
 * waits for that cycle.
 */
export const realLoopClock: LoopClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? { immediate: setImmediate(fn) } : setTimeout(fn, ms)),
  clearTimeout: (h) => {
    if (typeof h === 'object' && h !== null && 'immediate' in h) clearImmediate((h as { immediate: NodeJS.Immediate }).immediate);
    else clearTimeout(h as NodeJS.Timeout);
  },
};

export interface MessageSource {
  flush(): DataplaneMessage[];
}

export interface ApplyLoopOptions {
  source: MessageSource;
  dataplane: Dataplane & { requestResync?(): void };
  clock?: LoopClock;
  retryInitialMs?: number;
  retryMaxMs?: number;
  resyncIntervalMs?: number;
  metrics?: AgentMetrics;
  logger?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
}

/** What an endpoint must look like to count as the one being waited for. */
export interface EndpointExpectation {
  ifaceName: string;
  ipv4Nets: string[];
}

export class EndpointNotProgrammedError extends TabbyError {
  constructor(
    message: string,
    readonly failures: ApplyFailure[],
  ) {
    super('ENDPOINT_NOT_PROGRAMMED', message);
  }
}

interface Waiter {
  key: string;
  expect: EndpointExpectation | undefined;
  resolve(): void;
  reject(err: Error): void;
  timer: unknown;
}

const sameEndpoint = (a: EndpointExpectation, b: EndpointExpectation): boolean =>
  a.ifaceName === b.ifaceName && a.ipv4Nets.length === b.ipv4Nets.length && [...a.ipv4Nets].sort().join() === [...b.ipv4Nets].sort().join();

export class ApplyLoop {
  private readonly clock: LoopClock;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly resyncIntervalMs: number;
  private running: Promise<void> | undefined;
  private again = false;
  private scheduled: unknown;
  private resyncTimer: unknown;
  private failuresInARow = 0;
  private stopped = false;
  private started = false;
  /** Endpoints the dataplane has been told about (desired), by endpoint key. */
  private readonly endpoints = new Map<string, EndpointExpectation>();
  /** Endpoints whose last apply succeeded for them. */
  private readonly programmed = new Map<string, EndpointExpectation>();
  private readonly waiters = new Set<Waiter>();
  private firstApplied = false;
  private readonly firstAppliedWaiters: Array<() => void> = [];
  private last: ApplyReport | undefined;

  constructor(private readonly opts: ApplyLoopOptions) {
    this.clock = opts.clock ?? realLoopClock;
    this.retryInitialMs = opts.retryInitialMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 10_000;
    this.resyncIntervalMs = opts.resyncIntervalMs ?? 90_000;
  }

  /** Starts the periodic resync; cycles run on `kick()`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.armResync();
  }

  /** Something new is in the sequencer (or may be): run a cycle soon. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** True once an apply has completed after the dataplane saw InSync. */
  get firstApplyDone(): boolean {
    return this.firstApplied;
  }

  get lastReport(): ApplyReport | undefined {
    return this.last;
  }

  whenFirstApplied(): Promise<void> {
    if (this.firstApplied) return Promise.resolve();
    return new Promise((resolve) => this.firstAppliedWaiters.push(resolve));
  }

  /** Whether `key` (see workloadEndpointKey) is programmed, optionally in the expected shape. */
  isProgrammed(key: string, expect?: EndpointExpectation): boolean {
    const p = this.programmed.get(key);
    return p !== undefined && (expect === undefined || sameEndpoint(p, expect));
  }

  /**
   * Resolves once the endpoint is programmed (now or after a later apply); rejects with
   * EndpointNotProgrammedError after `timeoutMs`, carrying the failures that concern it.
   */
  waitForEndpoint(key: string, timeoutMs: number, expect?: EndpointExpectation): Promise<void> {
    if (this.isProgrammed(key, expect)) return Promise.resolve();
    if (this.stopped) return Promise.reject(new EndpointNotProgrammedError(`the agent is stopping; endpoint ${key} was not programmed`, []));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        key,
        expect,
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.waiters.delete(w);
          const failures = this.failuresFor(key);
          const why = failures.length > 0 ? `: ${failures.map((f) => f.message).join('; ')}` : this.endpoints.has(key) ? '' : ' (the dataplane has not been told about it yet; is the datastore reachable?)';
          reject(new EndpointNotProgrammedError(`the dataplane did not program endpoint ${key} within ${timeoutMs} ms${why}`, failures));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Stops scheduling; waits for a running cycle; rejects pending waiters. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.scheduled !== undefined) this.clock.clearTimeout(this.scheduled);
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.scheduled = undefined;
    this.resyncTimer = undefined;
    await this.running;
    for (const w of this.waiters) {
      this.clock.clearTimeout(w.timer);
      w.reject(new EndpointNotProgrammedError(`the agent is stopping; endpoint ${w.key} was not programmed`, []));
    }
    this.waiters.clear();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.scheduled !== undefined) {
      if (ms > 0) return; // an earlier (or equal) cycle is already due
      this.clock.clearTimeout(this.scheduled);
    }
    this.scheduled = this.clock.setTimeout(() => {
      this.scheduled = undefined;
      this.running = this.cycle().finally(() => {
        this.running = undefined;
        this.afterCycle();
      });
    }, ms);
  }

  private armResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.opts.dataplane.requestResync?.();
      this.kick();
      this.armResync();
    }, this.resyncIntervalMs);
  }

  private async cycle(): Promise<void> {
    const msgs = this.opts.source.flush();
    this.track(msgs);
    if (msgs.length > 0) this.opts.dataplane.send(msgs);
    const t0 = this.clock.now();
    let report: ApplyReport;
    try {
      report = await this.opts.dataplane.apply();
    } catch (err) {
      // The contract says apply reports failures instead of rejecting; be robust anyway.
      report = { inSync: this.last?.inSync ?? false, failures: [{ manager: 'dataplane', item: 'dataplane', code: 'DATAPLANE_APPLY_FAILED', message: (err as Error).message ?? String(err) }] };
    }
    const m = this.opts.metrics;
    m?.applies.inc();
    m?.applyDuration.observe((this.clock.now() - t0) / 1000);
    for (const f of report.failures) m?.applyFailures.inc({ code: f.code });
    this.last = report;
    this.updateProgrammed(report);
    if (report.inSync && !this.firstApplied) {
      this.firstApplied = true;
      this.opts.logger?.info({ op: 'apply', failures: report.failures.length }, 'first dataplane apply after in-sync done');
      for (const r of this.firstAppliedWaiters.splice(0)) r();
    }
    this.failuresInARow = report.failures.length > 0 ? this.failuresInARow + 1 : 0;
  }

  private afterCycle(): void {
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.schedule(0);
      return;
    }
    if (this.failuresInARow > 0) {
      this.schedule(Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(this.failuresInARow - 1, 20)));
    }
  }

  private track(msgs: readonly DataplaneMessage[]): void {
    for (const msg of msgs) {
      if (msg.type === 'WorkloadEndpointUpdate') {
        this.endpoints.set(workloadEndpointKey(msg.id), { ifaceName: msg.ifaceName, ipv4Nets: [...msg.ipv4Nets] });
      } else if (msg.type === 'WorkloadEndpointRemove') {
        this.endpoints.delete(workloadEndpointKey(msg.id));
      }
    }
  }

  private failuresFor(key: string): ApplyFailure[] {
    const ep = this.endpoints.get(key);
    if (!ep || !this.last) return [];
    const items = new Set([...ep.ipv4Nets.map((n) => `route ${n}`), `endpoint ${key}`, `iface ${ep.ifaceName}`]);
    return this.last.failures.filter((f) => items.has(f.item) || f.item === f.manager);
  }

  private updateProgrammed(report: ApplyReport): void {
    this.programmed.clear();
    if (report.inSync) {
      for (const [key, ep] of this.endpoints) if (this.failuresFor(key).length === 0) this.programmed.set(key, ep);
    }
    for (const w of [...this.waiters]) {
      if (!this.isProgrammed(w.key, w.expect)) continue;
      this.waiters.delete(w);
      this.clock.clearTimeout(w.timer);
      w.resolve();
    }
  }
}
