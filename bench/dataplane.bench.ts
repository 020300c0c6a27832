/**
 * Pod-to-pod across two nodes: TCP throughput (iperf3) and UDP ping-pong latency
 * (sockperf), with the bpf dataplane, the legacy dataplane, and a BASELINE of the same
 * topology (same lab underlay, node namespaces, veths and proxy ARP) with static kernel
 * routes and no agent at all: plain kernel forwarding. All in one run on one machine, so
 * every figure is also given as a ratio to the baseline.
 *
 *   node --import tsx bench/dataplane.bench.ts        (or: npm run bench -- dataplane)
 *
 * The comparable cases use no encapsulation (ipipMode Never; legacy IPIP needs the kernel
 * ipip module, which these machines lack); one extra row shows bpf with IPIP Always.
 * Throughput: iperf3 -t SECONDS, REPS runs, median. Latency: sockperf ping-pong for
 * SECONDS, p50 and p99 of the round trip. Targets (reported, never asserted): bpf
 * throughput >= 1.0x baseline, bpf p99 no worse than baseline.
 * Writes bench/results/dataplane.{json,md}; progress on stderr. Needs root.
 */
import { spawn } from 'node:child_process';
import { Lab } from '../src/lab/lab.js';
import { runCommand } from '../src/lab/run-command.js';
import type { LabDataplane, LabIpipMode, LabState } from '../src/lab/state.js';
import { createNetns } from '../src/lab/underlay.js';
import { cleanUpOnInterrupt } from './support/interrupt.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';

const SECONDS = Number(process.env.DATAPLANE_BENCH_SECONDS ?? 5);
const REPS = Number(process.env.DATAPLANE_BENCH_REPS ?? 3);
const IPERF_PORT = 5201;
const SOCKPERF_PORT = 11111;

interface CaseResult {
  label: string;
  dataplane: 'baseline' | LabDataplane;
  ipip: LabIpipMode;
  throughputGbps: number[];
  medianGbps: number;
  latencyP50Us: number;
  latencyP99Us: number;
}

interface Endpoints {
  src: { netns: string; ip: string };
  dst: { netns: string; ip: string };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function must(argv: string[], netns?: string): Promise<string> {
  const r = await runCommand(argv, { ...(netns ? { netns } : {}), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${netns ? `[${netns}] ` : ''}${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** A server inside a namespace for the duration of `fn`, stopped by its pid afterwards. */
async function withServer<T>(netns: string, argv: string[], fn: () => Promise<T>): Promise<T> {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500)); // both servers listen within milliseconds
    return await fn();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(label: string, e: Endpoints): Promise<Pick<CaseResult, 'throughputGbps' | 'medianGbps' | 'latencyP50Us' | 'latencyP99Us'>> {
  const throughputGbps: number[] = [];
  await withServer(e.dst.netns, ['iperf3', '-s', '-p', String(IPERF_PORT)], async () => {
    for (let i = 1; i <= REPS; i++) {
      const out = JSON.parse(await must(['iperf3', '-c', e.dst.ip, '-p', String(IPERF_PORT), '-t', String(SECONDS), '-J'], e.src.netns)) as { end: { sum_received: { bits_per_second: number } } };
      throughputGbps.push(out.end.sum_received.bits_per_second / 1e9);
      log(`${label}: iperf3 run ${i}/${REPS}: ${throughputGbps.at(-1)!.toFixed(2)} Gbit/s`);
    }
  });
  const sp = await withServer(e.dst.netns, ['sockperf', 'server', '-i', e.dst.ip, '-p', String(SOCKPERF_PORT)], () =>
    must(['sockperf', 'ping-pong', '-i', e.dst.ip, '-p', String(SOCKPERF_PORT), '-t', String(SECONDS), '--full-rtt'], e.src.netns),
  );
  const pct = (p: string): number => {
    const m = new RegExp(`percentile ${p.replace('.', '\\.')} =\\s*([\\d.]+)`).exec(sp);
    if (!m) throw new Error(`sockperf output has no percentile ${p}:\n${sp}`);
    return Number(m[1]);
  };
  const r = { throughputGbps, medianGbps: median(throughputGbps), latencyP50Us: pct('50.000'), latencyP99Us: pct('99.000') };
  log(`${label}: median ${r.medianGbps.toFixed(2)} Gbit/s, RTT p50 ${r.latencyP50Us} us, p99 ${r.latencyP99Us} us`);
  return r;
}

function endpointsOf(state: LabState): Endpoints {
  const src = state.pods.find((p) => p.node === 'node1')!;
  const dst = state.pods.find((p) => p.node === 'node2')!;
  return { src: { netns: src.netns, ip: src.ip }, dst: { netns: dst.netns, ip: dst.ip } };
}

/** Every lab a case made, for a cut-short run to take down (Lab.down is idempotent). */
const labs: Lab[] = [];
cleanUpOnInterrupt(() => Promise.all(labs.map((l) => l.down())));

function caseLab(tag: string, label: string): Lab {
  const lab = new Lab(`bdp${process.pid % 100000}${tag}`, { progress: (l) => log(`${label}: ${l}`) });
  labs.push(lab);
  return lab;
}

/** A 2-node lab with one pod per node and the given dataplane; torn down afterwards. */
async function agentCase(label: string, dataplane: LabDataplane, ipip: LabIpipMode, tag: string): Promise<CaseResult> {
  const lab = caseLab(tag, label);
  await lab.down();
  try {
    const state = await lab.up({ nodes: 2, podsPerNode: 1, dataplane, ipip, logLevel: 'warn' });
    return { label, dataplane, ipip, ...(await measure(label, endpointsOf(state))) };
  } finally {
    await lab.down();
  }
}

/**
 * The baseline: the lab's underlay and node namespaces without agents; each pod wired by
 * hand exactly as the agent wires one (veth, /32, default via 169.254.1.1, proxy ARP on the
 * host side), with static kernel routes: the local pod's /32 on its veth, the other pod's
 * /32 via the other node. No bpf, no iptables, nothing of tabby's in the path.
 */
async function baselineCase(): Promise<CaseResult> {
  const label = 'baseline (kernel routes, no agent)';
  const lab = caseLab('b', label);
  await lab.down();
  try {
    const state = await lab.up({ nodes: 2, podsPerNode: 0, agents: false, logLevel: 'warn' });
    const pods = state.nodes.map((node, i) => ({ node, netns: lab.names.podNetns(`base${i + 1}`), ip: `10.65.${i}.10`, host: `veth${i + 1}b` }));
    for (const p of pods) {
      await createNetns(p.netns, false);
      await must(['ip', '-n', p.node.netns, 'link', 'add', p.host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netns]);
      await must(['ip', '-n', p.node.netns, 'link', 'set', p.host, 'address', 'ee:ee:ee:ee:ee:ee', 'up']);
      await must(['sysctl', '-qw', `net.ipv4.conf.${p.host}.proxy_arp=1`], p.node.netns);
      await must(['ip', '-n', p.netns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0']);
      await must(['ip', '-n', p.netns, 'link', 'set', 'eth0', 'up']);
      await must(['ip', '-n', p.netns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await must(['ip', '-n', p.netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await must(['ip', '-n', p.node.netns, 'route', 'add', `${p.ip}/32`, 'dev', p.host]);
    }
    for (const p of pods) {
      for (const q of pods) if (q !== p) await must(['ip', '-n', p.node.netns, 'route', 'add', `${q.ip}/32`, 'via', q.node.address.split('/')[0]!, 'dev', 'eth0']);
    }
    const e: Endpoints = { src: { netns: pods[0]!.netns, ip: pods[0]!.ip }, dst: { netns: pods[1]!.netns, ip: pods[1]!.ip } };
    return { label, dataplane: 'baseline', ipip: 'Never', ...(await measure(label, e)) };
  } finally {
    await lab.down();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the dataplane benchmark needs root (network namespaces, bpf)');
  log(`dataplane bench: iperf3 ${REPS}x${SECONDS}s (median), sockperf ping-pong ${SECONDS}s; 2 nodes, 1 pod each`);
  const results: CaseResult[] = [];
  results.push(await baselineCase());
  results.push(await agentCase('legacy (kernel routes)', 'legacy', 'Never', 'l'));
  results.push(await agentCase('bpf', 'bpf', 'Never', 'p'));
  results.push(await agentCase('bpf, IPIP Always', 'bpf', 'Always', 'i'));

  const base = results[0]!;
  const rows = results.map((r) => [
    r.label,
    r.ipip,
    fmt(r.medianGbps),
    `${fmt(r.medianGbps / base.medianGbps)}x`,
    fmt(r.latencyP50Us),
    fmt(r.latencyP99Us),
    `${fmt(r.latencyP99Us / base.latencyP99Us)}x`,
  ]);
  const bpf = results.find((r) => r.dataplane === 'bpf' && r.ipip === 'Never')!;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const targets = [
    `bpf throughput >= 1.0x baseline: ${fmt(bpf.medianGbps / base.medianGbps)}x (${verdict(bpf.medianGbps >= base.medianGbps)})`,
    `bpf p99 latency no worse than baseline: ${fmt(bpf.latencyP99Us / base.latencyP99Us)}x (${verdict(bpf.latencyP99Us <= base.latencyP99Us)})`,
  ];
  const env = environment();
  const md =
    `# Dataplane: pod to pod across two nodes\n\n` +
    `iperf3 TCP, ${REPS} runs of ${SECONDS} s (median); sockperf UDP ping-pong ${SECONDS} s (round trip). ` +
    `Baseline: the same namespaces, veths and bridge with static kernel routes and no agent. ` +
    `${env.cpus} CPUs (${env.cpuModel}), node ${env.node}, ${env.date}.\n\n` +
    markdownTable(['case', 'ipipMode', 'Gbit/s', 'vs baseline', 'RTT p50 (us)', 'RTT p99 (us)', 'p99 vs baseline'], rows) +
    `\nTargets (reported, not asserted):\n\n${targets.map((t) => `- ${t}`).join('\n')}\n\n` +
    `Ratios on a shared 2-core machine are noisy: compare within one run only.\n`;
  const out = await writeResults('dataplane', { environment: env, seconds: SECONDS, reps: REPS, results, targets }, md);
  log(`wrote ${out.jsonPath} and ${out.mdPath}`);
  process.stdout.write(md);
}

await main();
