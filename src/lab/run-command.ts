/**
 * Runs the tools the lab is built from (`ip`, `nsenter`, `etcd`, node itself). The lab is a
 * test harness, not the agent, so shelling out is fine here; everything goes through this
 * one function so that errors read the same and nothing hangs forever.
 */
import { spawn } from 'node:child_process';
import { LabError } from './errors.js';
import { netnsPath } from './names.js';

export interface RunOptions {
  /** Run inside this network namespace (by name). Only the network namespace is entered. */
  netns?: string;
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `nsenter --net` rather than `ip netns exec`: the latter also unshares the mount namespace
 * and remounts /sys, which hides the host's bpffs from the child, so an agent's pins would
 * vanish with it. Here only the network namespace changes.
 */
export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns ? ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv] : [...argv];
}

export function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = inNetns(opts.netns, argv);
  const [cmd, ...args] = full;
  if (cmd === undefined) throw new LabError('LAB_COMMAND', 'internal: empty command');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined); // the child may exit before reading stdin
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabError('LAB_COMMAND', `cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${opts.timeoutMs ?? 60_000} ms)`;
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Like runCommand, but a non-zero exit is a LabError that quotes the command and its stderr. */
export async function mustRun(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0) {
    const where = opts.netns ? ` (in netns ${opts.netns})` : '';
    throw new LabError('LAB_COMMAND', `'${argv.join(' ')}'${where} exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 2000)}`);
  }
  return r.stdout;
}
