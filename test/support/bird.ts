/**
 * A real BIRD 2 (`/usr/sbin/bird`) for the BGP interop tests: generated config, its own
 * control socket, pidfile and temp dir, foreground under `setpriv --pdeathsig SIGKILL` so
 * a dying test worker never leaves it behind. Never installs kernel routes (no kernel
 * protocol is configured).
 *
 *   const bird = await startBird({ routerId, localAddress, localPort, asn, neighbors, staticRoutes });
 *   await bird.birdc('show protocols all tabby');
 *   await bird.cleanup();
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SupervisedDaemon } from './daemon.js';

const execFileP = promisify(execFile);
export const BIRD_BINARY = '/usr/sbin/bird';
export const BIRDC_BINARY = '/usr/sbin/birdc';

export interface BirdNeighbor {
  /** Protocol name in BIRD (shown by `show protocols`). */
  name: string;
  address: string;
  port: number;
  asn: number;
  holdTime?: number;
  /** Enable graceful restart with this restart time (seconds). */
  gracefulRestartTime?: number;
  passive?: boolean;
  /** TCP-MD5 password (BIRD's `password`). */
  password?: string;
}

export interface BirdOptions {
  routerId: string;
  localAddress: string;
  /** BGP listening port. */
  localPort: number;
  /**
   * NEXT_HOP BIRD puts on the routes it sends (default: a TEST-NET-1 address derived from
   * nothing routable). Loopback addresses are not valid next hops (RFC 4271 §5.1.3), so
   * sessions on 127.0.0.x need an explicit one.
   */
  nextHop?: string;
  asn: number;
  neighbors: BirdNeighbor[];
  /** IPv4 prefixes announced as static blackhole routes (never reach the kernel). */
  staticRoutes: string[];
}

export interface BirdDaemon {
  dir: string;
  socketPath: string;
  readonly pid: number | undefined;
  birdc(command: string): Promise<string>;
  /** Rewrites the config (e.g. other static routes); takes effect at the next start. */
  reconfigure(o: Partial<BirdOptions>): Promise<void>;
  /** Starts (again); `recovery` passes -R (graceful restart recovery: R and F bits set). */
  start(opts?: { recovery?: boolean }): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  cleanup(): Promise<void>;
}

let counter = 0;

export function birdConfig(o: BirdOptions): string {
  const lines = [
    `router id ${o.routerId};`,
    'protocol device {}',
    'protocol static tabbystatic {',
    '  ipv4;',
    ...o.staticRoutes.map((r) => `  route ${r} blackhole;`),
    // Makes BGP next hops on loopback resolvable for the multihop sessions; not exported.
    '  route 127.0.0.0/8 via "lo";',
    '}',
  ];
  for (const n of o.neighbors) {
    lines.push(
      `protocol bgp ${n.name} {`,
      `  local ${o.localAddress} port ${o.localPort} as ${o.asn};`,
      `  neighbor ${n.address} port ${n.port} as ${n.asn};`,
      '  multihop;',
      `  hold time ${n.holdTime ?? 90};`,
      `  keepalive time ${Math.max(1, Math.floor((n.holdTime ?? 90) / 3))};`,
      '  connect retry time 1;',
      '  error wait time 1, 2;',
      ...(n.passive ? ['  passive on;'] : []),
      ...(n.password !== undefined ? [`  password "${n.password}";`] : []),
      ...(n.gracefulRestartTime !== undefined ? ['  graceful restart on;', `  graceful restart time ${n.gracefulRestartTime};`] : ['  graceful restart off;']),
      `  ipv4 { import all; export where net ~ [ 10.0.0.0/8+ ]; next hop address ${o.nextHop ?? '192.0.2.2'}; };`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

class BirdProcess implements BirdDaemon {
  socketPath: string;
  readonly #daemon = new SupervisedDaemon('bird');

  constructor(readonly dir: string, private opts: BirdOptions) {
    this.socketPath = join(dir, 'bird.ctl');
  }

  get pid(): number | undefined {
    return this.#daemon.pid;
  }

  get #configPath(): string {
    return join(this.dir, 'bird.conf');
  }

  async reconfigure(o: Partial<BirdOptions>): Promise<void> {
    this.opts = { ...this.opts, ...o };
    await writeFile(this.#configPath, birdConfig(this.opts));
  }

  async start(o: { recovery?: boolean } = {}): Promise<void> {
    if (this.#daemon.running) return;
    await writeFile(this.#configPath, birdConfig(this.opts));
    const args = ['-f', '-c', this.#configPath, '-s', this.socketPath, '-P', join(this.dir, 'bird.pid'), ...(o.recovery ? ['-R'] : [])];
    await this.#daemon.start(BIRD_BINARY, args, () => this.birdc('show status'), `on ${this.socketPath}`);
  }

  async birdc(command: string): Promise<string> {
    const { stdout } = await execFileP(BIRDC_BINARY, ['-s', this.socketPath, ...command.split(' ')], { timeout: 10_000 });
    return stdout;
  }

  signal(sig: NodeJS.Signals): void {
    this.#daemon.signal(sig);
  }

  async kill(): Promise<void> {
    await this.#daemon.kill();
  }

  async cleanup(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function startBird(o: BirdOptions): Promise<BirdDaemon> {
  const dir = await mkdtemp(join(tmpdir(), `tabby-bird-${process.pid}-${counter++}-`));
  const b = new BirdProcess(dir, o);
  try {
    await b.start();
  } catch (e) {
    await b.cleanup();
    throw e;
  }
  return b;
}
