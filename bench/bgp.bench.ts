/**
 * BGP receive benchmark: how long our speaker takes to take in a full feed, and what that
 * costs in CPU and memory, next to BIRD taking in the same feed on the same machine in the
 * same run.
 *
 *   node --import tsx bench/bgp.bench.ts [--prefixes 100000] [--rounds 2]
 *
 * N IPv4 prefixes (/28s under 10.0.0.0/8, NEXT_HOP 192.0.2.2) come from two feeders:
 *
 * - **BIRD feeder** (paced): a BIRD 2 with N static routes and one disabled BGP protocol per
 *   receiver; a round runs `birdc enable`. BIRD paces its own export (about 30k prefixes/s
 *   here), so in this case both receivers mostly wait for the feeder.
 * - **GoBGP feeder** (pre-loaded): gobgpd with the N routes already in its RIB (an MRT
 *   TABLE_DUMP_V2 file this benchmark writes, loaded with `gobgp mrt inject global`), passive
 *   towards both receivers. A round starts the receiver's session and gobgpd sends its whole
 *   table; it turns out to send at about 90k prefixes/s here, slower than either receiver.
 * - **Replay feeder** (wire speed): a minimal BGP speaker in a child process (this file run
 *   with --replay-feeder) that writes the table, pre-encoded as full 4096-byte UPDATEs, in
 *   one go once the session is up. Nothing on the sending side is slower than a receiver,
 *   so this case measures the receivers themselves.
 *
 * Receivers: our BgpSpeaker (in this process; done when the N-th learned route has gone
 * through the Loc-RIB and out as a dataplane update, onRoutes), and a receiving BIRD 2
 * (done when the protocol's imported-routes counter in `birdc show protocols all <p>` says
 * N, polled every 20 ms, so its time is rounded up by at most that; a counter, because
 * counting the table on every poll would cost BIRD more CPU than receiving it). Rounds alternate receivers so neither always runs on a
 * warmer machine; the session is shut (every route withdrawn) before the next round.
 *
 * Reported per feeder: transfer time (session Established -> all N held), ratio to BIRD,
 * the receiving process's CPU time in the round and its ratio to BIRD's, how busy the
 * receiver was (CPU s / transfer s: near 1 means it, not the feeder, was the limit), and
 * memory per prefix (ours: V8 heap growth after a forced GC; BIRD: `show memory` tables +
 * attributes).
 *
 * Everything listens on 127.N.0.x (N from the pid) with free ports; no kernel routes are
 * touched (no kernel protocol in any BIRD, gobgpd runs without zebra, our speaker has no
 * dataplane here). Target: no slower than BIRD. This reports, it never asserts.
 */
import { type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLogger } from '../src/log/logger.js';
import { BgpSpeaker } from '../src/bgp/speaker/speaker.js';
import { BgpSession } from '../src/bgp/session/session.js';
import type { PeerConfig, SpeakerConfig } from '../src/bgp/speaker/config.js';
import { birdMemory, birdRouteCount, dotted, encodeReplay, freePort, prefixAddress, processCpuSeconds, serveReplay, sleep, startBird, startReadyChild, startGobgpd, waitFor, type Gobgp } from './support/bgp-feeders.js';
import { BgpBenchRun } from './support/bgp-bench-run.js';
import { intArg } from './support/args.js';
import { Progress } from './support/progress.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';


const N = intArg('prefixes', 100_000);
const ROUNDS = intArg('rounds', 2);
/** The replay feeder runs as a child of the benchmark, on the parent's addresses. */
const REPLAY_CHILD = process.argv.includes('--replay-feeder');
const net = REPLAY_CHILD ? intArg('net', 1) : 1 + (process.pid % 200);
const FEEDER = `127.${net}.0.1`;
const OURS = `127.${net}.0.2`;
const RECEIVER = `127.${net}.0.3`;
const GOBGP_FEEDER = `127.${net}.0.4`;
const REPLAY_FEEDER = `127.${net}.0.5`;
const FEEDER_AS = 65001;
const LOCAL_AS = 64512;
/** Loopback next hops are invalid (RFC 4271 §5.1.3): the feeds carry a TEST-NET-1 one. */
const NEXT_HOP = '192.0.2.2';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Ports {
  feeder: number;
  ours: number;
  receiver: number;
  gobgp: number;
  gobgpApi: number;
  replay: number;
}

function feederConfig(ports: Ports): string {
  const routes: string[] = [];
  for (let i = 0; i < N; i++) routes.push(`  route ${dotted(prefixAddress(i))}/28 blackhole;`);
  const proto = (name: string, address: string, port: number) => [
    `protocol bgp ${name} {`,
    '  disabled;',
    `  local ${FEEDER} port ${ports.feeder} as ${FEEDER_AS};`,
    `  neighbor ${address} port ${port} as ${LOCAL_AS};`,
    '  multihop;',
    '  connect retry time 1;',
    '  start delay time 0;',
    `  ipv4 { import none; export where proto = "feed"; next hop address ${NEXT_HOP}; };`,
    '}',
  ];
  return [`router id 10.255.${net}.1;`, 'protocol device {}', 'protocol static feed {', '  ipv4;', ...routes, '}', ...proto('to_tabby', OURS, ports.ours), ...proto('to_bird', RECEIVER, ports.receiver), ''].join('\n');
}

function receiverConfig(ports: Ports): string {
  return [
    `router id 10.255.${net}.3;`,
    'protocol device {}',
    // Makes the feeders' next hop resolvable, so every route is a usable one.
    'protocol static nh { ipv4; route 192.0.2.0/24 via "lo"; }',
    'protocol bgp from_feed {',
    `  local ${RECEIVER} port ${ports.receiver} as ${LOCAL_AS};`,
    `  neighbor ${FEEDER} port ${ports.feeder} as ${FEEDER_AS};`,
    '  multihop;',
    '  passive on;',
    '  ipv4 { import all; export none; };',
    '}',
    'protocol bgp from_gobgp {',
    '  disabled;',
    `  local ${RECEIVER} as ${LOCAL_AS};`,
    `  neighbor ${GOBGP_FEEDER} port ${ports.gobgp} as ${FEEDER_AS};`,
    '  multihop;',
    '  connect retry time 1;',
    '  start delay time 0;',
    '  ipv4 { import all; export none; };',
    '}',
    'protocol bgp from_replay {',
    '  disabled;',
    `  local ${RECEIVER} as ${LOCAL_AS};`,
    `  neighbor ${REPLAY_FEEDER} port ${ports.replay} as ${FEEDER_AS};`,
    '  multihop;',
    '  connect retry time 1;',
    '  start delay time 0;',
    '  ipv4 { import all; export none; };',
    '}',
    '',
  ].join('\n');
}

/** gobgpd, passive towards both receivers (they connect when their round starts). */
function gobgpConfig(ports: Ports): string {
  const lines = ['[global.config]', `  as = ${FEEDER_AS}`, `  router-id = "10.255.${net}.4"`, `  port = ${ports.gobgp}`, `  local-address-list = ["${GOBGP_FEEDER}"]`];
  for (const address of [OURS, RECEIVER]) {
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${address}"`,
      `    peer-as = ${LOCAL_AS}`,
      '  [neighbors.transport.config]',
      `    local-address = "${GOBGP_FEEDER}"`,
      '    passive-mode = true',
      '  [neighbors.timers.config]',
      '    hold-time = 90',
      '    keepalive-interval = 30',
      '    connect-retry = 1',
      '    idle-hold-time-after-reset = 1',
      '  [neighbors.ebgp-multihop.config]',
      '    enabled = true',
      '    multihop-ttl = 8',
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "ipv4-unicast"',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The replay feeder: a minimal passive BGP speaker (run as a child process, so that its CPU
 * is nobody's) that writes the whole pre-encoded table once a session is up (serveReplay).
 */
async function replayFeeder(host: string, port: number): Promise<void> {
  const messages = encodeReplay({ prefixes: N, feederAs: FEEDER_AS, nextHop: NEXT_HOP }, `10.255.${net}.5`);
  const server = createServer((sock: Socket) => serveReplay(sock, messages));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  process.stdout.write(`replay feeder ready: ${messages.table.length} bytes of UPDATEs\n`);
}

function startReplayFeeder(ports: Ports): Promise<ChildProcess> {
  return startReadyChild([process.execPath, '--import', 'tsx', import.meta.filename, '--replay-feeder', String(ports.replay), '--prefixes', String(N), '--net', String(net)], 'replay feeder');
}

/** gobgpd with the feed pre-loaded (an MRT TABLE_DUMP_V2 this benchmark writes, `gobgp mrt inject global`). */
function startGobgp(dir: string, ports: Ports): Promise<Gobgp> {
  return startGobgpd(dir, gobgpConfig(ports), `127.0.0.1:${ports.gobgpApi}`, { prefixes: N, feederAs: FEEDER_AS, nextHop: NEXT_HOP });
}

type FeedName = 'bird' | 'gobgp' | 'replay';
type ReceiverName = 'tabby' | 'bird';

interface Round {
  feed: FeedName;
  receiver: ReceiverName;
  /** From starting the session to every prefix received (connection set-up included). */
  seconds: number;
  /** From the session reaching Established to every prefix received. */
  transferSeconds: number;
  prefixesPerSecond: number;
  /** CPU time (user + system) the receiving process used in the round. */
  cpuSeconds: number;
  /** cpuSeconds / transferSeconds: how busy the receiver was while taking the feed in. */
  busy: number;
}

/** How a feed's session towards each receiver is started and shut. */
interface Feed {
  name: FeedName;
  title: string;
  /** The receiving BIRD's protocol for this feed. */
  birdProtocol: string;
  start(receiver: ReceiverName): Promise<void>;
  stop(receiver: ReceiverName): Promise<void>;
}

interface FeedSummary {
  feed: FeedName;
  bestTransferSeconds: Record<ReceiverName, number>;
  bestTotalSeconds: Record<ReceiverName, number>;
  bestCpuSeconds: Record<ReceiverName, number>;
  busy: Record<ReceiverName, number>;
  ratioTabbyToBird: number;
  cpuRatioTabbyToBird: number;
  tabbyHeapBytesPerPrefix: number;
  birdMemory: Record<string, number>;
  birdTableBytesPerPrefix: number;
}

async function main(): Promise<void> {
  const run = await BgpBenchRun.start('bgp-bench');
  const { dir, daemons } = run;
  try {
    const ports: Ports = { feeder: await freePort(FEEDER), ours: await freePort(OURS), receiver: await freePort(RECEIVER), gobgp: await freePort(GOBGP_FEEDER), gobgpApi: await freePort('127.0.0.1'), replay: await freePort(REPLAY_FEEDER) };
    process.stderr.write(`bgp bench: ${N} prefixes, ${ROUNDS} round(s) per receiver and feeder; BIRD feeder ${FEEDER}:${ports.feeder}, GoBGP feeder ${GOBGP_FEEDER}:${ports.gobgp}\n`);
    let t0 = performance.now();
    const feeder = await startBird(dir, 'feeder', feederConfig(ports));
    daemons.push(feeder.child);
    process.stderr.write(`feeder BIRD up with ${N} static routes in ${fmt((performance.now() - t0) / 1000)} s\n`);
    t0 = performance.now();
    const gobgp = await startGobgp(dir, ports);
    daemons.push(gobgp.child);
    process.stderr.write(`feeder gobgpd up with ${N} routes (MRT inject) in ${fmt((performance.now() - t0) / 1000)} s\n`);
    daemons.push(await startReplayFeeder(ports));
    const receiver = await startBird(dir, 'receiver', receiverConfig(ports));
    daemons.push(receiver.child);

    // Our speaker, configured directly (no datastore): the BIRD feeder as a passive peer,
    // the GoBGP feeder as an active one while its rounds run.
    let target: { resolve: () => void; at: number } | undefined;
    const progress = { current: undefined as Progress | undefined };
    const establishedAt = new Map<string, number>();
    const speaker = new BgpSpeaker({
      logger: createLogger({ level: 'warn' }),
      listenHost: OURS,
      connectRetrySeconds: 1,
      sessionFactory: (o) => {
        const s = new BgpSession(o);
        s.on('established', () => establishedAt.set(o.peerAddress, performance.now()));
        return s;
      },
      onRoutes: () => {
        const n = speaker?.importedCount ?? 0;
        progress.current?.update(n);
        if (target && n >= N) {
          target.at = performance.now();
          target.resolve();
        }
      },
    });
    const peer = (address: string, port: number, passive: boolean): PeerConfig => ({
      id: `${address}:${port}`, address, port, asNumber: FEEDER_AS, peerType: 'global', source: 'bench', passive, holdTime: 90, restartTime: 120, routeReflectorClient: false,
    });
    const birdFeederPeer = peer(FEEDER, ports.feeder, true);
    const gobgpPeer = peer(GOBGP_FEEDER, ports.gobgp, false);
    const replayPeer = peer(REPLAY_FEEDER, ports.replay, false);
    const config = (peers: PeerConfig[]): SpeakerConfig => ({
      nodeName: 'bench', enabled: true, routerId: `10.255.${net}.2`, localAddress: OURS, asNumber: LOCAL_AS, listenPort: ports.ours, bindMode: 'NodeIP', meshEnabled: false,
      peers, exports: [], notes: [], routing: { pools: [], nodesByAddress: {}, subnetsByAddress: {} },
    });
    run.speaker = speaker;
    await speaker.update(config([birdFeederPeer]));

    const feeds: Feed[] = [
      {
        name: 'bird', title: 'BIRD feeder (paced by the feeder)', birdProtocol: 'from_feed',
        start: async (r) => void (await feeder.birdc(r === 'tabby' ? 'enable to_tabby' : 'enable to_bird')),
        stop: async (r) => void (await feeder.birdc(r === 'tabby' ? 'disable to_tabby' : 'disable to_bird')),
      },
      {
        name: 'gobgp', title: 'GoBGP feeder, table pre-loaded (paced by gobgpd\'s own send rate)', birdProtocol: 'from_gobgp',
        start: async (r) => (r === 'tabby' ? speaker!.update(config([birdFeederPeer, gobgpPeer])) : void (await receiver.birdc('enable from_gobgp'))),
        stop: async (r) => (r === 'tabby' ? speaker!.update(config([birdFeederPeer])) : void (await receiver.birdc('disable from_gobgp'))),
      },
      {
        name: 'replay', title: 'Replay feeder: the table pre-encoded and written at once (paced by the receiver)', birdProtocol: 'from_replay',
        start: async (r) => (r === 'tabby' ? speaker!.update(config([birdFeederPeer, replayPeer])) : void (await receiver.birdc('enable from_replay'))),
        stop: async (r) => (r === 'tabby' ? speaker!.update(config([birdFeederPeer])) : void (await receiver.birdc('disable from_replay'))),
      },
    ];

    const rounds: Round[] = [];
    const heapPerPrefix: Partial<Record<FeedName, number>> = {};
    const birdMem: Partial<Record<FeedName, Record<string, number>>> = {};

    const tabbyRound = async (feed: Feed, p: Progress, first: boolean): Promise<Omit<Round, 'feed' | 'receiver' | 'prefixesPerSecond' | 'busy'>> => {
      const peerAddress = { bird: FEEDER, gobgp: GOBGP_FEEDER, replay: REPLAY_FEEDER }[feed.name];
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const cpu0 = process.cpuUsage();
      progress.current = p;
      const done = new Promise<void>((resolve) => (target = { resolve, at: 0 }));
      establishedAt.delete(peerAddress);
      const start = performance.now();
      await feed.start('tabby');
      await done;
      const at = (target as { at: number }).at;
      const used = process.cpuUsage(cpu0);
      progress.current = undefined;
      target = undefined;
      gc();
      if (first) heapPerPrefix[feed.name] = (process.memoryUsage().heapUsed - heapBefore) / N;
      await feed.stop('tabby');
      await waitFor('our speaker to drop the feed', 60_000, async () => (speaker?.importedCount ?? 0) === 0);
      return { seconds: (at - start) / 1000, transferSeconds: (at - (establishedAt.get(peerAddress) ?? start)) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
    };

    const birdRound = async (feed: Feed, p: Progress, first: boolean): Promise<Omit<Round, 'feed' | 'receiver' | 'prefixesPerSecond' | 'busy'>> => {
      const pid = receiver.child.pid as number;
      const cpu0 = await processCpuSeconds(pid);
      const start = performance.now();
      await feed.start('bird');
      // BIRD's Established is seen by polling: its transfer time is rounded up by up to one poll.
      while (!/Established/.test(await receiver.birdc(`show protocols ${feed.birdProtocol}`))) await sleep(5);
      const established = performance.now();
      for (;;) {
        const n = await birdRouteCount(receiver, feed.birdProtocol);
        p.update(n);
        if (n >= N) break;
        await sleep(20);
      }
      const end = performance.now();
      const cpuSeconds = (await processCpuSeconds(pid)) - cpu0;
      if (first) birdMem[feed.name] = await birdMemory(receiver);
      await feed.stop('bird');
      while ((await birdRouteCount(receiver, feed.birdProtocol)) > 0) await sleep(50);
      return { seconds: (end - start) / 1000, transferSeconds: (end - established) / 1000, cpuSeconds };
    };

    for (const feed of feeds) {
      for (let r = 0; r < ROUNDS; r++) {
        for (const who of r % 2 === 0 ? (['bird', 'tabby'] as const) : (['tabby', 'bird'] as const)) {
          const p = new Progress(`${feed.name} feeder, round ${r + 1}, ${who}`, N);
          const m = who === 'tabby' ? await tabbyRound(feed, p, r === 0) : await birdRound(feed, p, r === 0);
          const busy = m.cpuSeconds / m.transferSeconds;
          p.done(`${fmt(m.seconds)} s, ${fmt(m.transferSeconds)} s after Established, ${fmt(m.cpuSeconds)} CPU s, ${fmt(busy * 100)}% busy`);
          rounds.push({ feed: feed.name, receiver: who, ...m, prefixesPerSecond: N / m.transferSeconds, busy });
        }
      }
    }

    const summaries: FeedSummary[] = feeds.map((feed) => {
      const of = (who: ReceiverName) => rounds.filter((x) => x.feed === feed.name && x.receiver === who);
      const best = (who: ReceiverName, f: 'seconds' | 'transferSeconds' | 'cpuSeconds') => Math.min(...of(who).map((x) => x[f]));
      const both = (f: 'seconds' | 'transferSeconds' | 'cpuSeconds') => ({ tabby: best('tabby', f), bird: best('bird', f) });
      // Busy of the fastest round, the one the ratio uses.
      const busyOf = (who: ReceiverName) => of(who).reduce((a, b) => (b.transferSeconds < a.transferSeconds ? b : a)).busy;
      const mem = birdMem[feed.name] ?? {};
      const transfer = both('transferSeconds');
      const cpu = both('cpuSeconds');
      return {
        feed: feed.name,
        bestTransferSeconds: transfer,
        bestTotalSeconds: both('seconds'),
        bestCpuSeconds: cpu,
        busy: { tabby: busyOf('tabby'), bird: busyOf('bird') },
        ratioTabbyToBird: transfer.tabby / transfer.bird,
        cpuRatioTabbyToBird: cpu.tabby / cpu.bird,
        tabbyHeapBytesPerPrefix: heapPerPrefix[feed.name] ?? NaN,
        birdMemory: mem,
        birdTableBytesPerPrefix: ((mem['Routing tables'] ?? NaN) + (mem['Route attributes'] ?? NaN)) / N,
      };
    });

    const json = { benchmark: 'bgp-receive', environment: environment(), prefixes: N, rounds, feeds: summaries, target: 'tabby no slower than BIRD (ratio <= 1)' };
    const headers = ['receiver', 'transfer s', 'prefixes/s', 'ratio to BIRD', 'total s', 'CPU s', 'CPU ratio', 'busy %', 'bytes/prefix'];
    const sections = summaries.flatMap((s, i) => [
      `## ${feeds[i]!.title}`,
      '',
      markdownTable(headers, [
        ['tabby BgpSpeaker (Loc-RIB + dataplane updates)', fmt(s.bestTransferSeconds.tabby), fmt(N / s.bestTransferSeconds.tabby), fmt(s.ratioTabbyToBird), fmt(s.bestTotalSeconds.tabby), fmt(s.bestCpuSeconds.tabby), fmt(s.cpuRatioTabbyToBird), fmt(s.busy.tabby * 100), fmt(s.tabbyHeapBytesPerPrefix)],
        ['BIRD 2 (imported-routes counter)', fmt(s.bestTransferSeconds.bird), fmt(N / s.bestTransferSeconds.bird), 1, fmt(s.bestTotalSeconds.bird), fmt(s.bestCpuSeconds.bird), 1, fmt(s.busy.bird * 100), fmt(s.birdTableBytesPerPrefix)],
      ]),
      `Target: no slower than BIRD (ratio <= 1): ${s.ratioTabbyToBird <= 1 ? 'met' : 'not met'} in this run.`,
      '',
    ]);
    const md = [
      `# BGP receive: ${N} IPv4 prefixes`,
      '',
      `Best of ${ROUNDS} round(s) per receiver and feeder, receivers alternating. Transfer: from the session reaching Established to the receiver holding every prefix (the ratio uses this); total: from starting the session (connection set-up included). CPU s: the receiving process's user + system time in the round (ours includes this benchmark's own little bookkeeping). Busy: CPU s / transfer s of the fastest round; near 100% the receiver itself was the limit, well below it the receiver was waiting for the feed.`,
      '',
      ...sections,
      'Which case measures what: the BIRD feeder paces its export, so both receivers mostly wait and the transfer ratio says little. gobgpd holds the whole table before the session starts, but sends it more slowly than either receiver takes it in (both well under 100% busy). Only the replay feeder (the same table as 4096-byte UPDATEs, written to the socket at once by a minimal BGP speaker in its own process) is faster than both receivers: that case is the receivers\' own speed. BIRD\'s CPU time comes from /proc in 10 ms ticks, so its small figures are coarse.',
      '',
      'Bytes per prefix: ours is V8 heap growth after a forced GC with the table in; BIRD\'s is its "Routing tables" + "Route attributes" memory.',
      '',
      `Environment: ${json.environment.cpuModel}, ${json.environment.cpus} CPUs, Node ${json.environment.node}, ${json.environment.date}`,
      '',
    ].join('\n');
    const out = await writeResults('bgp', json, md);
    for (const s of summaries) {
      process.stderr.write(`${s.feed} feeder: ratio tabby/BIRD ${fmt(s.ratioTabbyToBird)} (tabby ${fmt(s.bestTransferSeconds.tabby)} s, BIRD ${fmt(s.bestTransferSeconds.bird)} s); CPU ${fmt(s.bestCpuSeconds.tabby)} s vs ${fmt(s.bestCpuSeconds.bird)} s; ${fmt(s.tabbyHeapBytesPerPrefix)} vs ${fmt(s.birdTableBytesPerPrefix)} bytes/prefix\n`);
    }
    process.stderr.write(`wrote ${out.jsonPath} and ${out.mdPath}\n`);
  } finally {
    await run.cleanup();
  }
}

const entry = REPLAY_CHILD ? replayFeeder(REPLAY_FEEDER, intArg('replay-feeder', 179)) : main();
entry.catch((err: unknown) => {
  process.stderr.write(`bgp bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
