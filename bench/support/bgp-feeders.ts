/**
 * What the BGP benchmarks share: the prefixes they feed, the daemons that feed or receive
 * them (BIRD 2, gobgpd), the MRT table dump gobgpd is pre-loaded from, the pre-encoded table
 * of the replay feeder, and /proc readings of a receiving process (CPU, RSS).
 *
 * Also two instruments for feeders: a persistent BIRD control connection (commands without
 * spawning birdc, and the wake-up that works around BIRD 2.0's stalled export, see
 * `BirdControl`) and a /proc watch of TCP connections that dates a session's start the same
 * way for every feeder (`TcpEstablishedWatch`).
 *
 * Daemons run under `setpriv --pdeathsig SIGKILL` so they die with the benchmark; `wrap`
 * (e.g. `['ip', 'netns', 'exec', ns]`) runs one inside a network namespace. `ip netns exec`
 * execs the daemon, so the child's pid is the daemon's own (what /proc readings need).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packUpdates } from '../../src/bgp/session/update-packer.js';
import { MessageReader, MessageType, encodeMessage, endOfRib, type PathAttributes, type Prefix } from '../../src/bgp/wire/index.js';

const execFileP = promisify(execFile);
export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';
export const GOBGPD = '/usr/bin/gobgpd';
export const GOBGP = '/usr/bin/gobgp';

/** The i-th /28 under 10.0.0.0/8 (16 per /24, 4096 per /16, up to 2^20) as its address number. */
export const prefixAddress = (i: number): number => ((10 << 24) | (i << 4)) >>> 0;
export const dotted = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, ms: number, ok: () => Promise<boolean>, pollMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** A daemon run under `setpriv --pdeathsig SIGKILL` so it dies with us. */
export function spawnDaemon(argv: string[], opts: { stdin?: boolean } = {}): { child: ChildProcess; stderr: () => string } {
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', ...argv], { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return { child, stderr: () => err };
}

/** A feeder child (a benchmark file run with its feeder flag): spawnDaemon, resolved once it prints "ready". */
export async function startReadyChild(argv: string[], what: string): Promise<ChildProcess> {
  const { child, stderr } = spawnDaemon(argv);
  child.stdout?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`${what} exited: ${stderr()}`)));
  });
  return child;
}

export async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface Bird {
  child: ChildProcess;
  birdc(cmd: string): Promise<string>;
  /** The control socket's path (for `BirdControl`). */
  socket: string;
}

/** BIRD 2 with `config`, files in `dir` named after `name`; resolves once birdc answers. */
export async function startBird(dir: string, name: string, config: string, wrap: string[] = []): Promise<Bird> {
  const conf = join(dir, `${name}.conf`);
  const sock = join(dir, `${name}.ctl`);
  await writeFile(conf, config);
  const { child, stderr } = spawnDaemon([...wrap, BIRD, '-f', '-c', conf, '-s', sock, '-P', join(dir, `${name}.pid`)]);
  // The control socket is a path, reachable from any namespace.
  const birdc = async (cmd: string): Promise<string> => (await execFileP(BIRDC, ['-s', sock, ...cmd.split(' ')], { timeout: 30_000, maxBuffer: 1 << 20 })).stdout;
  await waitFor(`${name} BIRD to come up`, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`${name} BIRD exited: ${stderr()}`);
    return (await birdc('show status').catch(() => '')).includes('Daemon is up');
  });
  return { child, birdc, socket: sock };
}

/**
 * One long-lived connection to BIRD's control socket: commands cost BIRD a line of text and
 * us no process spawn, so they can be sent every few ms.
 *
 * It also keeps a feeding BIRD 2.0 from stalling. Seen with BIRD 2.0.12 feeding 100,000
 * routes over one session (bench/bgp-program.bench.ts's topology, either receiver): in 10
 * of 11 rounds 99,840 routes (390 export steps of 256) arrived within 0.65 s and the last
 * 160 with End-of-RIB only ~3.1 s after Established. During the stall the feeder's socket
 * was idle and fully acknowledged, `show protocols all` counted all 100,000 exported, and
 * any control command ended it at once: the routes sat in BGP's buckets with the transmit
 * event pending while the main loop slept in poll(), which it does for up to 3 s (or until
 * its next timer) when it believes no event is queued. Our reading of BIRD 2.0's loop: the
 * feed runs on the work list, after the event list has been looked at, so the transmit
 * event its last step schedules is not seen until something wakes the loop. No option of
 * the feeder's configuration changes that; a wake-up does. `wakeEvery(ms)` sends `show
 * status` at that period (when no command is in flight), so a stall lasts at most one
 * period: 0 stalls in 36 rounds with a 5 ms period.
 */
export class BirdControl {
  readonly #sock: Socket;
  #buffer = '';
  #lines: string[] = [];
  #waiting: { resolve: (reply: string) => void; reject: (err: Error) => void } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.#onData(chunk));
    sock.on('error', (err) => this.#fail(err));
    sock.on('close', () => this.#fail(new Error('BIRD control socket closed')));
  }

  /** Connects and reads BIRD's greeting (`0001 BIRD x.y ready.`). */
  static async open(path: string): Promise<BirdControl> {
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const ctl = new BirdControl(sock);
    const greeting = await ctl.#reply();
    if (!/^0001 /m.test(greeting)) throw new Error(`BIRD control: unexpected greeting '${greeting.trim()}'`);
    return ctl;
  }

  /** Runs one command; resolves with the reply's lines (codes kept), commands run one at a time. */
  command(cmd: string): Promise<string> {
    const run = this.#queue.then(async () => {
      this.#busy++;
      try {
        this.#sock.write(`${cmd}\n`);
        return await this.#reply();
      } finally {
        this.#busy--;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Sends `show status` every `ms` while no command is in flight; 0 stops. */
  wakeEvery(ms: number): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (ms <= 0) return;
    this.#timer = setInterval(() => {
      if (this.#busy === 0 && !this.#closed) this.command('show status').catch(() => {});
    }, ms);
  }

  close(): void {
    this.wakeEvery(0);
    this.#closed = true;
    this.#sock.destroy();
  }

  /** A reply ends with a line of four digits and a space (continuations use '-' or a leading space). */
  #reply(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#drain();
    });
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      this.#lines.push(this.#buffer.slice(0, nl));
      this.#buffer = this.#buffer.slice(nl + 1);
    }
    this.#drain();
  }

  #drain(): void {
    if (!this.#waiting) return;
    const end = this.#lines.findIndex((l) => /^\d{4} /.test(l));
    if (end < 0) return;
    const reply = this.#lines.splice(0, end + 1).join('\n');
    const w = this.#waiting;
    this.#waiting = undefined;
    w.resolve(reply);
  }

  #fail(err: Error): void {
    clearInterval(this.#timer);
    this.#closed = true;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(err);
  }
}

/** One IPv4 TCP connection as /proc/<pid>/net/tcp prints it. */
export interface TcpConnection {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  /** The kernel's state number: 1 is ESTABLISHED. */
  state: number;
  inode: number;
}

const TCP_ESTABLISHED = 1;

/** /proc's hex IPv4 address is the 32-bit word as it sits in memory (little-endian on the machines we run on). */
function procAddress(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${n >>> 24}`;
}

/** Parses /proc/<pid>/net/tcp (the sockets of the network namespace `pid` is in). */
export function parseProcTcp(text: string): TcpConnection[] {
  const out: TcpConnection[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = (f[1] as string).split(':');
    const [ra, rp] = (f[2] as string).split(':');
    out.push({ local: procAddress(la as string), localPort: Number.parseInt(lp as string, 16), remote: procAddress(ra as string), remotePort: Number.parseInt(rp as string, 16), state: Number.parseInt(f[3] as string, 16), inode: Number(f[9]) });
  }
  return out;
}

/** When a connection became ESTABLISHED: after `after` and before `before` (hrtime ns). */
export interface FirstSeen {
  after: bigint;
  before: bigint;
}

/** A moment known to lie in [after, before] (hrtime ns): its middle, and half the width in ms. */
export interface Dated {
  at: bigint;
  boundMs: number;
}

export function midpoint(after: bigint, before: bigint): Dated {
  return { at: (after + before) / 2n, boundMs: Number(before - after) / 2e6 };
}

/** tx_bytes of one interface in /proc/<pid>/net/dev (the network namespace `pid` is in); NaN if absent. */
export function txBytes(text: string, ifName: string): number {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== ifName) continue;
    // receive: bytes packets errs drop fifo frame compressed multicast, then transmit: bytes ...
    const f = line.slice(colon + 1).trim().split(/\s+/);
    return Number(f[8]);
  }
  return NaN;
}

/**
 * Dates when a feeder began sending its table: the moment the interface towards the
 * receiver (in the feeder's namespace) has sent `threshold` bytes more than when the watch
 * began. A session's set-up is a few hundred bytes (OPEN, KEEPALIVE, ACKs); the table's first
 * write is UPDATEs of up to 4 KiB each, so 4 KiB is past the set-up and within the first
 * writes. Like TcpEstablishedWatch it reads a /proc file (/proc/<pid>/net/dev, a few lines)
 * every `everyMs` and asks nothing of either speaker, so both receivers are timed alike;
 * the result is the middle of [start of the read before, end of the read that saw it].
 * Needed because gobgpd waits 1-4 s after the session is up before it sends anything (its
 * own work on a 100,000-route table, the same for either receiver): from the session start
 * that wait would swamp the receivers' own times.
 */
export class FeedStartWatch {
  readonly #base: number;
  #at: Dated | undefined;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(
    private readonly pid: number,
    private readonly ifName: string,
    private readonly threshold = 4096,
    private readonly everyMs = 1,
    private readonly clock: () => bigint = () => process.hrtime.bigint(),
  ) {
    this.#base = this.#read();
    if (Number.isNaN(this.#base)) throw new Error(`no interface ${ifName} in /proc/${pid}/net/dev`);
    this.#done = this.#run();
  }

  /** When the feed started (undefined until seen), and half the width of its interval. */
  get start(): Dated | undefined {
    return this.#at;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }

  #read(): number {
    return txBytes(readFileSync(`/proc/${this.pid}/net/dev`, 'utf8'), this.ifName);
  }

  async #run(): Promise<void> {
    let last = this.clock();
    while (!this.#stopped && !this.#at) {
      const start = this.clock();
      const sent = this.#read() - this.#base;
      const end = this.clock();
      if (sent >= this.threshold) this.#at = midpoint(last, end);
      last = start;
      await sleep(this.everyMs);
    }
  }
}

/**
 * Dates the ESTABLISHED TCP connections between two addresses (dialled by either side) in
 * the network namespace of `pid` from /proc/<pid>/net/tcp: the kernel prints its socket table, no process is spawned
 * and nothing is asked of either BGP speaker, so every feeder and receiver is timed the
 * same way. A connection first seen by a read became ESTABLISHED after the start of the
 * read before it and before the end of this one; that interval is its `firstSeen`.
 *
 * A read walks the kernel's whole established-socket hash (shared by all namespaces,
 * 262,144 buckets here): about 2 ms of kernel time whatever the namespace holds. So the
 * watch reads back to back (1 ms apart) only while no watched connection is up, and every
 * `slowMs` while one is (the session's, carrying routes: the receiver needs the cores).
 * A dial that is accepted and reset (gobgpd resets the receiver's dials until its own
 * neighbor is up) is gone within a read or two, and the watch is fast again for the next.
 * A connection that comes up while another is still up is dated coarsely; its interval
 * says how coarsely.
 */
export class TcpEstablishedWatch {
  readonly #seen = new Map<string, FirstSeen>();
  #stopped = false;
  #lastStart: bigint | undefined;
  readonly #done: Promise<void>;

  constructor(
    private readonly pid: number,
    private readonly a: string,
    private readonly b: string,
    private readonly clock: () => bigint = () => process.hrtime.bigint(),
    private readonly fastMs = 1,
    private readonly slowMs = 50,
  ) {
    this.#done = this.#run();
  }

  /**
   * The watched ESTABLISHED connections now (one read). Synchronous on
   * purpose: no thread pool or event loop turn between the clock readings and the read.
   */
  established(): TcpConnection[] {
    let text = '';
    try {
      text = readFileSync(`/proc/${this.pid}/net/tcp`, 'utf8');
    } catch {
      // The namespace's last process is gone: nothing is established.
    }
    return parseProcTcp(text).filter((c) => c.state === TCP_ESTABLISHED && ((c.local === this.a && c.remote === this.b) || (c.local === this.b && c.remote === this.a)));
  }

  /** The first-seen interval of a connection (undefined if the watch has not seen it). */
  firstSeen(c: TcpConnection): FirstSeen | undefined {
    return this.#seen.get(TcpEstablishedWatch.key(c));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }

  static key(c: TcpConnection): string {
    return `${c.local}:${c.localPort}-${c.remote}:${c.remotePort}-${c.inode}`;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const start = this.clock();
      const conns = this.established();
      const end = this.clock();
      for (const c of conns) {
        const k = TcpEstablishedWatch.key(c);
        // What the very first read sees was there before the watch began: no lower bound.
        if (!this.#seen.has(k)) this.#seen.set(k, { after: this.#lastStart ?? 0n, before: end });
      }
      this.#lastStart = start;
      await sleep(conns.length > 0 ? this.slowMs : this.fastMs);
    }
  }
}

/** BIRD's `show memory` lines, in bytes. */
export async function birdMemory(b: Bird): Promise<Record<string, number>> {
  const out = await b.birdc('show memory');
  const unit: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
  const res: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^\s*([A-Za-z ]+):\s+([\d.]+)\s+(B|kB|MB|GB)/.exec(line);
    if (m) res[(m[1] as string).trim()] = Number(m[2]) * (unit[m[3] as string] ?? 1);
  }
  return res;
}

/** Routes a BIRD protocol has imported: a counter BIRD keeps, so polling it costs BIRD next to nothing. */
export async function birdRouteCount(r: Bird, protocol: string): Promise<number> {
  const out = await r.birdc(`show protocols all ${protocol}`);
  const m = /Routes:\s+(\d+) imported/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** utime + stime of a process (all its threads), in seconds (USER_HZ is 100 on Linux). */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process (VmRSS), in bytes. */
export async function processRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** What a feed carries: N /28s from `prefixAddress`, originated by `feederAs`. */
export interface FeedSpec {
  prefixes: number;
  feederAs: number;
  nextHop: string;
}

/**
 * An MRT TABLE_DUMP_V2 file (RFC 6396 §4.3) with the N prefixes: a PEER_INDEX_TABLE with
 * one peer, then one RIB_IPV4_UNICAST record per prefix carrying ORIGIN IGP, an empty
 * AS_PATH (gobgpd prepends its AS towards eBGP peers, as the BIRD feeder does) and NEXT_HOP.
 */
const MRT_TAIL = 8192;

export function mrtTableDump(feed: FeedSpec): Buffer {
  const N = feed.prefixes;
  const record = (subtype: number, body: Buffer): Buffer => {
    const h = Buffer.alloc(12);
    h.writeUInt32BE(0, 0); // timestamp
    h.writeUInt16BE(13, 4); // TABLE_DUMP_V2
    h.writeUInt16BE(subtype, 6);
    h.writeUInt32BE(body.length, 8);
    return Buffer.concat([h, body]);
  };
  const peerIndex = Buffer.alloc(4 + 2 + 2 + 1 + 4 + 4 + 4);
  let o = peerIndex.writeUInt32BE(0x0aff0004, 0); // collector BGP ID
  o = peerIndex.writeUInt16BE(0, o); // no view name
  o = peerIndex.writeUInt16BE(1, o); // one peer
  o = peerIndex.writeUInt8(0x02, o); // IPv4 address, 4-octet AS
  o = peerIndex.writeUInt32BE(0x0aff0004, o);
  o = peerIndex.writeUInt32BE(0xc0000202, o);
  peerIndex.writeUInt32BE(feed.feederAs, o);
  const nh = feed.nextHop.split('.').map(Number);
  const attrs = Buffer.from([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, ...nh]);
  const parts = [record(1, peerIndex)];
  // `gobgp mrt inject` can exit with its last queued records unsent; a tail repeating the
  // first records (same routes again, harmless) is what gets lost instead.
  for (let j = 0; j < N + Math.min(N, MRT_TAIL); j++) {
    const i = j % N;
    const body = Buffer.alloc(4 + 1 + 4 + 2 + 2 + 4 + 2 + attrs.length);
    let p = body.writeUInt32BE(i, 0); // sequence number
    p = body.writeUInt8(28, p);
    p = body.writeUInt32BE(prefixAddress(i), p);
    p = body.writeUInt16BE(1, p); // one RIB entry
    p = body.writeUInt16BE(0, p); // peer index
    p = body.writeUInt32BE(0, p); // originated time
    p = body.writeUInt16BE(attrs.length, p);
    attrs.copy(body, p);
    parts.push(record(2, body));
  }
  return Buffer.concat(parts);
}

export interface Gobgp {
  child: ChildProcess;
  cli(args: string[]): Promise<string>;
}

/**
 * gobgpd with `config` (TOML), its API on `api` (`host:port` or `unix:///path`), the feed
 * injected from an MRT dump; resolves once its RIB holds every prefix. `wrap` runs the
 * daemon (not the CLI: it reaches the API from here) inside a namespace.
 */
export async function startGobgpd(dir: string, config: string, api: string, feed: FeedSpec, wrap: string[] = []): Promise<Gobgp> {
  const N = feed.prefixes;
  const conf = join(dir, 'gobgpd.toml');
  await writeFile(conf, config);
  const { child, stderr } = spawnDaemon([...wrap, GOBGPD, '-f', conf, '-t', 'toml', '--api-hosts', api, '--pprof-disable', '-l', 'warn']);
  const target = api.startsWith('unix://') ? ['--target', api] : ['-u', api.slice(0, api.lastIndexOf(':')), '-p', api.slice(api.lastIndexOf(':') + 1)];
  const cli = async (args: string[]): Promise<string> => (await execFileP(GOBGP, [...target, ...args], { timeout: 120_000, maxBuffer: 1 << 20 })).stdout;
  await waitFor('gobgpd to come up', 30_000, async () => {
    if (child.exitCode !== null) throw new Error(`gobgpd exited: ${stderr()}`);
    return (await cli(['global']).catch(() => '')).includes('AS');
  });
  const mrt = join(dir, 'feed.mrt');
  await writeFile(mrt, mrtTableDump(feed));
  const held = async (): Promise<boolean> => new RegExp(`Destination: ${N}\\b`).test(await cli(['global', 'rib', 'summary', '-a', 'ipv4']).catch(() => ''));
  for (let attempt = 1; ; attempt++) {
    await cli(['mrt', 'inject', 'global', mrt]);
    try {
      await waitFor(`gobgpd to hold ${N} routes`, 10_000, held);
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  return { child, cli };
}

/** The replay feeder's messages: its OPEN, a KEEPALIVE, and the whole table plus End-of-RIB. */
export interface ReplayMessages {
  open: Buffer;
  keepalive: Buffer;
  table: Buffer;
}

/** The table pre-encoded as 4096-byte UPDATEs (the way BIRD and GoBGP pack them) plus End-of-RIB. */
export function encodeReplay(feed: FeedSpec, bgpId: string): ReplayMessages {
  const attributes: PathAttributes = { origin: 'igp', asPath: [{ type: 'sequence', asns: [feed.feederAs] }], nextHop: feed.nextHop };
  const prefixes: Prefix[] = [];
  for (let i = 0; i < feed.prefixes; i++) prefixes.push({ prefix: dotted(prefixAddress(i)), length: 28 });
  const ctx = { fourOctetAs: true };
  const table = Buffer.concat([...packUpdates({ announce: prefixes.map((prefix) => ({ prefix, attributes })), withdraw: [] }, ctx), endOfRib(1, 1)].map((m) => encodeMessage(m, ctx)));
  const open = encodeMessage({ type: 'open', version: 4, myAs: feed.feederAs, holdTime: 90, bgpId, capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: feed.feederAs }] }, { fourOctetAs: false });
  return { open, keepalive: encodeMessage({ type: 'keepalive' }, ctx), table };
}

/**
 * One replay session on a connected socket (accepted or dialled): a minimal BGP speaker that
 * answers OPEN with KEEPALIVE and, once the session is up, writes the whole table in one go.
 * Nothing on the sending side can be slower than the receiver.
 */
export function serveReplay(sock: Socket, m: ReplayMessages, onEstablished: () => void = () => {}): void {
  const reader = new MessageReader();
  let state: 'open-sent' | 'open-confirm' | 'established' = 'open-sent';
  let timer: NodeJS.Timeout | undefined;
  sock.on('error', () => {});
  sock.on('close', () => clearInterval(timer));
  sock.write(m.open);
  sock.on('data', (chunk: Buffer) => {
    const { frames, error } = reader.push(chunk);
    if (error) return void sock.destroy();
    for (const f of frames) {
      const type = f[18];
      if (type === MessageType.Open && state === 'open-sent') {
        state = 'open-confirm';
        sock.write(m.keepalive);
      } else if (type === MessageType.Keepalive && state === 'open-confirm') {
        state = 'established';
        onEstablished();
        sock.write(m.table);
        timer = setInterval(() => sock.write(m.keepalive), 30_000);
      } else if (type === MessageType.Notification) {
        sock.destroy();
      }
    }
  });
}
