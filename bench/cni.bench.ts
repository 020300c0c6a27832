/**
 * CNI ADD and DEL latency of the real tabby-cni in a 1-node lab (agent, etcd, netlink all
 * real), against a baseline measured in the same run on the same machine: Debian's
 * reference `bridge` plugin with `host-local` IPAM (/usr/lib/cni), doing the same ADD/DEL
 * in the same node namespace. Each case runs 100 pods serially, then 100 pods 10 at a time.
 *
 *   node --import tsx bench/cni.bench.ts        (or: npm run bench -- cni)
 *
 * Latency is measured around the plugin process, as a container runtime sees it (process
 * start, netns entry, the agent's work, exit). Pod namespaces are made before and removed
 * after each case, outside the timing. tabby-cni is the compiled shim
 * (build/Release/tabby-cni, what install-cni installs) when built; the Node entry
 * (dist/cni/main.js) is timed serially beside it, since process start is most of its cost.
 * The agent's own per-step times (its "workload added"/"workload deleted" log lines) are
 * reported for the serial shim case, so a slow run says where the time went.
 * Targets (reported, never asserted): ADD p50 < 25 ms, p99 < 100 ms.
 * Writes bench/results/cni.{json,md}; progress on stderr. Needs root.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { entryCommand } from '../src/lab/entries.js';
import { invokeCni, type CniCall } from '../src/lab/cni-invoke.js';
import { Lab } from '../src/lab/lab.js';
import { netnsPath } from '../src/lab/names.js';
import { runCommand } from '../src/lab/run-command.js';
import { createNetns } from '../src/lab/underlay.js';
import type { LabNode, LabState } from '../src/lab/state.js';
import { cleanUpOnInterrupt } from './support/interrupt.js';
import { measure, type Measurement } from './support/measure.js';
import { environment, fmt, markdownTable, writeResults } from './support/results.js';
import { percentile } from './support/stats.js';

const PODS = Number(process.env.CNI_BENCH_PODS ?? 100);
const CONCURRENCY = 10;
const SHIM = fileURLToPath(new URL('../build/Release/tabby-cni', import.meta.url));
const TARGET_P50_MS = 25;
const TARGET_P99_MS = 100;

interface Plugin {
  label: string;
  call(verb: 'ADD' | 'DEL', i: number, netns: string): CniCall;
}

interface CaseResult {
  plugin: string;
  concurrency: number;
  add: Measurement;
  del: Measurement;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runCase(lab: Lab, plugin: Plugin, concurrency: number, tag: string): Promise<CaseResult> {
  const podNs = Array.from({ length: PODS }, (_, i) => lab.names.podNetns(`${tag}${i}`));
  log(`${plugin.label} x${concurrency}: making ${PODS} pod namespaces`);
  for (const ns of podNs) await createNetns(ns, false);
  try {
    const add = await measure({ label: `${plugin.label} ADD x${concurrency}`, count: PODS, concurrency }, (i) => invokeCni(plugin.call('ADD', i, podNs[i]!)));
    const del = await measure({ label: `${plugin.label} DEL x${concurrency}`, count: PODS, concurrency }, (i) => invokeCni(plugin.call('DEL', i, podNs[i]!)));
    return { plugin: plugin.label, concurrency, add, del };
  } finally {
    for (const ns of podNs) await runCommand(['ip', 'netns', 'del', ns]);
  }
}

function tabbyPlugin(lab: Lab, state: LabState, node: LabNode, tag: string, label: string, argv: string[]): Plugin {
  return {
    label,
    call: (verb, i, netns) => ({
      ...lab.cniCall(state, node, verb, { name: `${tag}${i}`, namespace: 'bench', containerId: `bench-${tag}-${i}`, netns, labels: {} }),
      plugin: argv,
    }),
  };
}

/** Median of each step the agent logged (`ms`) for the containers whose ID starts with `prefix`. */
async function agentSteps(logFile: string, prefix: string): Promise<Record<'ADD' | 'DEL', Record<string, number>>> {
  const samples: Record<string, Record<string, number[]>> = { ADD: {}, DEL: {} };
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes('"ms":') || !line.includes(prefix)) continue;
    let rec: { op?: string; containerId?: string; ms?: Record<string, number> };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    if (!rec.ms || !rec.containerId?.startsWith(prefix) || (rec.op !== 'ADD' && rec.op !== 'DEL')) continue;
    for (const [step, ms] of Object.entries(rec.ms)) (samples[rec.op]![step] ??= []).push(ms);
  }
  const medians = (by: Record<string, number[]>) => Object.fromEntries(Object.entries(by).map(([k, v]) => [k, percentile([...v].sort((a, b) => a - b), 50)]));
  return { ADD: medians(samples.ADD!), DEL: medians(samples.DEL!) };
}

function bridgePlugin(node: LabNode, dataDir: string, tag: string): Plugin {
  const netconf = {
    cniVersion: '1.0.0',
    name: 'bench-bridge',
    type: 'bridge',
    bridge: 'cnibench0',
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/16' }]], dataDir },
  };
  return {
    label: 'bridge+host-local',
    call: (verb, i, netns) => ({
      plugin: ['/usr/lib/cni/bridge'],
      verb,
      containerId: `bench-${tag}-${i}`,
      netnsPath: netnsPath(netns),
      ifname: 'eth0',
      args: {},
      netconf,
      runIn: node.netns,
    }),
  };
}

function row(r: CaseResult, base: CaseResult | undefined): (string | number)[] {
  const ratio = (a: number, b: number | undefined) => (b ? fmt(a / b) : '');
  return [
    r.plugin,
    r.concurrency,
    fmt(r.add.p50Ms),
    fmt(r.add.p99Ms),
    fmt(r.del.p50Ms),
    fmt(r.del.p99Ms),
    fmt(r.add.opsPerSec),
    ratio(r.add.p50Ms, base?.add.p50Ms),
    ratio(r.add.p99Ms, base?.add.p99Ms),
    ratio(r.del.p50Ms, base?.del.p50Ms),
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the CNI benchmark needs root (network namespaces, a lab with an agent)');
  if (!existsSync('/usr/lib/cni/bridge')) throw new Error('/usr/lib/cni/bridge missing: apt-get install containernetworking-plugins');
  const nodeEntry = entryCommand('cni', { preferBuilt: true });
  if (nodeEntry.includes('--import')) log('warning: dist/cni/main.js is missing or older than its source; timing the Node entry under the tsx loader (run npm run build:ts)');
  const shim = existsSync(SHIM) ? [SHIM] : undefined;
  if (!shim) log(`warning: ${SHIM} is not built (npm run build); timing only the Node entry`);
  const main = shim ?? nodeEntry;
  const lab = new Lab(`b${process.pid}`, { progress: log, cniPlugin: main });
  cleanUpOnInterrupt(() => lab.down());
  await lab.down();
  const loadBefore = loadavg()[0]!;
  try {
    // info: the agent logs each ADD/DEL with its per-step times, which the report quotes.
    await lab.up({ nodes: 1, podsPerNode: 0, logLevel: 'info' });
    const state = await lab.state();
    const node = state.nodes[0]!;
    const results: CaseResult[] = [];
    const label = shim ? 'tabby-cni (shim)' : 'tabby-cni (Node)';
    for (const c of [1, CONCURRENCY]) {
      results.push(await runCase(lab, tabbyPlugin(lab, state, node, `t${c}x`, label, main), c, `t${c}x`));
      if (shim && c === 1) results.push(await runCase(lab, tabbyPlugin(lab, state, node, `n${c}x`, 'tabby-cni (Node)', nodeEntry), c, `n${c}x`));
      results.push(await runCase(lab, bridgePlugin(node, `${node.dir}/host-local`, `b${c}x`), c, `b${c}x`));
    }
    const loadAfter = loadavg()[0]!;
    const steps = await agentSteps(node.logFile, 'bench-t1x-');
    // Every tabby pod was deleted again: the pool must be empty (a leak would skew later runs).
    const leaks = (await lab.ctlCapture(state, ['ipam', 'check'])).stdout;
    const isTabby = (r: CaseResult) => r.plugin.startsWith('tabby-cni');
    const base = (c: number) => results.find((r) => !isTabby(r) && r.concurrency === c);
    const serial = results.find((r) => r.plugin === label && r.concurrency === 1)!;
    const stepLine = (op: 'ADD' | 'DEL') =>
      Object.entries(steps[op])
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ');
    const repo = fileURLToPath(new URL('..', import.meta.url));
    const md =
      `# CNI ADD/DEL latency (${PODS} pods per case)\n\n` +
      `tabby-cni with a real agent (${state.dataplane} dataplane) and etcd, vs Debian's bridge + host-local in the same node namespace. ` +
      `Shim: \`${main.join(' ').replace(repo, '')}\`; Node: \`${nodeEntry.slice(1).join(' ').replace(repo, '')}\`. ` +
      `Times in ms around the plugin process; ratios are tabby / baseline at the same concurrency. ` +
      `Load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${environment().cpus} CPUs.\n\n` +
      markdownTable(
        ['plugin', 'concurrency', 'ADD p50', 'ADD p99', 'DEL p50', 'DEL p99', 'ADD ops/s', 'ADD p50 ratio', 'ADD p99 ratio', 'DEL p50 ratio'],
        results.map((r) => row(r, isTabby(r) ? base(r.concurrency) : undefined)),
      ) +
      `\nTargets (serial ADD, ${label}): p50 < ${TARGET_P50_MS} ms: ${serial.add.p50Ms < TARGET_P50_MS ? 'met' : 'NOT met'} (${fmt(serial.add.p50Ms)}); ` +
      `p99 < ${TARGET_P99_MS} ms: ${serial.add.p99Ms < TARGET_P99_MS ? 'met' : 'NOT met'} (${fmt(serial.add.p99Ms)}).\n` +
      `\nInside the agent (serial ${label}, median ms per step from its log): ADD ${stepLine('ADD')}; DEL ${stepLine('DEL')}.\n` +
      `\nipam check after the run: ${leaks.trim().split('\n').pop()}\n`;
    const { mdPath } = await writeResults(
      'cni',
      { environment: environment(), loadAverage: { before: loadBefore, after: loadAfter }, pods: PODS, plugin: main, nodeEntry, dataplane: state.dataplane, targets: { addP50Ms: TARGET_P50_MS, addP99Ms: TARGET_P99_MS }, results, agentStepsMs: steps, ipamCheck: leaks },
      md,
    );
    process.stdout.write(md);
    log(`results: ${mdPath}`);
  } finally {
    log('tearing the lab down');
    await lab.down();
  }
}

await main();
