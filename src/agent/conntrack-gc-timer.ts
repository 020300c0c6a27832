/**
 * Runs the bpf dataplane's conntrack GC periodically. The programs only create and move
 * conntrack entries; expiring them is the agent's job (BpfDataplane.collectConntrack). The
 * timer is injected (the apply loop's clock shape), so tests step it by hand; a failing
 * sweep (the object not loaded yet: no uplink) is logged and tried again next tick.
 */
import type { ConntrackGcResult } from '../dataplane/bpf/conntrack-gc.js';
import type { Logger } from '../log/logger.js';
import type { LoopClock } from './apply-loop.js';

export const DEFAULT_CT_GC_INTERVAL_MS = 10_000;

export interface ConntrackGcTimerOptions {
  dataplane: { collectConntrack(): ConntrackGcResult };
  clock: Pick<LoopClock, 'setTimeout' | 'clearTimeout'>;
  intervalMs?: number;
  /** Called with each successful sweep's result (metrics). */
  onSweep?: (r: ConntrackGcResult) => void;
  logger?: Pick<Logger, 'debug' | 'warn'>;
}

export class ConntrackGcTimer {
  private handle: unknown = undefined;
  private running = false;

  constructor(private readonly opts: ConntrackGcTimerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.handle !== undefined) this.opts.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  /** One sweep now; never throws. */
  sweep(): ConntrackGcResult | undefined {
    try {
      const r = this.opts.dataplane.collectConntrack();
      this.opts.onSweep?.(r);
      if (r.expired > 0) this.opts.logger?.debug({ op: 'conntrack-gc', ...r }, `conntrack GC: ${r.expired} of ${r.scanned} entries expired`);
      return r;
    } catch (err) {
      this.opts.logger?.warn({ op: 'conntrack-gc', err: (err as Error).message }, 'conntrack GC failed; trying again at the next interval');
      return undefined;
    }
  }

  private schedule(): void {
    this.handle = this.opts.clock.setTimeout(() => {
      this.handle = undefined;
      if (!this.running) return;
      this.sweep();
      this.schedule();
    }, this.opts.intervalMs ?? DEFAULT_CT_GC_INTERVAL_MS);
  }
}
