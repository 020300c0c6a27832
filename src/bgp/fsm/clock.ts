/**
 * Time as the BGP code sees it. Protocol code never calls Date.now() or setTimeout
 * directly: it gets a Clock, so unit tests drive timers with FakeClock.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale (only differences matter). */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it (idempotent). */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The real clock. Timers are unref'd so a forgotten session never keeps a process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
