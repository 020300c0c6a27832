/**
 * BGP receive benchmark: how long our speaker takes to take in a full feed, next to BIRD
 * taking in the same feed on the same machine in the same run.
 *
 *   node --import tsx bench/bgp.bench.ts [--prefixes 100000] [--rounds 2]
 *
 * A feeder BIRD 2 holds N static IPv4 prefixes (/28s under 10.0.0.0/8) and two BGP
 * protocols, both disabled: one towards our BgpSpeaker (in this process), one towards a
 * receiving BIRD. Each round enables one of them and measures from `birdc enable` until the
 * receiver holds all N routes: for us, when the speaker has put the N-th learned route into
 * its Loc-RIB and emitted the dataplane update for it (onRoutes); for BIRD, when
 * `birdc show route count` says N (polled every 20 ms, so BIRD's time is rounded up by at
 * most that). The protocol is disabled again (all routes withdrawn) before the next round.
 * Rounds alternate receivers so that neither always runs on a warmer machine.
 *
 * Also reported: our heap growth per prefix (heap after a forced GC with the feed in,
 * minus before), and BIRD's own table memory (`show memory`) for scale.
 *
 * Everything listens on 127.N.0.x (N from the pid) with free ports; no kernel routes are
 * touched (no kernel protocol in either BIRD; our speaker has no dataplane here).
 * Target: no slower than BIRD. This reports, it never asserts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLogger } from '../src/log/logger.js';
import { BgpSpeaker } from '../src/bgp/speaker/speaker.js';
import { BgpSession } from '../src/bgp/session/session.js';
import type { SpeakerConfig } from '../src/bgp/speaker/config.js';
import { Progress } from './support/progress.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';

const execFileP = promisify(execFile);
const BIRD = '/usr/sbin/bird';
const BIRDC = '/usr/sbin/birdc';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}

const N = arg('prefixes', 100_000);
const ROUNDS = arg('rounds', 2);
const net = 1 + (process.pid % 200);
const FEEDER = `127.${net}.0.1`;
const OURS = `127.${net}.0.2`;
const RECEIVER = `127.${net}.0.3`;
const FEEDER_AS = 65001;
const LOCAL_AS = 64512;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function prefixAt(i: number): string {
  // /28s: 16 per /24, 4096 per /16, up to 2^20 under 10.0.0.0/8.
  return `10.${(i >> 12) & 255}.${(i >> 4) & 255}.${(i & 15) << 4}/28`;
}

async function freePort(host: string): Promise<number> {
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

interface Bird {
  child: ChildProcess;
  birdc(cmd: string): Promise<string>;
}

async function startBird(dir: string, name: string, config: string): Promise<Bird> {
  const conf = join(dir, `${name}.conf`);
  const sock = join(dir, `${name}.ctl`);
  await writeFile(conf, config);
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', BIRD, '-f', '-c', conf, '-s', sock, '-P', join(dir, `${name}.pid`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const birdc = async (cmd: string): Promise<string> => (await execFileP(BIRDC, ['-s', sock, ...cmd.split(' ')], { timeout: 30_000, maxBuffer: 1 << 20 })).stdout;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} BIRD exited: ${err}`);
    if ((await birdc('show status').catch(() => '')).includes('Daemon is up')) return { child, birdc };
    if (Date.now() > deadline) throw new Error(`${name} BIRD did not come up: ${err}`);
    await sleep(100);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function feederConfig(ports: { feeder: number; ours: number; receiver: number }): string {
  const routes: string[] = [];
  for (let i = 0; i < N; i++) routes.push(`  route ${prefixAt(i)} blackhole;`);
  const proto = (name: string, address: string, port: number) => [
    `protocol bgp ${name} {`,
    '  disabled;',
    `  local ${FEEDER} port ${ports.feeder} as ${FEEDER_AS};`,
    `  neighbor ${address} port ${port} as ${LOCAL_AS};`,
    '  multihop;',
    '  connect retry time 1;',
    '  start delay time 0;',
    // Loopback next hops are invalid (RFC 4271 §5.1.3): send a TEST-NET-1 one.
    '  ipv4 { import none; export where proto = "feed"; next hop address 192.0.2.2; };',
    '}',
  ];
  return [`router id 10.255.${net}.1;`, 'protocol device {}', 'protocol static feed {', '  ipv4;', ...routes, '}', ...proto('to_tabby', OURS, ports.ours), ...proto('to_bird', RECEIVER, ports.receiver), ''].join('\n');
}

function receiverConfig(ports: { feeder: number; receiver: number }): string {
  return [
    `router id 10.255.${net}.3;`,
    'protocol device {}',
    // Makes the feeder's next hop resolvable, so every route is a usable one.
    'protocol static nh { ipv4; route 192.0.2.0/24 via "lo"; }',
    'protocol bgp from_feed {',
    `  local ${RECEIVER} port ${ports.receiver} as ${LOCAL_AS};`,
    `  neighbor ${FEEDER} port ${ports.feeder} as ${FEEDER_AS};`,
    '  multihop;',
    '  passive on;',
    '  ipv4 { import all; export none; };',
    '}',
    '',
  ].join('\n');
}

async function birdRouteCount(r: Bird): Promise<number> {
  const out = await r.birdc('show route protocol from_feed count');
  const m = /(\d+) of (\d+) routes/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** BIRD's `show memory` lines, in bytes. */
async function birdMemory(b: Bird): Promise<Record<string, number>> {
  const out = await b.birdc('show memory');
  const unit: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
  const res: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^\s*([A-Za-z ]+):\s+([\d.]+)\s+(B|kB|MB|GB)/.exec(line);
    if (m) res[(m[1] as string).trim()] = Number(m[2]) * (unit[m[3] as string] ?? 1);
  }
  return res;
}

interface Round {
  receiver: 'tabby' | 'bird';
  /** From `birdc enable` to every prefix received (connection set-up included). */
  seconds: number;
  /** From the session reaching Established to every prefix received. */
  transferSeconds: number;
  prefixesPerSecond: number;
  /** CPU time (user + system) the receiving process used in the round. */
  cpuSeconds: number;
}

/** utime + stime of a process, in seconds (USER_HZ is 100 on Linux). */
async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `tabby-bgp-bench-${process.pid}-`));
  const birds: Bird[] = [];
  let speaker: BgpSpeaker | undefined;
  try {
    const ports = { feeder: await freePort(FEEDER), ours: await freePort(OURS), receiver: await freePort(RECEIVER) };
    process.stderr.write(`bgp bench: ${N} prefixes, ${ROUNDS} round(s) per receiver; feeder ${FEEDER}:${ports.feeder}\n`);
    const t0 = performance.now();
    const feeder = await startBird(dir, 'feeder', feederConfig(ports));
    birds.push(feeder);
    process.stderr.write(`feeder BIRD up with ${N} static routes in ${fmt((performance.now() - t0) / 1000)} s\n`);
    const receiver = await startBird(dir, 'receiver', receiverConfig(ports));
    birds.push(receiver);

    // Our speaker, configured directly (no datastore): one passive global peer, the feeder.
    let target: { resolve: () => void; at: number } | undefined;
    const progress = { current: undefined as Progress | undefined };
    let establishedAt = 0;
    speaker = new BgpSpeaker({
      logger: createLogger({ level: 'warn' }),
      listenHost: OURS,
      sessionFactory: (o) => {
        const s = new BgpSession(o);
        s.on('established', () => (establishedAt = performance.now()));
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
    const config: SpeakerConfig = {
      nodeName: 'bench', enabled: true, routerId: `10.255.${net}.2`, localAddress: OURS, asNumber: LOCAL_AS, listenPort: ports.ours, bindMode: 'NodeIP', meshEnabled: false,
      peers: [{ id: `${FEEDER}:${ports.feeder}`, address: FEEDER, port: ports.feeder, asNumber: FEEDER_AS, peerType: 'global', source: 'bench', passive: true, holdTime: 90, restartTime: 120, routeReflectorClient: false }],
      exports: [], notes: [], routing: { pools: [], nodesByAddress: {}, subnetsByAddress: {} },
    };
    await speaker.update(config);

    const rounds: Round[] = [];
    let heapPerPrefix = NaN;
    let birdMem: Record<string, number> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const who of r % 2 === 0 ? (['bird', 'tabby'] as const) : (['tabby', 'bird'] as const)) {
        const p = new Progress(`round ${r + 1} ${who}`, N);
        let seconds: number;
        let transfer: number;
        let cpu: number;
        if (who === 'tabby') {
          const cpu0 = process.cpuUsage();
          gc();
          const heapBefore = process.memoryUsage().heapUsed;
          progress.current = p;
          const done = new Promise<void>((resolve) => (target = { resolve, at: 0 }));
          const start = performance.now();
          await feeder.birdc('enable to_tabby');
          await done;
          seconds = ((target as { at: number }).at - start) / 1000;
          transfer = ((target as { at: number }).at - establishedAt) / 1000;
          const used = process.cpuUsage(cpu0);
          cpu = (used.user + used.system) / 1e6;
          progress.current = undefined;
          gc();
          if (r === 0) heapPerPrefix = (process.memoryUsage().heapUsed - heapBefore) / N;
          target = undefined;
          await feeder.birdc('disable to_tabby');
          while ((speaker.importedCount ?? 0) > 0) await sleep(20);
        } else {
          const cpu0 = await processCpuSeconds(receiver.child.pid as number);
          const start = performance.now();
          await feeder.birdc('enable to_bird');
          // BIRD's Established is seen by polling: its transfer time is rounded up by up to one poll.
          while (!/Established/.test(await receiver.birdc('show protocols from_feed'))) await sleep(5);
          const established = performance.now();
          for (;;) {
            const n = await birdRouteCount(receiver);
            p.update(n);
            if (n >= N) break;
            await sleep(20);
          }
          seconds = (performance.now() - start) / 1000;
          transfer = (performance.now() - established) / 1000;
          cpu = (await processCpuSeconds(receiver.child.pid as number)) - cpu0;
          if (r === 0) birdMem = await birdMemory(receiver);
          await feeder.birdc('disable to_bird');
          while ((await birdRouteCount(receiver)) > 0) await sleep(50);
        }
        p.done(`${fmt(seconds)} s, ${fmt(transfer)} s after Established, ${fmt(cpu)} CPU s`);
        rounds.push({ receiver: who, seconds, transferSeconds: transfer, prefixesPerSecond: N / transfer, cpuSeconds: cpu });
      }
    }

    const best = (who: Round['receiver'], f: 'seconds' | 'transferSeconds' | 'cpuSeconds') => Math.min(...rounds.filter((x) => x.receiver === who).map((x) => x[f]));
    const tabby = best('tabby', 'transferSeconds');
    const bird = best('bird', 'transferSeconds');
    const ratio = tabby / bird;
    const tabbyTotal = best('tabby', 'seconds');
    const birdTotal = best('bird', 'seconds');
    const tabbyCpu = best('tabby', 'cpuSeconds');
    const birdCpu = best('bird', 'cpuSeconds');
    const birdTables = birdMem['Routing tables'] ?? NaN;
    const birdAttrs = birdMem['Route attributes'] ?? NaN;
    const json = {
      benchmark: 'bgp-receive',
      environment: environment(),
      prefixes: N,
      rounds,
      bestTransferSeconds: { tabby, bird },
      bestTotalSeconds: { tabby: tabbyTotal, bird: birdTotal },
      bestCpuSeconds: { tabby: tabbyCpu, bird: birdCpu },
      cpuRatioTabbyToBird: tabbyCpu / birdCpu,
      ratioTabbyToBird: ratio,
      tabbyHeapBytesPerPrefix: heapPerPrefix,
      birdMemory: birdMem,
      birdTableBytesPerPrefix: (birdTables + birdAttrs) / N,
      target: 'tabby no slower than BIRD (ratio <= 1)',
    };
    const md = [
      `# BGP receive: ${N} IPv4 prefixes from a BIRD feeder`,
      '',
      `Best of ${ROUNDS} round(s) per receiver, alternating. Transfer: from the session reaching Established to the receiver holding every prefix (the ratio uses this); total: from enabling the feeder's session (connection set-up included).`,
      '',
      markdownTable(
        ['receiver', 'transfer s', 'prefixes/s', 'ratio to BIRD', 'total s', 'CPU s', 'CPU ratio', 'bytes/prefix'],
        [
          ['tabby BgpSpeaker (Loc-RIB + dataplane updates)', fmt(tabby), fmt(N / tabby), fmt(ratio), fmt(tabbyTotal), fmt(tabbyCpu), fmt(tabbyCpu / birdCpu), fmt(heapPerPrefix)],
          ['BIRD 2 (show route count)', fmt(bird), fmt(N / bird), 1, fmt(birdTotal), fmt(birdCpu), 1, fmt((birdTables + birdAttrs) / N)],
        ],
      ),
      'Both receivers take the same feed from the same feeder, which paces it: similar transfer times can mean the feeder is the limit. CPU s (the receiving process\'s user + system time in the round; ours includes this benchmark\'s own little bookkeeping) shows the cost of receiving independently of that.',
      '',
      'Bytes per prefix: ours is V8 heap growth after a forced GC; BIRD\'s is its "Routing tables" + "Route attributes" memory.',
      `Target: no slower than BIRD (ratio <= 1): ${ratio <= 1 ? 'met' : 'not met'} in this run.`,
      '',
      `Environment: ${json.environment.cpuModel}, ${json.environment.cpus} CPUs, Node ${json.environment.node}, ${json.environment.date}`,
      '',
    ].join('\n');
    const out = await writeResults('bgp', json, md);
    process.stderr.write(`ratio tabby/BIRD ${fmt(ratio)} (tabby ${fmt(tabby)} s, BIRD ${fmt(bird)} s); CPU ${fmt(tabbyCpu)} s vs ${fmt(birdCpu)} s; ${fmt(heapPerPrefix)} heap bytes/prefix\nwrote ${out.jsonPath} and ${out.mdPath}\n`);
  } finally {
    await speaker?.close();
    for (const b of birds) {
      const exited = new Promise<void>((r) => (b.child.exitCode !== null ? r() : b.child.once('exit', () => r())));
      b.child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bgp bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
