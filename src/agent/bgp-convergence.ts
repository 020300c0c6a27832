/**
 * When has BGP brought the routes it is going to bring after the agent starts?
 *
 * Until then a restarting agent must not sweep the routes its predecessor programmed from
 * BGP only to add them back once the sessions are up (the role BIRD's kernel-protocol
 * graceful restart plays in Calico). Two things wait for it: the dataplane's learned-routes
 * manager holds its sweep of protocol-85 routes (a ToR's default, external networks), and
 * with `--cluster-routes bgp` calc bridges with the datastore's cluster routes. The speaker
 * does not report End-of-RIB, so convergence is judged from its status: the configuration
 * has arrived and every configured peer has been Established for `settleMs` (a peer sends
 * its whole table right after the OPEN exchange). A peer that never comes up (a node that
 * is down) must not hold things forever: after `maxWaitMs` it gives up waiting, naming who
 * was missing. The decision is made once.
 *
 * Polled on the injected clock: the speaker has no peer-state event for the agent, and a
 * status() read is cheap.
 */
import type { BgpStatus } from '../bgp/speaker/speaker.js';
import type { Logger } from '../log/logger.js';
import type { LoopClock } from './apply-loop.js';

export interface BgpConvergenceOptions {
  status: () => Pick<BgpStatus, 'enabled' | 'peers'>;
  clock: LoopClock;
  /** Called once, with why. */
  onConverged: (why: string) => void;
  /** How long every peer must have been up. Default 2 s. */
  settleMs?: number;
  /** Upper bound on the wait from start(). Default 30 s. */
  maxWaitMs?: number;
  /** Poll period. Default 250 ms. */
  pollMs?: number;
  logger?: Pick<Logger, 'info'>;
}

export class BgpConvergence {
  private readonly settleMs: number;
  private readonly maxWaitMs: number;
  private readonly pollMs: number;
  private startedAt = 0;
  private allUpSince: number | undefined;
  private timer: unknown;
  private done = false;

  constructor(private readonly o: BgpConvergenceOptions) {
    this.settleMs = o.settleMs ?? 2_000;
    this.maxWaitMs = o.maxWaitMs ?? 30_000;
    this.pollMs = o.pollMs ?? 250;
  }

  get converged(): boolean {
    return this.done;
  }

  start(): void {
    if (this.done || this.timer !== undefined) return;
    this.startedAt = this.o.clock.now();
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.check();
    }, this.pollMs);
  }

  private check(): void {
    const now = this.o.clock.now();
    const s = this.o.status();
    const down = s.peers.filter((p) => p.state !== 'up').map((p) => p.peerAddress);
    if (s.enabled && down.length === 0) {
      this.allUpSince ??= now;
      if (now - this.allUpSince >= this.settleMs) {
        const n = s.peers.length;
        return this.finish(n === 0 ? 'BGP is configured with no peers' : `all ${n} BGP peer(s) established for ${this.settleMs} ms`);
      }
    } else {
      this.allUpSince = undefined;
    }
    if (now - this.startedAt >= this.maxWaitMs) {
      const why = !s.enabled ? 'BGP is not running on this node (see tabby node status)' : `not established: ${down.join(', ')}`;
      return this.finish(`gave up waiting after ${this.maxWaitMs} ms (${why})`);
    }
    this.schedule();
  }

  private finish(why: string): void {
    this.done = true;
    this.o.logger?.info({ op: 'bgp-converged', why }, `BGP converged: ${why}; what it did not bring back may now be removed`);
    this.o.onConverged(why);
  }
}
