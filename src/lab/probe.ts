/**
 * Runs `tabby lab probe`: a responder (TCP + UDP echo) in every pod, then one prober per
 * source pod that tries every other pod at once and reports JSON; the lab assembles the
 * matrix. Responders exit when their stdin closes, so a crashed lab leaves none behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { entryCommand } from './entries.js';
import { LabError } from './errors.js';
import { inNetns, runCommand } from './run-command.js';
import { buildMatrix, type ProbeJudge, type ProbeMatrix, type ProbePod, type ProbeTargetResult } from './probe-matrix.js';

export interface ProbePodPlace extends ProbePod {
  netns: string;
}

export interface ProbeOptions {
  port: number;
  timeoutMs: number;
  judge?: ProbeJudge;
}

function startResponder(pod: ProbePodPlace, port: number): Promise<ChildProcess> {
  const [cmd, ...args] = inNetns(pod.netns, [...entryCommand('probe', { preferBuilt: true }), 'serve', '--port', String(port)]);
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(`no "ready" within 20 s`), 20_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new LabError('LAB_COMMAND', `probe responder in pod ${pod.name} did not start: ${why} ${err.trim()}`));
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => fail(`exited with ${code}`));
  });
}

export async function probePods(pods: ProbePodPlace[], opts: ProbeOptions): Promise<ProbeMatrix> {
  const responders: ChildProcess[] = [];
  try {
    const started = await Promise.allSettled(pods.map((p) => startResponder(p, opts.port)));
    for (const r of started) if (r.status === 'fulfilled') responders.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const byFrom = new Map<string, ProbeTargetResult[]>();
    await Promise.all(
      pods.map(async (from) => {
        const targets = pods.filter((p) => p.name !== from.name).map((p) => `${p.name}=${p.ip}`);
        if (targets.length === 0) return;
        const r = await runCommand(
          [...entryCommand('probe', { preferBuilt: true }), 'probe', '--port', String(opts.port), '--timeout-ms', String(opts.timeoutMs), '--targets', targets.join(',')],
          { netns: from.netns, timeoutMs: opts.timeoutMs + 30_000 },
        );
        try {
          byFrom.set(from.name, (JSON.parse(r.stdout) as { results: ProbeTargetResult[] }).results);
        } catch {
          throw new LabError('LAB_COMMAND', `prober in pod ${from.name} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
        }
      }),
    );
    return buildMatrix(opts.port, pods, byFrom, opts.judge);
  } finally {
    for (const c of responders) {
      c.removeAllListeners('exit');
      c.stdin?.end();
      c.kill('SIGTERM');
    }
  }
}
