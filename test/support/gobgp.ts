/**
 * A real GoBGP (`/usr/bin/gobgpd`, inspected with `/usr/bin/gobgp`) for the BGP interop
 * tests: generated TOML config, gRPC API on 127.0.0.1:<free port>, its own temp dir, run
 * under `setpriv --pdeathsig SIGKILL`. gobgpd never touches kernel routes (no zebra).
 *
 *   const g = await startGobgp({ routerId, localAddress, localPort, asn, neighbors });
 *   await g.cli('global rib add 10.201.1.0/24 nexthop 192.0.2.3 -a ipv4');
 *   const n = await g.neighbor('127.0.0.1');   // parsed JSON of `gobgp neighbor <ip> -j`
 *   await g.cleanup();
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SupervisedDaemon, freeLoopbackPort } from './daemon.js';

const execFileP = promisify(execFile);
export const GOBGPD_BINARY = '/usr/bin/gobgpd';
export const GOBGP_BINARY = '/usr/bin/gobgp';

export interface GobgpNeighbor {
  address: string;
  port: number;
  asn: number;
  holdTime?: number;
  gracefulRestartTime?: number;
  passive?: boolean;
  /** TCP-MD5 password (`auth-password`). */
  password?: string;
}

export interface GobgpOptions {
  routerId: string;
  localAddress: string;
  localPort: number;
  asn: number;
  neighbors: GobgpNeighbor[];
}

export interface GobgpDaemon {
  dir: string;
  apiPort: number;
  readonly pid: number | undefined;
  /** Runs `gobgp -u 127.0.0.1 -p <apiPort> <args>` and returns stdout. */
  cli(args: string): Promise<string>;
  /** `gobgp neighbor <address> -j` parsed, or undefined when the API does not answer. */
  neighbor(address: string): Promise<GobgpNeighborState | undefined>;
  /** Prefixes in gobgpd's global RIB (IPv4). */
  ribPrefixes(): Promise<string[]>;
  /** (Re)starts gobgpd; `restarting` sets the R bit (-r) for a graceful restart. */
  start(opts?: { restarting?: boolean }): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  kill(): Promise<void>;
  cleanup(): Promise<void>;
}

/** The parts of gobgp's neighbor JSON the tests read. */
export interface GobgpNeighborState {
  state?: { session_state?: number | string; neighbor_address?: string };
  [k: string]: unknown;
}

let counter = 0;


export function gobgpConfig(o: GobgpOptions): string {
  const lines = [
    '[global.config]',
    `  as = ${o.asn}`,
    `  router-id = "${o.routerId}"`,
    `  port = ${o.localPort}`,
    `  local-address-list = ["${o.localAddress}"]`,
  ];
  for (const n of o.neighbors) {
    const hold = n.holdTime ?? 90;
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${n.address}"`,
      `    peer-as = ${n.asn}`,
      ...(n.password !== undefined ? [`    auth-password = "${n.password}"`] : []),
      '  [neighbors.transport.config]',
      `    remote-port = ${n.port}`,
      `    local-address = "${o.localAddress}"`,
      `    passive-mode = ${n.passive ? 'true' : 'false'}`,
      '  [neighbors.timers.config]',
      `    hold-time = ${hold}`,
      `    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}`,
      '    connect-retry = 1',
      '  [neighbors.ebgp-multihop.config]',
      '    enabled = true',
      '    multihop-ttl = 8',
    );
    if (n.gracefulRestartTime !== undefined) {
      lines.push('  [neighbors.graceful-restart.config]', '    enabled = true', `    restart-time = ${n.gracefulRestartTime}`);
    }
    lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', '      afi-safi-name = "ipv4-unicast"');
    if (n.gracefulRestartTime !== undefined) lines.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
  }
  return `${lines.join('\n')}\n`;
}

class GobgpProcess implements GobgpDaemon {
  readonly #daemon = new SupervisedDaemon('gobgpd');

  constructor(readonly dir: string, readonly apiPort: number, private readonly opts: GobgpOptions) {}

  get pid(): number | undefined {
    return this.#daemon.pid;
  }

  async start(o: { restarting?: boolean } = {}): Promise<void> {
    if (this.#daemon.running) return;
    const conf = join(this.dir, 'gobgpd.toml');
    await writeFile(conf, gobgpConfig(this.opts));
    const args = ['-f', conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${this.apiPort}`, '--pprof-disable', '-l', 'warn', ...(o.restarting ? ['-r'] : [])];
    await this.#daemon.start(GOBGPD_BINARY, args, () => this.cli('global'), `on API port ${this.apiPort}`);
  }

  async cli(args: string): Promise<string> {
    const { stdout } = await execFileP(GOBGP_BINARY, ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args.split(' ')], { timeout: 10_000 });
    return stdout;
  }

  async neighbor(address: string): Promise<GobgpNeighborState | undefined> {
    try {
      return JSON.parse(await this.cli(`neighbor ${address} -j`)) as GobgpNeighborState;
    } catch {
      return undefined;
    }
  }

  async ribPrefixes(): Promise<string[]> {
    const out = JSON.parse(await this.cli('global rib -a ipv4 -j')) as Record<string, unknown>;
    return Object.keys(out).sort();
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

export async function startGobgp(o: GobgpOptions): Promise<GobgpDaemon> {
  const dir = await mkdtemp(join(tmpdir(), `tabby-gobgp-${process.pid}-${counter++}-`));
  const g = new GobgpProcess(dir, await freeLoopbackPort(), o);
  try {
    await g.start();
  } catch (e) {
    await g.cleanup();
    throw e;
  }
  return g;
}
