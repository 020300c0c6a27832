/**
 * What a BGP password costs: a full table received over a TCP-MD5 signed session against the
 * same table unsigned, for our speaker and for BIRD 2, in the same run.
 *
 *   node --import tsx bench/bgp-md5.bench.ts [--prefixes 100000] [--rounds 3]
 *
 * The feed is the replay feeder of bench/bgp.bench.ts: the table pre-encoded as 4096-byte
 * UPDATEs, written at once by a minimal speaker in a child process, so the receivers set
 * the pace. It listens twice: a plain port, and a port whose listening socket carries a
 * TCP-MD5 key for each receiver's address (through the native addon, as the agent's
 * listener does). Receivers: our BgpSpeaker (done when the N-th route has gone out as a
 * dataplane update), password read through a SecretStore and signed by the addon; BIRD 2
 * with `password` (done when its imported-routes counter says N, polled every 20 ms).
 * Rounds alternate receivers and signing; the table is withdrawn (session shut) between
 * rounds.
 *
 * Reported: best transfer time (session Established -> every prefix held) per receiver,
 * signed and unsigned, the signed/unsigned ratio of each (the cost of MD5 to that
 * receiver: the kernel signs and checks every segment for both), and our signed time as a
 * ratio to BIRD's signed time. Everything on 127.N.0.x (N from the pid); no kernel routes.
 * This reports, it never asserts.
 */
import { type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { createLogger } from '../src/log/logger.js';
import { BgpSession } from '../src/bgp/session/session.js';
import type { PeerConfig, SpeakerConfig } from '../src/bgp/speaker/config.js';
import { BgpSpeaker } from '../src/bgp/speaker/speaker.js';
import { TcpMd5Sockets } from '../src/native/tcp-md5.js';
import { birdRouteCount, encodeReplay, freePort, processCpuSeconds, serveReplay, sleep, startBird, startReadyChild, waitFor } from './support/bgp-feeders.js';
import { BgpBenchRun } from './support/bgp-bench-run.js';
import { intArg } from './support/args.js';
import { Progress } from './support/progress.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';


const N = intArg('prefixes', 100_000);
const ROUNDS = intArg('rounds', 3);
const FEEDER_CHILD = process.argv.includes('--replay-feeder');
const net = FEEDER_CHILD ? intArg('net', 1) : 1 + (process.pid % 200);
const OURS = `127.${net}.0.22`;
const RECEIVER = `127.${net}.0.23`;
const FEEDER = `127.${net}.0.25`;
const FEEDER_AS = 65001;
const LOCAL_AS = 64512;
const NEXT_HOP = '192.0.2.2';
const PASSWORD = 'bench-md5-password';

type ReceiverName = 'tabby' | 'bird';
type Signing = 'plain' | 'md5';

interface Round {
  receiver: ReceiverName;
  signing: Signing;
  transferSeconds: number;
  cpuSeconds: number;
}

/** The feeder child: the same table on a plain port and on a port keyed for both receivers. */
async function replayFeeder(plainPort: number, md5Port: number): Promise<void> {
  const messages = encodeReplay({ prefixes: N, feederAs: FEEDER_AS, nextHop: NEXT_HOP }, `10.255.${net}.25`);
  const listen = (port: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer((sock: Socket) => serveReplay(sock, messages));
      server.once('error', reject);
      server.listen(port, FEEDER, () => resolve(server));
    });
  await listen(plainPort);
  const signed = await listen(md5Port);
  const fd = (signed as unknown as { _handle: { fd: number } })._handle.fd;
  const md5 = new TcpMd5Sockets();
  for (const peer of [OURS, RECEIVER]) md5.setKey(fd, peer, PASSWORD);
  process.stdout.write(`replay feeder ready: ${messages.table.length} bytes of UPDATEs\n`);
}

function startReplayFeeder(plainPort: number, md5Port: number): Promise<ChildProcess> {
  return startReadyChild([process.execPath, '--import', 'tsx', import.meta.filename, '--replay-feeder', '--plain', String(plainPort), '--md5', String(md5Port), '--prefixes', String(N), '--net', String(net)], 'replay feeder');
}

/** BIRD's protocol names ("md5" is one of its keywords). */
const birdProtocol = (s: Signing): string => `feed_${s}`;

function receiverConfig(plainPort: number, md5Port: number): string {
  const proto = (name: string, port: number, password: boolean) => [
    `protocol bgp ${name} {`,
    '  disabled;',
    `  local ${RECEIVER} as ${LOCAL_AS};`,
    `  neighbor ${FEEDER} port ${port} as ${FEEDER_AS};`,
    '  multihop;',
    '  connect retry time 1;',
    '  start delay time 0;',
    ...(password ? [`  password "${PASSWORD}";`] : []),
    '  ipv4 { import all; export none; };',
    '}',
  ];
  return [`router id 10.255.${net}.23;`, 'protocol device {}', 'protocol static nh { ipv4; route 192.0.2.0/24 via "lo"; }', ...proto(birdProtocol('plain'), plainPort, false), ...proto(birdProtocol('md5'), md5Port, true), ''].join('\n');
}

async function main(): Promise<void> {
  const run = await BgpBenchRun.start('bgp-md5-bench');
  const { dir, daemons } = run;
  try {
    const ports = { plain: await freePort(FEEDER), md5: await freePort(FEEDER), ours: await freePort(OURS) };
    process.stderr.write(`bgp-md5 bench: ${N} prefixes, ${ROUNDS} round(s) per receiver, signed and unsigned; feeder ${FEEDER} plain :${ports.plain}, TCP-MD5 :${ports.md5}\n`);
    daemons.push(await startReplayFeeder(ports.plain, ports.md5));
    const receiver = await startBird(dir, 'receiver', receiverConfig(ports.plain, ports.md5));
    daemons.push(receiver.child);

    let target: { resolve: () => void; at: number } | undefined;
    let progress: Progress | undefined;
    const establishedAt = new Map<number, number>();
    const speaker = new BgpSpeaker({
      logger: createLogger({ level: 'warn' }),
      listenHost: OURS,
      connectRetrySeconds: 1,
      tcpMd5: new TcpMd5Sockets(),
      secrets: { read: async () => ({ found: true, value: PASSWORD }) },
      sessionFactory: (o) => {
        const s = new BgpSession(o);
        s.on('established', () => establishedAt.set(o.peerPort ?? 179, performance.now()));
        return s;
      },
      onRoutes: () => {
        const n = speaker?.importedCount ?? 0;
        progress?.update(n);
        if (target && n >= N) {
          target.at = performance.now();
          target.resolve();
        }
      },
    });
    const feedPeer = (signing: Signing): PeerConfig => {
      const port = signing === 'md5' ? ports.md5 : ports.plain;
      return {
        id: `${FEEDER}:${port}`, address: FEEDER, port, asNumber: FEEDER_AS, peerType: 'global', source: 'bench', passive: false, holdTime: 90, restartTime: 120, routeReflectorClient: false,
        ...(signing === 'md5' ? { password: { name: 'bench', key: 'md5' } } : {}),
      };
    };
    const config = (peers: PeerConfig[]): SpeakerConfig => ({
      nodeName: 'bench', enabled: true, routerId: `10.255.${net}.22`, localAddress: OURS, asNumber: LOCAL_AS, listenPort: ports.ours, bindMode: 'NodeIP', meshEnabled: false,
      peers, exports: [], notes: [], routing: { pools: [], nodesByAddress: {}, subnetsByAddress: {} },
    });
    run.speaker = speaker;
    await speaker.update(config([]));

    const tabbyRound = async (signing: Signing): Promise<Omit<Round, 'receiver' | 'signing'>> => {
      const port = signing === 'md5' ? ports.md5 : ports.plain;
      const cpu0 = process.cpuUsage();
      const done = new Promise<void>((resolve) => (target = { resolve, at: 0 }));
      establishedAt.delete(port);
      const start = performance.now();
      await speaker!.update(config([feedPeer(signing)]));
      await done;
      const at = target!.at;
      const used = process.cpuUsage(cpu0);
      target = undefined;
      await speaker!.update(config([]));
      await waitFor('our speaker to drop the feed', 60_000, async () => (speaker?.importedCount ?? 0) === 0);
      return { transferSeconds: (at - (establishedAt.get(port) ?? start)) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
    };

    const birdRound = async (signing: Signing): Promise<Omit<Round, 'receiver' | 'signing'>> => {
      const pid = receiver.child.pid as number;
      const cpu0 = await processCpuSeconds(pid);
      const proto = birdProtocol(signing);
      await receiver.birdc(`enable ${proto}`);
      while (!/Established/.test(await receiver.birdc(`show protocols ${proto}`))) await sleep(5);
      const established = performance.now();
      for (;;) {
        const n = await birdRouteCount(receiver, proto);
        progress?.update(n);
        if (n >= N) break;
        await sleep(20);
      }
      const end = performance.now();
      const cpuSeconds = (await processCpuSeconds(pid)) - cpu0;
      await receiver.birdc(`disable ${proto}`);
      while ((await birdRouteCount(receiver, proto)) > 0) await sleep(50);
      return { transferSeconds: (end - established) / 1000, cpuSeconds };
    };

    const rounds: Round[] = [];
    const order: Array<[ReceiverName, Signing]> = [['bird', 'plain'], ['tabby', 'plain'], ['bird', 'md5'], ['tabby', 'md5']];
    for (let r = 0; r < ROUNDS; r++) {
      // Every round turns the order round, so no case always runs on the warmest machine.
      for (let k = 0; k < order.length; k++) {
        const [receiverName, signing] = order[(k + r) % order.length]!;
        progress = new Progress(`round ${r + 1}, ${receiverName} ${signing === 'md5' ? 'TCP-MD5' : 'unsigned'}`, N);
        const m = receiverName === 'tabby' ? await tabbyRound(signing) : await birdRound(signing);
        progress.done(`${fmt(m.transferSeconds)} s after Established, ${fmt(m.cpuSeconds)} CPU s`);
        rounds.push({ receiver: receiverName, signing, ...m });
      }
    }

    const best = (who: ReceiverName, signing: Signing, f: 'transferSeconds' | 'cpuSeconds'): number =>
      Math.min(...rounds.filter((x) => x.receiver === who && x.signing === signing).map((x) => x[f]));
    const summary = (['tabby', 'bird'] as const).map((who) => ({
      receiver: who,
      plainSeconds: best(who, 'plain', 'transferSeconds'),
      md5Seconds: best(who, 'md5', 'transferSeconds'),
      plainCpuSeconds: best(who, 'plain', 'cpuSeconds'),
      md5CpuSeconds: best(who, 'md5', 'cpuSeconds'),
      md5ToPlain: best(who, 'md5', 'transferSeconds') / best(who, 'plain', 'transferSeconds'),
      md5ToBirdMd5: best(who, 'md5', 'transferSeconds') / best('bird', 'md5', 'transferSeconds'),
    }));
    const json = { benchmark: 'bgp-md5', environment: environment(), prefixes: N, rounds, summary };
    const label: Record<ReceiverName, string> = { tabby: 'tabby BgpSpeaker (addon-signed)', bird: 'BIRD 2 (`password`)' };
    const md = [
      `# BGP over TCP-MD5: ${N} IPv4 prefixes, signed and unsigned`,
      '',
      `Best of ${ROUNDS} round(s) per receiver and signing, the order turned round every round. Transfer: session Established -> every prefix held. The replay feeder writes the pre-encoded table at once, so the receivers set the pace. CPU s: the receiving process's user + system time (BIRD's from /proc in 10 ms ticks).`,
      '',
      markdownTable(
        ['receiver', 'unsigned s', 'TCP-MD5 s', 'MD5 / unsigned', 'MD5 ratio to BIRD MD5', 'unsigned CPU s', 'MD5 CPU s'],
        summary.map((s) => [label[s.receiver], fmt(s.plainSeconds), fmt(s.md5Seconds), fmt(s.md5ToPlain), fmt(s.md5ToBirdMd5), fmt(s.plainCpuSeconds), fmt(s.md5CpuSeconds)]),
      ),
      `Rounds, transfer s: ${(['tabby', 'bird'] as const).flatMap((who) => (['plain', 'md5'] as const).map((sg) => `${who} ${sg} ${rounds.filter((x) => x.receiver === who && x.signing === sg).map((x) => fmt(x.transferSeconds)).join(', ')}`)).join('; ')}.`,
      '',
      `Environment: ${json.environment.cpuModel}, ${json.environment.cpus} CPUs, Node ${json.environment.node}, ${json.environment.date}`,
      '',
    ].join('\n');
    const out = await writeResults('bgp-md5', json, md);
    for (const s of summary) process.stderr.write(`${s.receiver}: unsigned ${fmt(s.plainSeconds)} s, TCP-MD5 ${fmt(s.md5Seconds)} s (x${fmt(s.md5ToPlain)}); MD5 ratio to BIRD MD5 ${fmt(s.md5ToBirdMd5)}\n`);
    process.stderr.write(`wrote ${out.jsonPath} and ${out.mdPath}\n`);
  } finally {
    await run.cleanup();
  }
}

const entry = FEEDER_CHILD ? replayFeeder(intArg('plain', 179), intArg('md5', 179)) : main();
entry.catch((err: unknown) => {
  process.stderr.write(`bgp-md5 bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
