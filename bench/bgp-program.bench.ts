/**
 * BGP receive-and-program benchmark: how long the real agent (`tabby agent`, legacy
 * dataplane) takes from a feeder's session coming up to every learned prefix being a route
 * in its namespace's kernel FIB, next to BIRD 2 (BGP import all + a `kernel` protocol
 * exporting all) taking in the same feed and programming the same kernel FIB, on the same
 * machine in the same run. Target (issue #5): no slower than BIRD.
 *
 *   node --import tsx bench/bgp-program.bench.ts [--prefixes 100000] [--rounds 5]
 *        [--round-timeout 600] [--feeds bird,gobgp,replay]
 *
 *   --prefixes N       /28s under 10.0.0.0/8 each feeder announces (2000 for a smoke run)
 *   --rounds R         rounds per receiver and feeder, receivers alternating (>= 1; 5 take
 *                      about 3 minutes with all three feeders)
 *   --round-timeout S  a round that has not programmed every route after S seconds is
 *                      reported as "did not finish in S s" (with how far it got)
 *   --feeds LIST       which feeders to run, in order (default all three)
 *
 * Topology (all names pid-based via test/support/netns.ts, removed in `finally`, on a
 * signal and when our output's reader goes away; support/interrupt.ts): three network
 * namespaces, feeder, tabby and bird, and two veth pairs,
 * feeder<->tabby on 192.168.201.0/29 and feeder<->bird on 192.168.202.0/29 (addresses only
 * inside our own namespaces). The feeder end of each link has three addresses, one per
 * feeder (.1 BIRD, .2 gobgpd, .3 replay); the receiver is .6. Every feeder announces its own
 * address as NEXT_HOP (eBGP, next hop self), directly connected in the receiver's namespace,
 * so the kernel accepts every route.
 *
 * - **tabby**: etcd in the tabby namespace on 127.0.0.1, a BGPConfiguration (mesh off, AS
 *   64512), an IPPool (172.31.0.0/16, so every learned /28 is outside the pools and becomes
 *   a `bgp` route: a kernel route with protocol 85, tabby-bgp via the feeder) and one BGPPeer per feeder
 *   (`node: <this node>`), then `node dist/cli/main.js agent --dataplane legacy`, started once
 *   and waited for (/readyz) before the rounds. Run `npm run build:ts` first: the bench runs
 *   dist/ and says so when dist/ is older than src/.
 * - **BIRD**: one `protocol bgp` per feeder (import all) and `protocol kernel` (export all,
 *   learn off, scan time 3600).
 *
 * Feeders, all in the feeder namespace; each starts the session itself, the same way for
 * both receivers. The receiving BIRD is passive; the agent has no passive BGPPeer, but its
 * connections to a shut feeder are refused and back off, so the feeder's dial is what
 * starts its session too (connection collisions would cost a reconnect inside the round):
 * - **BIRD feeder** (paced): N static routes, one disabled BGP protocol per receiver; a round
 *   runs `enable`, the end of it `disable` (Cease: every route withdrawn), over one
 *   persistent control connection. During the round that connection sends `show status`
 *   every 5 ms: BIRD 2.0 otherwise holds its last 160 routes for ~2.5 s in most rounds
 *   (its main loop sleeps with the transmit event pending; see `BirdControl` in
 *   support/bgp-feeders.ts), which made the feeder bimodal (0.6 s or 3.1 s).
 * - **gobgpd feeder** (pre-loaded from an MRT dump, API on a unix socket): neighbors start
 *   admin-down; `gobgp neighbor <addr> enable` / `disable`. Once enabled, gobgpd also
 *   accepts the agent's own dial (before that it resets it), so towards the agent the
 *   session may run on either side's connection. gobgpd waits after Established before
 *   its first UPDATE (first route 0.6-5 s after the session's start, for either receiver,
 *   where the OPEN exchange took ~13 ms): its transfer times include that wait, so read
 *   this feeder's ratio with the per-round first-route times next to it.
 * - **Replay feeder** (wire speed): a child process (this file with --replay-feeder) that, when
 *   told, dials the receiver and writes the whole pre-encoded table at once; told to close,
 *   sends Cease and closes.
 *
 * Done = the receiver namespace's FIB holds base + N prefixes. The probe reads
 * /proc/<receiver pid>/net/fib_triestat (the kernel walks its trie and prints counts: no
 * netlink dump, no text per route, nothing asked of either receiver) and takes the Main
 * table's "Prefixes"; base is that count before the round. A read is O(routes) of kernel
 * time (about 1-2 ms at 20k routes, 7-17 ms at 100k on a busy 2-core machine), taken from the
 * cores the receiver and feeder run on, so the period is 20 ms or 4x the last read's cost,
 * whichever is longer (the probe then takes at most a fifth of one core). The last routes
 * arrived between the start of the read before the one that saw them all and the end of
 * that one: done is the middle of that interval and "± poll ms" half its width (the end of
 * the read would be late by up to the whole width). The same probe and rule apply to both
 * receivers. Between rounds the feeder shuts the session and the same probe waits for the
 * count to fall back to base: that is the withdraw time.
 *
 * Times: "transfer" from the feed's start to done; the ratio uses the best round, the
 * median ratio is printed next to it. The feed starts when the feeder's end of the link to
 * the receiver has sent 4 KiB past the session set-up (FeedStartWatch: /proc/<feeder
 * pid>/net/dev read every 1 ms; the ± is printed per round): the first UPDATEs of the
 * table. For BIRD and the replay child that is within milliseconds of the session start;
 * gobgpd first works on its table for 1-4 s after the session is up (for either receiver),
 * which the session start would have counted as the receivers' time. The session start is
 * still measured and printed (how long the feeder waited). It is the moment its TCP connection
 * between feeder and receiver became ESTABLISHED, read from the feeder namespace's
 * /proc/<feeder pid>/net/tcp (TcpEstablishedWatch: no process spawned, nothing asked of
 * either speaker, the same for every feeder and receiver), then confirmed as the BGP
 * session by the feeder itself (`show protocols`, `gobgp neighbor`, the replay child's
 * message) without using the confirmation's time: `gobgp neighbor` takes 100-300 ms when
 * the receiver keeps both cores busy, which used to shorten gobgpd transfers by that much.
 * A read of /proc/net/tcp costs ~2 ms (it walks the kernel's whole socket hash), so reads
 * are 1 ms apart while no connection is up and 50 ms apart while one is; the start is the
 * middle of the interval between the read before the first that saw the connection and the
 * end of that one, and half that interval is printed per round as "±ms" (2-7 ms measured;
 * wider when a connection came up while another was still up). The OPEN/KEEPALIVE exchange
 * that follows is inside the transfer for both receivers: the replay child's own
 * Established timestamp puts it at -3..+5 ms (within the ± bound) for BIRD and the agent,
 * 34-38 ms for the agent in some rounds (its event loop busy when the OPEN arrived).
 * "total" from the feeder's start command (connection set-up included); "first route" from
 * the feed's start to the first FIB read that saw one of the feed's routes.
 * CPU s: utime+stime deltas of the receiving process from /proc/<pid>/stat (10 ms ticks).
 * Memory: VmRSS at done minus VmRSS of the idle receiver before its first round, per prefix
 * (first round of each feeder); BIRD's `show memory` tables + attributes too.
 * TABBY_BENCH_AGENT_FLAGS: extra node flags for the agent, space-separated (NODE_OPTIONS
 * refuses some, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the agent's rounds).
 * TABBY_BENCH_AGENT_ARGS: extra agent flags, space-separated, e.g. `--bgp-warm-up=0` to see the
 * first round without the warm-up.
 * TABBY_BENCH_AGENT_LOG: a file the agent's output is appended to and kept after the run
 * (default: inside the run's temporary directory, removed with it), e.g. for `--trace-gc`.
 * This reports, it never asserts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { encodeMessage } from '../src/bgp/wire/index.js';
import { NetnsLab, type Netns } from '../test/support/netns.js';
import { BirdControl, FeedStartWatch, TcpEstablishedWatch, midpoint, type Dated, birdMemory, dotted, encodeReplay, prefixAddress, processCpuSeconds, processRssBytes, serveReplay, sleep, spawnDaemon, startBird, startGobgpd, stopDaemon, waitFor, type Gobgp, type ReplayMessages } from './support/bgp-feeders.js';
import { cleanUpOnInterrupt } from './support/interrupt.js';
import { intArg } from './support/args.js';
import { Progress } from './support/progress.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';
import { TABBY_LEARNED_ROUTE_PROTOCOL } from '../src/dataplane/legacy/route-kernel.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));


type FeedName = 'bird' | 'gobgp' | 'replay';
type ReceiverName = 'tabby' | 'bird';
const FEED_NAMES: readonly FeedName[] = ['bird', 'gobgp', 'replay'];

function feedList(): FeedName[] {
  const i = process.argv.indexOf('--feeds');
  if (i < 0) return [...FEED_NAMES];
  const names = (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  for (const n of names) if (!(FEED_NAMES as readonly string[]).includes(n)) throw new Error(`--feeds: unknown feeder ${n}; known: ${FEED_NAMES.join(',')}`);
  return names as FeedName[];
}

const N = intArg('prefixes', 100_000);
const ROUNDS = intArg('rounds', 5);
const ROUND_TIMEOUT_S = intArg('round-timeout', 600);
/** BgpConvergence's default cap (30 s) and a margin for its 250 ms poll and the pass after it. */
const AGENT_CONVERGENCE_S = 32;

/** Extra node flags for the agent (see the header). */
const AGENT_NODE_FLAGS = (process.env.TABBY_BENCH_AGENT_FLAGS ?? '').split(' ').filter(Boolean);
const AGENT_ARGS = (process.env.TABBY_BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean);
const REPLAY_CHILD = process.argv.includes('--replay-feeder');
const FEEDER_AS = 65001;
const LOCAL_AS = 64512;
/** Shortest FIB probe period (see the header for the rounding this causes). */
const POLL_MS = 20;
/** The probe walks the whole trie: the period is at least this many times one probe's cost. */
const PROBE_SPACING = 4;
const NODE = `bench${process.pid}`;
const POOL_CIDR = '172.31.0.0/16';
const ETCD = 'http://127.0.0.1:2379';
const AGENT_HTTP = '127.0.0.1:9099';
const GOBGP_PORT = 1790;

/** One /29 per link; the feeder end has one address per feeder, the receiver is .6. */
const LINK: Record<ReceiverName, string> = { tabby: '192.168.201', bird: '192.168.202' };
const FEEDER_HOST: Record<FeedName, number> = { bird: 1, gobgp: 2, replay: 3 };
const feederAddress = (r: ReceiverName, f: FeedName): string => `${LINK[r]}.${FEEDER_HOST[f]}`;
const receiverAddress = (r: ReceiverName): string => `${LINK[r]}.6`;

const nowNs = (): bigint => process.hrtime.bigint();
const secondsSince = (t0: bigint, t1: bigint = nowNs()): number => Number(t1 - t0) / 1e9;

if (process.argv.includes('--help')) {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const header = /\/\*\*([\s\S]*?)\*\//.exec(src)?.[1] ?? '';
  process.stdout.write(`${header.split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n').trim()}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// The replay feeder (child process in the feeder namespace), driven by lines on stdin:
//   connect <local> <remote>   dial <remote>:179 from <local>, send the table (NEXT_HOP <local>)
//   close <remote>             Cease (administrative shutdown) and close
// It answers `established <remote> <hrtime ns>` (the same monotonic clock as the parent's),
// `closed <remote>` and `error <remote> <message>`.

async function replayChild(): Promise<void> {
  const tables = new Map<string, ReplayMessages>();
  for (const r of ['tabby', 'bird'] as const) {
    const local = feederAddress(r, 'replay');
    tables.set(local, encodeReplay({ prefixes: N, feederAs: FEEDER_AS, nextHop: local }, local));
  }
  const cease = encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) }, { fourOctetAs: true });
  const socks = new Map<string, Socket>();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, a, b] = line.trim().split(' ');
    if (cmd === 'connect' && a && b) {
      const messages = tables.get(a);
      if (!messages) return say(`error ${b} no table for ${a}`);
      const sock = connect({ host: b, port: 179, localAddress: a });
      socks.set(b, sock);
      sock.on('connect', () => serveReplay(sock, messages, () => say(`established ${b} ${nowNs()}`)));
      sock.on('error', (err) => say(`error ${b} ${err.message}`));
      sock.on('close', () => {
        if (socks.get(b) === sock) socks.delete(b);
        say(`closed ${b}`);
      });
    } else if (cmd === 'close' && a) {
      const sock = socks.get(a);
      if (!sock) return say(`closed ${a}`);
      sock.end(cease);
      setTimeout(() => sock.destroy(), 2000).unref();
    }
  });
  rl.on('close', () => process.exit(0));
  say(`ready ${[...tables.values()].reduce((s, m) => s + m.table.length, 0)}`);
}

// ---------------------------------------------------------------------------------------
// Configurations.

function feederBirdConfig(): string {
  const routes: string[] = [];
  for (let i = 0; i < N; i++) routes.push(`  route ${dotted(prefixAddress(i))}/28 blackhole;`);
  const proto = (r: ReceiverName) => [
    `protocol bgp to_${r} {`,
    '  disabled;',
    `  local ${feederAddress(r, 'bird')} as ${FEEDER_AS};`,
    `  neighbor ${receiverAddress(r)} as ${LOCAL_AS};`,
    // Listen on our own address only: the replay feeder's address must refuse connections.
    '  strict bind on;',
    '  connect retry time 1;',
    '  start delay time 0;',
    '  ipv4 { import none; export where proto = "feed"; next hop self; };',
    '}',
  ];
  return [`router id ${feederAddress('tabby', 'bird')};`, 'protocol device {}', 'protocol static feed {', '  ipv4;', ...routes, '}', ...proto('tabby'), ...proto('bird'), ''].join('\n');
}

function receiverBirdConfig(): string {
  const proto = (f: FeedName) => [
    `protocol bgp from_${f} {`,
    `  local ${receiverAddress('bird')} as ${LOCAL_AS};`,
    `  neighbor ${feederAddress('bird', f)}${f === 'gobgp' ? ` port ${GOBGP_PORT}` : ''} as ${FEEDER_AS};`,
    // The feeder starts every session (as it does towards the agent, whose sessions to a
    // shut feeder are refused and back off): no connection collisions inside a round.
    '  passive on;',
    // After a Cease, accept the next round's connection soon (BIRD waits 60 s by default).
    '  error wait time 1, 2;',
    '  ipv4 { import all; export none; };',
    '}',
  ];
  return [
    `router id ${receiverAddress('bird')};`,
    'protocol device {}',
    // Programs what BGP learned into the namespace's kernel FIB, as the agent does.
    'protocol kernel { ipv4 { import none; export all; }; learn off; scan time 3600; }',
    ...FEED_NAMES.flatMap(proto),
    '',
  ].join('\n');
}

/** gobgpd: both neighbors start admin-down; a round enables one. */
function gobgpConfig(): string {
  const lines = ['[global.config]', `  as = ${FEEDER_AS}`, `  router-id = "${feederAddress('tabby', 'gobgp')}"`, `  port = ${GOBGP_PORT}`, `  local-address-list = ["${feederAddress('tabby', 'gobgp')}", "${feederAddress('bird', 'gobgp')}"]`];
  for (const r of ['tabby', 'bird'] as const) {
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${receiverAddress(r)}"`,
      `    peer-as = ${LOCAL_AS}`,
      '    admin-down = true',
      '  [neighbors.transport.config]',
      `    local-address = "${feederAddress(r, 'gobgp')}"`,
      '    remote-port = 179',
      '  [neighbors.timers.config]',
      '    hold-time = 90',
      '    keepalive-interval = 30',
      '    connect-retry = 1',
      '    idle-hold-time-after-reset = 1',
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "ipv4-unicast"',
    );
  }
  return `${lines.join('\n')}\n`;
}

function datastoreYaml(): string {
  const doc = (kind: string, name: string, spec: string[]) => ['apiVersion: projectcalico.org/v3', `kind: ${kind}`, 'metadata:', `  name: ${name}`, 'spec:', ...spec.map((l) => `  ${l}`)].join('\n');
  return [
    doc('BGPConfiguration', 'default', ['nodeToNodeMeshEnabled: false', `asNumber: ${LOCAL_AS}`]),
    doc('IPPool', 'bench-pool', [`cidr: ${POOL_CIDR}`, 'ipipMode: Never', 'vxlanMode: Never', 'natOutgoing: false']),
    ...FEED_NAMES.map((f) => doc('BGPPeer', `feeder-${f}`, [`node: ${NODE}`, `peerIP: "${feederAddress('tabby', f)}${f === 'gobgp' ? `:${GOBGP_PORT}` : ''}"`, `asNumber: ${FEEDER_AS}`])),
  ].join('\n---\n') + '\n';
}

// ---------------------------------------------------------------------------------------
// The probe: prefixes in the Main table of the namespace a process lives in.

/** Main-table prefix count from /proc/<pid>/net/fib_triestat (the kernel counts; we parse a few lines). */
async function fibPrefixes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const main = text.indexOf('Main:');
  const m = /Prefixes:\s+(\d+)/.exec(text.slice(main < 0 ? 0 : main));
  if (!m) throw new Error(`no prefix count in /proc/${pid}/net/fib_triestat`);
  return Number(m[1]);
}

/** The smallest of a few timed probe reads, in ms: what one poll costs at this table size. */
async function probeCostMs(pid: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = nowNs();
    await fibPrefixes(pid);
    best = Math.min(best, secondsSince(t0) * 1000);
  }
  return best;
}

// ---------------------------------------------------------------------------------------
// The agent and its etcd, in the tabby namespace.

function inNs(ns: Netns, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns.name, ...argv];
}

/** Runs argv (optionally with stdin) to completion; throws with its output on failure. */
function mustSpawn(argv: string[], input?: string, timeoutMs = 60_000): string {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: timeoutMs, ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`);
  return r.stdout;
}

/** dist/ must hold the agent that src/ describes; say so when a source file is newer. */
function checkDistFresh(): void {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('dist/cli/main.js is missing: run `npm run build:ts` first');
  const built = statSync(main).mtimeMs;
  const newer: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && statSync(p).mtimeMs > built) newer.push(p.slice(ROOT.length));
    }
  };
  walk(join(ROOT, 'src'));
  if (newer.length > 0) process.stderr.write(`warning: dist/ is older than ${newer.length} source file(s) (${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ', ...' : ''}); run \`npm run build:ts\` to measure them\n`);
}

async function startEtcdIn(ns: Netns, dir: string): Promise<ChildProcess> {
  const { child, stderr } = spawnDaemon(inNs(ns, ['/usr/bin/etcd', `--name=${NODE}`, `--data-dir=${join(dir, 'etcd')}`, `--listen-client-urls=${ETCD}`, `--advertise-client-urls=${ETCD}`, '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380', `--initial-cluster=${NODE}=http://127.0.0.1:2380`, '--logger=zap', '--log-level=error']));
  await waitFor('etcd to answer', 30_000, async () => {
    if (child.exitCode !== null) throw new Error(`etcd exited: ${stderr()}`);
    return spawnSync('ip', ['netns', 'exec', ns.name, 'etcdctl', `--endpoints=${ETCD}`, 'endpoint', 'health'], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 10_000 }).status === 0;
  }, 200);
  return child;
}

interface Agent {
  child: ChildProcess;
  log: string;
}

/** Starts the agent and waits for /readyz; `spawned` gets it first, so a failed start is still cleaned up. */
async function startAgentIn(ns: Netns, dir: string, uplink: string, spawned: (a: Agent) => void): Promise<Agent> {
  const log = process.env.TABBY_BENCH_AGENT_LOG || join(dir, 'agent.log');
  const fd = openSync(log, 'a');
  const argv = inNs(ns, [
    process.execPath, ...AGENT_NODE_FLAGS, join(ROOT, 'dist', 'cli', 'main.js'), 'agent',
    `--node-name=${NODE}`, `--etcd-endpoints=${ETCD}`, '--dataplane=legacy', `--state-dir=${join(dir, 'state')}`, `--cni-socket=${join(dir, 'cni.sock')}`,
    `--http-listen=${AGENT_HTTP}`, `--uplink=${uplink}`, `--node-ip=${receiverAddress('tabby')}/29`, `--default-pool-cidr=${POOL_CIDR}`, '--log-level=warn', ...AGENT_ARGS,
  ]);
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', ...argv], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  spawned({ child, log });
  const ready = `fetch('http://${AGENT_HTTP}/readyz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`;
  await waitFor('the agent to be ready (/readyz)', 120_000, async () => {
    if (child.exitCode !== null) throw new Error(`the agent exited during start:\n${await tail(log)}`);
    return spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', ready], { timeout: 10_000 }).status === 0;
  }, 500);
  return { child, log };
}

async function tail(file: string, lines = 20): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------
// Feeds: how each feeder starts and shuts its session towards a receiver, and when it saw
// the session reach Established.

interface Feed {
  name: FeedName;
  title: string;
  /** A process in the feeder namespace: the established watch reads its /proc/<pid>/net/tcp. */
  pid: number;
  start(r: ReceiverName): Promise<void>;
  /**
   * Resolves once the feeder itself reports the session Established (rejects after
   * `deadline`). This is for correctness only: its time is not the session's start (the
   * TCP watch dates that), except that the replay child's own timestamp is returned to
   * measure the OPEN exchange that follows the TCP handshake.
   */
  confirm(r: ReceiverName, deadline: bigint): Promise<bigint | undefined>;
  stop(r: ReceiverName): Promise<void>;
}

async function pollUntil(what: string, deadline: bigint, everyMs: number, ok: () => Promise<boolean>): Promise<bigint> {
  for (;;) {
    if (await ok()) return nowNs();
    if (nowNs() > deadline) throw new RoundTimeout(what);
    await sleep(everyMs);
  }
}

class RoundTimeout extends Error {
  constructor(what: string) {
    super(`did not finish in ${ROUND_TIMEOUT_S} s: ${what}`);
  }
}

/** Period of the wake-up command the BIRD feeder gets during a round (see `BirdControl`). */
const BIRD_WAKE_MS = 5;

function birdFeed(pid: number, ctl: BirdControl): Feed {
  return {
    name: 'bird',
    title: 'BIRD feeder (paced by the feeder)',
    pid,
    start: async (r) => {
      await ctl.command(`enable to_${r}`);
      // Without it BIRD 2.0 can hold its last UPDATEs for up to 3 s (BirdControl's comment).
      ctl.wakeEvery(BIRD_WAKE_MS);
    },
    confirm: async (r, deadline) => void (await pollUntil('the BIRD feeder session to come up', deadline, 5, async () => /Established/.test(await ctl.command(`show protocols to_${r}`)))),
    stop: async (r) => {
      ctl.wakeEvery(0);
      await ctl.command(`disable to_${r}`);
    },
  };
}

function gobgpFeed(gobgp: Gobgp): Feed {
  return {
    name: 'gobgp',
    title: 'gobgpd feeder, table pre-loaded (paced by gobgpd\'s own send rate)',
    pid: gobgp.child.pid as number,
    start: async (r) => void (await gobgp.cli(['neighbor', receiverAddress(r), 'enable'])),
    // The CLI is a process and a gRPC call: 100-300 ms when the receiver keeps both cores busy.
    confirm: async (r, deadline) => void (await pollUntil('the gobgpd session to come up', deadline, 10, async () => /BGP state = established/i.test(await gobgp.cli(['neighbor', receiverAddress(r)]).catch(() => '')))),
    stop: async (r) => void (await gobgp.cli(['neighbor', receiverAddress(r), 'disable'])),
  };
}

interface ReplayControl {
  child: ChildProcess;
  send(line: string): void;
  /** Resolves with the next line about `remote` that matches. */
  next(remote: string, kinds: string[]): Promise<string[]>;
}

async function startReplayChild(ns: Netns): Promise<ReplayControl> {
  const { child, stderr } = spawnDaemon(inNs(ns, [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--replay-feeder', '--prefixes', String(N)]), { stdin: true });
  const waiters: { remote: string; kinds: string[]; resolve: (w: string[]) => void }[] = [];
  let ready: (() => void) | undefined;
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    const words = line.split(' ');
    if (words[0] === 'ready') return ready?.();
    const i = waiters.findIndex((w) => w.remote === words[1] && w.kinds.includes(words[0]!));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(words);
  });
  await new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once('exit', () => reject(new Error(`replay feeder exited: ${stderr()}`)));
  });
  return {
    child,
    send: (line) => void child.stdin!.write(`${line}\n`),
    next: (remote, kinds) => new Promise((resolve) => waiters.push({ remote, kinds, resolve })),
  };
}

function replayFeed(ctl: ReplayControl): Feed {
  const pending = new Map<ReceiverName, Promise<bigint>>();
  const dial = (r: ReceiverName, deadline: bigint): Promise<bigint> => {
    const remote = receiverAddress(r);
    const outcome = ctl.next(remote, ['established', 'closed']);
    ctl.send(`connect ${feederAddress(r, 'replay')} ${remote}`);
    return outcome.then(async (w) => {
      if (w[0] === 'established') return BigInt(w[2]!);
      // Refused or closed before Established (the receiver still backing off): dial again.
      if (nowNs() > deadline) throw new RoundTimeout('the replay session to come up');
      await sleep(250);
      return dial(r, deadline);
    });
  };
  return {
    name: 'replay',
    title: 'Replay feeder: the table pre-encoded and written at once (paced by the receiver)',
    pid: ctl.child.pid as number,
    start: async (r) => {
      const deadline = nowNs() + BigInt(ROUND_TIMEOUT_S) * 1_000_000_000n;
      const p = dial(r, deadline);
      p.catch(() => {});
      pending.set(r, p);
    },
    confirm: (r) => pending.get(r) ?? Promise.reject(new Error('replay: not started')),
    stop: async (r) => {
      const closed = ctl.next(receiverAddress(r), ['closed']);
      ctl.send(`close ${receiverAddress(r)}`);
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Rounds.

interface Round {
  feed: FeedName;
  receiver: ReceiverName;
  round: number;
  /** Every route in the FIB before the round timed out. */
  finished: boolean;
  /** Routes programmed when the round ended (N when finished). */
  programmed: number;
  /** Feeder's start command -> every route in the FIB. */
  totalSeconds: number;
  /** Feed start (the feeder's first 4 KiB past the session set-up left it: FeedStartWatch) -> every route in the FIB. */
  transferSeconds: number;
  /** Feed start -> the first poll that saw a route of the feed in the FIB. */
  firstRouteSeconds: number;
  /** Feed start is the middle of an interval; half its width, ms. */
  feedStartBoundMs: number;
  /** Session start -> feed start: the feeder's own wait before sending (gobgpd: seconds). */
  feederWaitSeconds: number;
  /** The session start is the middle of an interval; this is half its width, ms. */
  sessionStartBoundMs: number;
  /** Replay feeder only: its own BGP Established time minus the session start, ms (the OPEN exchange). */
  openExchangeMs: number;
  cpuSeconds: number;
  /** VmRSS with the table in. */
  rssBytes: number;
  /** Feeder's stop command -> every route gone from the FIB (NaN when it timed out). */
  withdrawSeconds: number;
  withdrawCpuSeconds: number;
  /** One probe read with the table in, ms. */
  probeMs: number;
  /** From the start of the probe read before the last one to done: how late the done time can be. */
  pollBoundMs: number;
}

interface Receiver {
  name: ReceiverName;
  pid: number;
  netns: string;
  /** The feeders' end of the link to it (in the feeder namespace). */
  feederIf: string;
  /** VmRSS before its first round. */
  idleRss?: number;
}

/**
 * Polls the receiver's FIB count: every POLL_MS, or PROBE_SPACING times the last read's cost
 * when that is longer (a read costs O(routes) of kernel time, taken from the same 2 cores the
 * receiver and feeder run on).
 */
class FibPoller {
  #previousStart: bigint | undefined;
  #lastStart: bigint | undefined;
  #lastEnd: bigint | undefined;
  #costMs = 0;

  constructor(private readonly pid: number) {}

  async count(): Promise<number> {
    this.#previousStart = this.#lastStart;
    this.#lastStart = nowNs();
    const n = await fibPrefixes(this.pid);
    this.#lastEnd = nowNs();
    this.#costMs = secondsSince(this.#lastStart) * 1000;
    return n;
  }

  /**
   * When what the last read saw happened: after the read before it started and before this
   * one ended; the middle of that, with half its width (the same estimate for both
   * receivers, unbiased where the end of the period is not).
   */
  seenAt(): Dated {
    const end = this.#lastEnd ?? nowNs();
    if (this.#previousStart === undefined) return { at: end, boundMs: NaN };
    return midpoint(this.#previousStart, end);
  }

  pause(): Promise<unknown> {
    return sleep(Math.max(POLL_MS, PROBE_SPACING * this.#costMs));
  }
}

/** When the session carrying the feed started, and how precisely that is known. */
interface SessionStart extends Dated {
  /** The feeder's own Established time when it has a precise one (replay). */
  feederEstablished: bigint | undefined;
}

/**
 * Waits for the feeder to report Established, then takes the TCP connection between
 * feeder and receiver that is up now (the one carrying the session, whichever side dialled
 * it: gobgpd also accepts the agent's dial; after a reset or a collision the others are
 * gone) and dates it from the watch.
 */
async function sessionStart(feed: Feed, rx: Receiver, watch: TcpEstablishedWatch, deadline: bigint): Promise<SessionStart> {
  const feederEstablished = await feed.confirm(rx.name, deadline);
  for (;;) {
    const dated = watch
      .established()
      .map((c) => watch.firstSeen(c))
      .filter((f) => f !== undefined)
      .sort((x, y) => (x.after < y.after ? -1 : 1))[0];
    if (dated) {
      if (dated.after === 0n) throw new Error(`${feed.name} -> ${rx.name}: a connection was up before the round started`);
      return { ...midpoint(dated.after, dated.before), feederEstablished };
    }
    // Up but not dated yet (a reconnection the slow watch has not read): wait for it.
    if (nowNs() > deadline) throw new RoundTimeout(`the ${feed.name} session's TCP connection to be seen`);
    await sleep(20);
  }
}

async function runRound(feed: Feed, rx: Receiver, round: number, p: Progress, atDone: () => Promise<void> = async () => {}): Promise<Round> {
  const pid = rx.pid;
  rx.idleRss ??= await processRssBytes(pid);
  const poller = new FibPoller(pid);
  const base = await poller.count();
  const cpu0 = await processCpuSeconds(pid);
  // Watching before the start command, so the connection cannot come up unseen.
  const watch = new TcpEstablishedWatch(feed.pid, feederAddress(rx.name, feed.name), receiverAddress(rx.name));
  const feedWatch = new FeedStartWatch(feed.pid, rx.feederIf);
  const t0 = nowNs();
  const deadline = t0 + BigInt(ROUND_TIMEOUT_S) * 1_000_000_000n;
  let session: SessionStart | undefined;
  let programmed = 0;
  let finished = false;
  let firstRoute: bigint | undefined;
  try {
    await feed.start(rx.name);
    // Dated alongside the FIB polls: a slow confirmation (gobgp's CLI) must not delay them.
    const started = sessionStart(feed, rx, watch, deadline);
    started.catch(() => {});
    for (;;) {
      programmed = (await poller.count()) - base;
      if (programmed > 0) firstRoute ??= poller.seenAt().at;
      p.update(programmed);
      if (programmed >= N) {
        finished = true;
        break;
      }
      if (nowNs() > deadline) break;
      await poller.pause();
    }
    session = await started;
  } catch (err) {
    if (!(err instanceof RoundTimeout)) throw err;
  } finally {
    await watch.stop();
    await feedWatch.stop();
  }
  const feedStart = feedWatch.start;
  // Done: the middle of the interval in which the last routes arrived (see FibPoller.seenAt).
  const seen = poller.seenAt();
  const end = finished ? seen.at : nowNs();
  const established = session?.at;
  const pollBoundMs = seen.boundMs;
  const cpuSeconds = (await processCpuSeconds(pid)) - cpu0;
  const rssBytes = await processRssBytes(pid);
  const probeMs = await probeCostMs(pid);
  if (finished) {
    checkRoutes(rx, feed.name);
    await atDone();
  }

  const w0 = nowNs();
  const wcpu0 = await processCpuSeconds(pid);
  await feed.stop(rx.name);
  let withdrawSeconds = NaN;
  const wdeadline = w0 + BigInt(ROUND_TIMEOUT_S) * 1_000_000_000n;
  for (;;) {
    const left = (await poller.count()) - base;
    if (left <= 0) {
      withdrawSeconds = secondsSince(w0);
      break;
    }
    if (nowNs() > wdeadline) {
      throw new Error(`${rx.name} still has ${left} of the ${feed.name} feeder's routes ${ROUND_TIMEOUT_S} s after the session was shut; the next round would not start clean`);
    }
    await poller.pause();
  }
  const withdrawCpuSeconds = (await processCpuSeconds(pid)) - wcpu0;
  return {
    feed: feed.name,
    receiver: rx.name,
    round,
    finished,
    programmed,
    totalSeconds: finished ? secondsSince(t0, end) : NaN,
    transferSeconds: finished && feedStart !== undefined ? secondsSince(feedStart.at, end) : NaN,
    // Both ends are estimates (each within its ±); a route cannot come before the feed.
    firstRouteSeconds: firstRoute !== undefined && feedStart !== undefined ? Math.max(0, secondsSince(feedStart.at, firstRoute)) : NaN,
    feedStartBoundMs: feedStart?.boundMs ?? NaN,
    feederWaitSeconds: feedStart !== undefined && established !== undefined ? secondsSince(established, feedStart.at) : NaN,
    sessionStartBoundMs: session?.boundMs ?? NaN,
    openExchangeMs: session?.feederEstablished !== undefined ? Number(session.feederEstablished - session.at) / 1e6 : NaN,
    cpuSeconds,
    rssBytes,
    withdrawSeconds,
    withdrawCpuSeconds,
    probeMs,
    pollBoundMs,
  };
}

/**
 * The count says "N more prefixes"; this says they are the feed's: the first and last
 * prefix are routes via the feeder's address, by the receiver's own protocol.
 */
function checkRoutes(rx: Receiver, feed: FeedName): void {
  const proto = rx.name === 'tabby' ? String(TABBY_LEARNED_ROUTE_PROTOCOL) : 'bird';
  for (const i of [0, N - 1]) {
    const prefix = `${dotted(prefixAddress(i))}/28`;
    const line = mustSpawn(['ip', '-n', rx.netns, '-4', 'route', 'show', prefix]).trim();
    const want = `${prefix} via ${feederAddress(rx.name, feed)} `;
    if (!line.startsWith(want) || !new RegExp(` proto ${proto}( |$)`).test(line)) throw new Error(`${rx.name}: route ${prefix} is '${line}', want '${want}... proto ${proto}'`);
  }
}

interface FeedSummary {
  feed: FeedName;
  /** Fastest finished round per receiver (NaN when none finished). */
  transferSeconds: Record<ReceiverName, number>;
  /** Median of the finished rounds' transfer times (NaN when none finished). */
  medianTransferSeconds: Record<ReceiverName, number>;
  /** Each round's transfer and first-route times, in round order. */
  roundSeconds: Record<ReceiverName, { transfer: number; firstRoute: number }[]>;
  totalSeconds: Record<ReceiverName, number>;
  cpuSeconds: Record<ReceiverName, number>;
  withdrawSeconds: Record<ReceiverName, number>;
  /** Most routes any round of the receiver programmed (N when one finished). */
  programmed: Record<ReceiverName, number>;
  ratioTabbyToBird: number;
  cpuRatioTabbyToBird: number;
  /** (VmRSS with the table in, first round) - (VmRSS idle before the first round of the run), / N. */
  rssBytesPerPrefix: Record<ReceiverName, number>;
  birdMemory: Record<string, number>;
  birdTableBytesPerPrefix: number;
  probeMs: Record<ReceiverName, number>;
  pollBoundMs: Record<ReceiverName, number>;
}

function summarise(feed: FeedName, rounds: Round[], receivers: Record<ReceiverName, Receiver>, birdMem: Record<string, number>): FeedSummary {
  const of = (who: ReceiverName) => rounds.filter((x) => x.feed === feed && x.receiver === who);
  const fastest = (who: ReceiverName): Round | undefined => of(who).filter((x) => x.finished).sort((a, b) => a.transferSeconds - b.transferSeconds)[0];
  const pick = (f: (r: Round | undefined) => number) => ({ tabby: f(fastest('tabby')), bird: f(fastest('bird')) });
  const minOf = (who: ReceiverName, f: (r: Round) => number) => Math.min(...of(who).map(f).filter((v) => !Number.isNaN(v)));
  const transfer = pick((r) => r?.transferSeconds ?? NaN);
  const cpu = pick((r) => r?.cpuSeconds ?? NaN);
  const rss = (who: ReceiverName) => {
    const first = of(who)[0];
    const idle = receivers[who].idleRss;
    return first && first.finished && idle !== undefined ? (first.rssBytes - idle) / N : NaN;
  };
  const median = (who: ReceiverName) => {
    const v = of(who).filter((x) => x.finished).map((x) => x.transferSeconds).sort((a, b) => a - b);
    return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const perRound = (who: ReceiverName) => of(who).map((x) => ({ transfer: x.transferSeconds, firstRoute: x.firstRouteSeconds }));
  return {
    feed,
    transferSeconds: transfer,
    medianTransferSeconds: { tabby: median('tabby'), bird: median('bird') },
    roundSeconds: { tabby: perRound('tabby'), bird: perRound('bird') },
    totalSeconds: pick((r) => r?.totalSeconds ?? NaN),
    cpuSeconds: cpu,
    withdrawSeconds: { tabby: minOf('tabby', (r) => r.withdrawSeconds), bird: minOf('bird', (r) => r.withdrawSeconds) },
    programmed: { tabby: Math.max(0, ...of('tabby').map((r) => r.programmed)), bird: Math.max(0, ...of('bird').map((r) => r.programmed)) },
    ratioTabbyToBird: transfer.tabby / transfer.bird,
    cpuRatioTabbyToBird: cpu.tabby / cpu.bird,
    rssBytesPerPrefix: { tabby: rss('tabby'), bird: rss('bird') },
    birdMemory: birdMem,
    birdTableBytesPerPrefix: ((birdMem['Routing tables'] ?? NaN) + (birdMem['Route attributes'] ?? NaN)) / N,
    probeMs: { tabby: Math.max(...of('tabby').map((r) => r.probeMs)), bird: Math.max(...of('bird').map((r) => r.probeMs)) },
    pollBoundMs: pick((r) => r?.pollBoundMs ?? NaN),
  };
}

// ---------------------------------------------------------------------------------------
// The run.

/** Everything to undo, last made first; run once, from `finally` or a signal. */
class Teardown {
  readonly #steps: { what: string; undo: () => Promise<void> | void }[] = [];
  #running: Promise<void> | undefined;

  add(what: string, undo: () => Promise<void> | void): void {
    this.#steps.push({ what, undo });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const s of this.#steps.splice(0).reverse()) {
        try {
          await s.undo();
        } catch (err) {
          process.stderr.write(`cleanup: ${s.what}: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.#running;
  }
}

async function main(): Promise<void> {
  checkDistFresh();
  const feedsWanted = feedList();
  const teardown = new Teardown();
  cleanUpOnInterrupt(() => teardown.run());
  const dir = await mkdtemp(join(tmpdir(), `tabby-bgp-program-${process.pid}-`));
  teardown.add('temp dir', () => rm(dir, { recursive: true, force: true }));
  try {
    const lab = new NetnsLab();
    teardown.add('namespaces', () => lab.cleanup());
    const feederNs = lab.netns();
    const tabbyNs = lab.netns();
    const birdNs = lab.netns();
    const [feederTabby, tabbyEnd] = lab.veth({ netns: feederNs, address: `${feederAddress('tabby', 'bird')}/29` }, { netns: tabbyNs, address: `${receiverAddress('tabby')}/29` });
    const [feederBird] = lab.veth({ netns: feederNs, address: `${feederAddress('bird', 'bird')}/29` }, { netns: birdNs, address: `${receiverAddress('bird')}/29` });
    for (const f of ['gobgp', 'replay'] as const) {
      mustSpawn(inNs(feederNs, ['ip', 'addr', 'add', `${feederAddress('tabby', f)}/29`, 'dev', feederTabby.name]));
      mustSpawn(inNs(feederNs, ['ip', 'addr', 'add', `${feederAddress('bird', f)}/29`, 'dev', feederBird.name]));
    }
    process.stderr.write(`bgp-program bench: ${N} prefixes, ${ROUNDS} round(s) per receiver and feeder (${feedsWanted.join(', ')}), round timeout ${ROUND_TIMEOUT_S} s; namespaces ${feederNs.name} (feeders), ${tabbyNs.name} (tabby), ${birdNs.name} (BIRD)\n`);

    // Receivers first, so the feeders find them listening.
    let t0 = nowNs();
    const etcd = await startEtcdIn(tabbyNs, dir);
    teardown.add('etcd', () => stopDaemon(etcd));
    mustSpawn(inNs(tabbyNs, [process.execPath, join(ROOT, 'dist', 'cli', 'main.js'), 'apply', '-f', '-', `--etcd-endpoints=${ETCD}`]), datastoreYaml());
    const agentStarted = nowNs();
    const agent = await startAgentIn(tabbyNs, dir, tabbyEnd.name, (a) =>
      teardown.add('agent', async () => {
        await stopDaemon(a.child);
        if (process.exitCode) process.stderr.write(`agent log tail:\n${await tail(a.log)}\n`);
      }),
    );
    process.stderr.write(`tabby agent ready (etcd, resources, /readyz) in ${fmt(secondsSince(t0))} s\n`);
    const receiverBird = await startBird(dir, 'receiver', receiverBirdConfig(), inNs(birdNs, []));
    teardown.add('receiving BIRD', () => stopDaemon(receiverBird.child));

    const feeds: Feed[] = [];
    for (const name of feedsWanted) {
      t0 = nowNs();
      if (name === 'bird') {
        const feeder = await startBird(dir, 'feeder', feederBirdConfig(), inNs(feederNs, []));
        teardown.add('feeder BIRD', () => stopDaemon(feeder.child));
        const ctl = await BirdControl.open(feeder.socket);
        teardown.add('feeder BIRD control connection', () => ctl.close());
        feeds.push(birdFeed(feeder.child.pid as number, ctl));
      } else if (name === 'gobgp') {
        const gobgp = await startGobgpd(dir, gobgpConfig(), `unix://${join(dir, 'gobgpd.sock')}`, { prefixes: N, feederAs: FEEDER_AS, nextHop: '0.0.0.0' }, inNs(feederNs, []));
        teardown.add('gobgpd', () => stopDaemon(gobgp.child));
        feeds.push(gobgpFeed(gobgp));
      } else {
        const ctl = await startReplayChild(feederNs);
        teardown.add('replay feeder', () => stopDaemon(ctl.child));
        feeds.push(replayFeed(ctl));
      }
      process.stderr.write(`${name} feeder up with ${N} routes in ${fmt(secondsSince(t0))} s\n`);
    }

    const receivers: Record<ReceiverName, Receiver> = {
      tabby: { name: 'tabby', pid: agent.child.pid as number, netns: tabbyNs.name, feederIf: feederTabby.name },
      bird: { name: 'bird', pid: receiverBird.child.pid as number, netns: birdNs.name, feederIf: feederBird.name },
    };
    // The agent judges BGP converged once every peer has been up for a while, or after 30 s
    // (BgpConvergence's cap): the feeders start admin-down, so that is the cap. Its first
    // pass after that re-reads the whole table once (with 100,000 routes in, ~0.7 s of CPU);
    // it must not land inside a measured round.
    const convergedBy = agentStarted + BigInt(AGENT_CONVERGENCE_S) * 1_000_000_000n;
    if (nowNs() < convergedBy) {
      process.stderr.write(`waiting ${fmt(Number(convergedBy - nowNs()) / 1e9)} s for the agent's BGP convergence cap (${AGENT_CONVERGENCE_S} s after its start), so its one-off full pass is not measured\n`);
      await sleep(Number(convergedBy - nowNs()) / 1e6);
    }
    const rounds: Round[] = [];
    const birdMem: Partial<Record<FeedName, Record<string, number>>> = {};
    for (const feed of feeds) {
      for (let r = 0; r < ROUNDS; r++) {
        for (const who of r % 2 === 0 ? (['bird', 'tabby'] as const) : (['tabby', 'bird'] as const)) {
          const p = new Progress(`${feed.name} feeder, round ${r + 1}, ${who}`, N);
          // BIRD's own accounting of the table, taken while the table is in.
          const atDone = async () => void (who === 'bird' && r === 0 && (birdMem[feed.name] = await birdMemory(receiverBird)));
          const m = await runRound(feed, receivers[who], r + 1, p, atDone);
          rounds.push(m);
          p.done(
            m.finished
              ? `${fmt(m.transferSeconds)} s after the feed start (±${fmt(m.feedStartBoundMs)} ms; the feeder sent it ${fmt(m.feederWaitSeconds)} s after the session start, ±${fmt(m.sessionStartBoundMs)} ms${Number.isNaN(m.openExchangeMs) ? '' : `, OPEN exchange ${fmt(m.openExchangeMs)} ms`}; first route after ${fmt(m.firstRouteSeconds)} s), ${fmt(m.totalSeconds)} s total, ${fmt(m.cpuSeconds)} CPU s; withdrawn in ${fmt(m.withdrawSeconds)} s`
              : `did not finish in ${ROUND_TIMEOUT_S} s (${m.programmed}/${N} programmed); withdrawn in ${fmt(m.withdrawSeconds)} s`,
          );
        }
      }
    }

    const summaries = feeds.map((f) => summarise(f.name, rounds, receivers, birdMem[f.name] ?? {}));
    await report(feeds, summaries, rounds, receivers);
  } catch (err) {
    process.exitCode = 1;
    throw err;
  } finally {
    await teardown.run();
  }
}

async function report(feeds: Feed[], summaries: FeedSummary[], rounds: Round[], receivers: Record<ReceiverName, Receiver>): Promise<void> {
  const env = environment();
  const json = {
    benchmark: 'bgp-receive-and-program',
    environment: env,
    prefixes: N,
    roundsPerReceiver: ROUNDS,
    roundTimeoutSeconds: ROUND_TIMEOUT_S,
    pollMs: POLL_MS,
    probeSpacing: PROBE_SPACING,
    idleRssBytes: { tabby: receivers.tabby.idleRss, bird: receivers.bird.idleRss },
    rounds,
    feeds: summaries,
    target: 'tabby no slower than BIRD (ratio <= 1)',
  };
  const dnf = (s: FeedSummary, who: ReceiverName) => `did not finish in ${ROUND_TIMEOUT_S} s (${s.programmed[who]}/${N})`;
  const cell = (s: FeedSummary, who: ReceiverName, v: number) => (Number.isNaN(s.transferSeconds[who]) ? dnf(s, who) : fmt(v));
  const headers = ['receiver', 'transfer s', 'prefixes/s', 'ratio to BIRD', 'median s', 'median ratio', 'total s', 'CPU s', 'CPU ratio', 'withdraw s', 'RSS bytes/prefix', 'probe ms', '± poll ms'];
  const sections = summaries.flatMap((s, i) => [
    `## ${feeds[i]!.title}`,
    '',
    markdownTable(headers, [
      ['tabby agent (legacy dataplane: kernel routes, protocol 85)', cell(s, 'tabby', s.transferSeconds.tabby), cell(s, 'tabby', N / s.transferSeconds.tabby), fmt(s.ratioTabbyToBird), cell(s, 'tabby', s.medianTransferSeconds.tabby), fmt(s.medianTransferSeconds.tabby / s.medianTransferSeconds.bird), cell(s, 'tabby', s.totalSeconds.tabby), cell(s, 'tabby', s.cpuSeconds.tabby), fmt(s.cpuRatioTabbyToBird), fmt(s.withdrawSeconds.tabby), fmt(s.rssBytesPerPrefix.tabby), fmt(s.probeMs.tabby), fmt(s.pollBoundMs.tabby)],
      ['BIRD 2 (BGP + kernel protocol)', cell(s, 'bird', s.transferSeconds.bird), cell(s, 'bird', N / s.transferSeconds.bird), 1, cell(s, 'bird', s.medianTransferSeconds.bird), 1, cell(s, 'bird', s.totalSeconds.bird), cell(s, 'bird', s.cpuSeconds.bird), 1, fmt(s.withdrawSeconds.bird), fmt(s.rssBytesPerPrefix.bird), fmt(s.probeMs.bird), fmt(s.pollBoundMs.bird)],
    ]),
    `Rounds, transfer s (first route s): tabby ${s.roundSeconds.tabby.map((x) => `${fmt(x.transfer)} (${fmt(x.firstRoute)})`).join(', ')}; BIRD ${s.roundSeconds.bird.map((x) => `${fmt(x.transfer)} (${fmt(x.firstRoute)})`).join(', ')}.`,
    '',
    `Target: no slower than BIRD (ratio <= 1): ${s.ratioTabbyToBird <= 1 ? 'met' : Number.isNaN(s.ratioTabbyToBird) ? 'not measured (a receiver did not finish)' : 'not met'} in this run. BIRD's own accounting (\`show memory\`, routing tables + route attributes): ${fmt(s.birdTableBytesPerPrefix)} bytes/prefix.`,
    '',
  ]);
  const md = [
    `# BGP receive and program: ${N} IPv4 prefixes into the kernel FIB`,
    '',
    `Best of ${ROUNDS} round(s) per receiver and feeder, receivers alternating, each in its own network namespace. Done = the receiver's namespace's FIB (Main table prefix count from /proc/<pid>/net/fib_triestat) holds all ${N} routes; polled the same way for both receivers, every ${POLL_MS} ms or ${PROBE_SPACING}x the last read's cost if longer (a read walks the whole trie), so the last routes arrived between the start of the read before the one that saw them all and the end of that one: done is the middle of that interval, "± poll ms" half its width ("probe ms": one read with the table in, after the round). Transfer: from the feed's start (the feeder's end of the link has sent 4 KiB past the session set-up: its first UPDATEs, read from the feeder namespace's /proc/<pid>/net/dev every 1 ms, the same way for every feeder and receiver; gobgpd sends its table 1-4 s after the session is up, which is not the receivers' time) to done (the ratio uses the best round; the median ratio is printed too); total: from the feeder's start command. CPU s: the receiving process's user + system time in the round (/proc, 10 ms ticks). Withdraw: from the feeder shutting the session to every route gone from the FIB. RSS bytes/prefix: VmRSS with the table in (first round of the feeder) minus VmRSS of the idle receiver before its first round of the run, over N (for the agent that includes garbage V8 has not collected yet).`,
    '',
    ...sections,
    'tabby: the real agent (`tabby agent --dataplane legacy`) with its own etcd, a BGPPeer per feeder, learned prefixes outside every pool (type `bgp` routes). BIRD: `protocol bgp` import all + `protocol kernel` export all. Feeders: BIRD paces its export; gobgpd sends a pre-loaded table at its own rate; the replay feeder writes the pre-encoded table at once, so that case is the receivers\' own speed.',
    '',
    `Environment: ${env.cpuModel}, ${env.cpus} CPUs, Node ${env.node}, ${env.date}`,
    '',
  ].join('\n');
  const out = await writeResults('bgp-program', json, md);
  for (const s of summaries) {
    process.stderr.write(`${s.feed} feeder: ratio tabby/BIRD ${fmt(s.ratioTabbyToBird)} (tabby ${fmt(s.transferSeconds.tabby)} s, BIRD ${fmt(s.transferSeconds.bird)} s); CPU ${fmt(s.cpuSeconds.tabby)} s vs ${fmt(s.cpuSeconds.bird)} s; withdraw ${fmt(s.withdrawSeconds.tabby)} s vs ${fmt(s.withdrawSeconds.bird)} s; RSS ${fmt(s.rssBytesPerPrefix.tabby)} vs ${fmt(s.rssBytesPerPrefix.bird)} bytes/prefix\n`);
  }
  process.stderr.write(`wrote ${out.jsonPath} and ${out.mdPath}\n`);
}

const entry = REPLAY_CHILD ? replayChild() : main();
entry.catch((err: unknown) => {
  process.stderr.write(`bgp-program bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
