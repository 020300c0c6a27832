/**
 * Runs an operation `count` times from `concurrency` async loops and times each call.
 * `op(i, loop)` gets a global index and the loop number (e.g. to pick a node per loop).
 * The first `warmup` calls of each loop are run but not recorded.
 */
import { Progress } from './progress.js';
import { summarize, type LatencySummary } from './stats.js';

export interface MeasureOptions {
  label: string;
  count: number;
  concurrency?: number;
  warmup?: number;
}

export interface Measurement extends LatencySummary {
  label: string;
  concurrency: number;
  elapsedMs: number;
  opsPerSec: number;
}

export async function measure(opts: MeasureOptions, op: (i: number, loop: number) => Promise<unknown>): Promise<Measurement> {
  const concurrency = opts.concurrency ?? 1;
  const warmup = opts.warmup ?? 0;
  for (let loop = 0; loop < concurrency; loop++) {
    for (let w = 0; w < warmup; w++) await op(-1 - (loop * warmup + w), loop);
  }
  const samples: number[] = [];
  const progress = new Progress(opts.label, opts.count);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let i = next++; i < opts.count; i = next++) {
        const t0 = performance.now();
        await op(i, loop);
        samples.push(performance.now() - t0);
        progress.update(samples.length);
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  const opsPerSec = (samples.length * 1000) / elapsedMs;
  progress.done(`${opsPerSec.toFixed(0)} ops/s`);
  return { label: opts.label, concurrency, elapsedMs, opsPerSec, ...summarize(samples) };
}
