/**
 * Per-step durations of one CNI verb, for the agent's log line (`ms: {ipam, wire, ...}`):
 * where an ADD's time goes is the first question when pods start slowly, and the answer
 * should be in the log rather than in a profiler. The clock is injected (monotonic ms).
 */
export class StepTimer {
  private readonly start: number;
  private last: number;
  private readonly laps: Record<string, number> = {};

  constructor(private readonly now: () => number = () => performance.now()) {
    this.start = now();
    this.last = this.start;
  }

  /** Ends step `name` (time since the previous lap); a repeated name adds up. */
  lap(name: string): void {
    const t = this.now();
    this.laps[name] = (this.laps[name] ?? 0) + round(t - this.last);
    this.last = t;
  }

  /** The laps so far plus `total` since construction, in ms with 0.1 ms resolution. */
  timings(): Record<string, number> {
    return { ...this.laps, total: round(this.now() - this.start) };
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
