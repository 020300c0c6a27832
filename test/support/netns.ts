/**
 * Network namespaces and veth pairs for root tests, made with the `ip` tool (tests may shell
 * out; the agent never does). Every name starts with `tby<pid>` so that
 *   - two test processes never collide,
 *   - a crashed run's leftovers are recognised and swept (their pid is no longer alive, or
 *     is ours again), by sweepStaleNetns() at the start of every NetnsLab,
 *   - cleanup() removes exactly what this process made, even after a failed test.
 *
 * Use one NetnsLab per describe block: create it in beforeAll, call cleanup() in afterAll
 * (and/or afterEach). Names stay within the kernel's 15-byte interface name limit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';

const PREFIX = 'tby';
const NAME_RE = /^tby(\d+)[nv]/;

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (argv, no shell) and returns its output; never throws on a non-zero exit. */
export function run(argv: readonly string[], opts: { netns?: string; timeoutMs?: number } = {}): RunResult {
  const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
  if (cmd === undefined) throw new Error('run: empty command');
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000 });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command and returns stdout; throws with its stderr when it fails. */
export function mustRun(argv: readonly string[], opts: { netns?: string; timeoutMs?: number } = {}): string {
  const r = run(argv, opts);
  if (r.status !== 0) {
    throw new Error(`${opts.netns ? `[netns ${opts.netns}] ` : ''}${argv.join(' ')} exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** Names made by this process so far; anything else with our pid is a dead process's leftover. */
const ours = new Set<string>();
let counter = 0;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(name: string): boolean {
  const m = NAME_RE.exec(name);
  if (m === null || ours.has(name)) return false;
  const pid = Number(m[1]);
  // Our own pid on a name we did not make: a crashed process had this pid before us.
  return pid === process.pid || !pidAlive(pid);
}

/** Removes namespaces and host links named tby<pid>… whose process is gone. */
export function sweepStaleNetns(): string[] {
  const removed: string[] = [];
  const nsDir = '/run/netns';
  if (existsSync(nsDir)) {
    for (const ns of readdirSync(nsDir)) {
      if (isStale(ns) && run(['ip', 'netns', 'del', ns]).status === 0) removed.push(ns);
    }
  }
  for (const link of hostLinks()) {
    if (isStale(link) && run(['ip', 'link', 'del', link]).status === 0) removed.push(link);
  }
  return removed;
}

function hostLinks(): string[] {
  const out = run(['ip', '-o', 'link', 'show']).stdout;
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m?.[1]?.startsWith(PREFIX)) names.push(m[1]);
  }
  return names;
}

export interface Netns {
  name: string;
  /** /run/netns/<name>: what the native calls take as { netns }. */
  path: string;
}

export interface VethEnd {
  name: string;
  /** Namespace name, or undefined for the host namespace. */
  netns?: string;
  /** CIDR address set on it, if any. */
  address?: string;
}

export class NetnsLab {
  readonly prefix = `${PREFIX}${process.pid}`;
  readonly #namespaces: string[] = [];
  readonly #hostLinks: string[] = [];

  constructor() {
    sweepStaleNetns();
  }

  #next(): number {
    counter += 1;
    return counter;
  }

  /** A new, empty namespace with its loopback up. */
  netns(): Netns {
    const name = `${this.prefix}n${this.#next()}`;
    ours.add(name);
    mustRun(['ip', 'netns', 'add', name]);
    this.#namespaces.push(name);
    mustRun(['ip', 'link', 'set', 'lo', 'up'], { netns: name });
    return { name, path: `/run/netns/${name}` };
  }

  /**
   * A veth pair; each end moved into its namespace (or left on the host), given its address
   * and set up. IPv6 is off on both ends so that only the test's own traffic crosses.
   */
  veth(a: { netns?: Netns; address?: string }, b: { netns?: Netns; address?: string }): [VethEnd, VethEnd] {
    const n = this.#next();
    const ends: [VethEnd, VethEnd] = [
      { name: `${this.prefix}v${n}a`, ...(a.netns ? { netns: a.netns.name } : {}), ...(a.address ? { address: a.address } : {}) },
      { name: `${this.prefix}v${n}b`, ...(b.netns ? { netns: b.netns.name } : {}), ...(b.address ? { address: b.address } : {}) },
    ];
    ours.add(ends[0].name);
    ours.add(ends[1].name);
    mustRun(['ip', 'link', 'add', ends[0].name, 'type', 'veth', 'peer', 'name', ends[1].name]);
    for (const end of ends) {
      if (end.netns) mustRun(['ip', 'link', 'set', end.name, 'netns', end.netns]);
      else this.#hostLinks.push(end.name);
    }
    for (const end of ends) {
      const ns = end.netns ? { netns: end.netns } : {};
      run(['sysctl', '-qw', `net.ipv6.conf.${end.name}.disable_ipv6=1`], ns);
      if (end.address) mustRun(['ip', 'addr', 'add', end.address, 'dev', end.name], ns);
      mustRun(['ip', 'link', 'set', end.name, 'up'], ns);
    }
    return ends;
  }

  /** Runs argv inside the namespace (ip netns exec); returns the result without throwing. */
  exec(ns: Netns, argv: readonly string[], timeoutMs?: number): RunResult {
    return run(argv, { netns: ns.name, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  }

  /** The interface's index as `ip` sees it in its namespace. */
  ifindexOf(end: VethEnd): number {
    const out = mustRun(['ip', '-o', 'link', 'show', 'dev', end.name], end.netns ? { netns: end.netns } : {});
    const m = /^(\d+):/.exec(out);
    if (!m?.[1]) throw new Error(`cannot read the ifindex of ${end.name} from: ${out}`);
    return Number(m[1]);
  }

  /** Deletes every namespace and host link this lab made; safe to call more than once. */
  cleanup(): void {
    const failures: string[] = [];
    for (const link of this.#hostLinks.splice(0)) {
      const r = run(['ip', 'link', 'del', link]);
      if (r.status !== 0 && !/Cannot find device/.test(r.stderr)) failures.push(`${link}: ${r.stderr.trim()}`);
    }
    for (const ns of this.#namespaces.splice(0).reverse()) {
      const r = run(['ip', 'netns', 'del', ns]);
      if (r.status !== 0 && !/No such file/.test(r.stderr)) failures.push(`${ns}: ${r.stderr.trim()}`);
    }
    if (failures.length > 0) throw new Error(`netns cleanup left things behind: ${failures.join('; ')}`);
  }

  /** Names of namespaces of this process that still exist (for tests of the cleanup itself). */
  leftovers(): string[] {
    const nsDir = '/run/netns';
    const ns = existsSync(nsDir) ? readdirSync(nsDir).filter((n) => n.startsWith(this.prefix)) : [];
    return [...ns, ...hostLinks().filter((l) => l.startsWith(this.prefix))];
  }
}

/** The network namespace the calling (JS) thread is in, as the kernel names it ("net:[4026531840]"). */
export function currentNetns(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}
