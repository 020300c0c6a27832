import type { Clock } from './clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A Clock for tests: time moves only when advance() says so, and due timers fire in
 * deadline order (ties in the order they were set).
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const p: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(p);
    return () => {
      this.#pending = this.#pending.filter((x) => x !== p);
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due (including ones set by fired timers). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      this.#pending = this.#pending.filter((x) => x !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }

  /** Number of timers waiting to fire. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  #nextDue(target: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.#pending) {
      if (p.at > target) continue;
      if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    }
    return best;
  }
}
