/**
 * What the BGP benchmarks share: the prefixes they feed, the daemons that feed or receive
 * them (BIRD 2, gobgpd), the MRT table dump gobgpd is pre-loaded from, the pre-encoded table
 * of the replay feeder, and /proc readings of a receiving process (CPU, RSS).
 *
 * Daemons run under `setpriv --pdeathsig SIGKILL` so they die with the benchmark; `wrap`
 * (e.g. `['ip', 'netns', 'exec', ns]`) runs one inside a network namespace. `ip netns exec`
 * execs the daemon, so the child's pid is the daemon's own (what /proc readings need).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
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
  return { child, birdc };
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
