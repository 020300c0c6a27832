/**
 * What a BGP benchmark run owns: a temporary directory, daemons, and our speaker. Removed
 * once, from the run's `finally` or when the run is cut short (interrupt.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopDaemon } from './bgp-feeders.js';
import { cleanUpOnInterrupt } from './interrupt.js';

export class BgpBenchRun {
  readonly daemons: ChildProcess[] = [];
  speaker: { close(): Promise<void> } | undefined;
  #cleaning: Promise<void> | undefined;

  private constructor(readonly dir: string) {}

  /** A run with a fresh temporary directory named after `name`. */
  static async start(name: string): Promise<BgpBenchRun> {
    const run = new BgpBenchRun(await mkdtemp(join(tmpdir(), `tabby-${name}-${process.pid}-`)));
    cleanUpOnInterrupt(() => run.cleanup());
    return run;
  }

  cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      await this.speaker?.close();
      for (const d of this.daemons) await stopDaemon(d);
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.#cleaning;
  }
}
