/**
 * A real daemon for the interop tests (BIRD, GoBGP): run in the foreground under
 * `setpriv --pdeathsig SIGKILL` so a dying test worker never leaves it behind, its stderr
 * kept for error messages, start-up judged by the daemon answering its own control channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const SETPRIV = '/usr/bin/setpriv';
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

export class SupervisedDaemon {
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #stderr = '';

  /** `name` is used in error messages, e.g. "bird exited during start-up". */
  constructor(readonly name: string) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /**
   * Spawns `binary args` and waits (at most 15 s) until `ready()` resolves; `where` says what
   * did not answer ("on /tmp/x/bird.ctl") when it never does.
   */
  async start(binary: string, args: string[], ready: () => Promise<unknown>, where: string): Promise<void> {
    if (this.#child) return;
    const [cmd, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGKILL', binary, ...args]] : [binary, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    running.add(child);
    child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#exited = new Promise((resolve) => {
      child.on('exit', () => {
        running.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (!this.#child) throw new Error(`${this.name} exited during start-up: ${this.#stderr}`);
      try {
        await ready();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`${this.name} did not answer ${where}: ${this.#stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.#child?.kill(sig);
  }

  /** SIGKILL (after SIGCONT, in case a test stopped it) and wait for the exit. */
  async kill(): Promise<void> {
    const c = this.#child;
    if (!c) return;
    c.kill('SIGCONT');
    c.kill('SIGKILL');
    await this.#exited;
  }
}

export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
