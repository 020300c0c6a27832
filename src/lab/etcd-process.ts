/**
 * The lab's etcd: a real single-member etcd 3.4 inside the underlay namespace, listening
 * on the bridge address so every node reaches it over the underlay, detached so it
 * outlives `tabby lab up`. Its data lives under the lab's run directory (tmpfs).
 */
import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { LabError } from './errors.js';
import { inNetns, runCommand } from './run-command.js';
import { pidAlive } from './state.js';

export const ETCD_BINARY = process.env.TABBY_LAB_ETCD ?? '/usr/bin/etcd';

export interface EtcdPlan {
  netns: string;
  address: string;
  dataDir: string;
  logFile: string;
}

export function etcdEndpoint(address: string): string {
  return `http://${address}:2379`;
}

export async function startEtcd(plan: EtcdPlan, timeoutMs = 30_000): Promise<number> {
  await mkdir(plan.dataDir, { recursive: true });
  const log = await open(plan.logFile, 'a');
  const args = [
    ETCD_BINARY,
    '--name=lab',
    `--data-dir=${plan.dataDir}`,
    `--listen-client-urls=${etcdEndpoint(plan.address)},http://127.0.0.1:2379`,
    `--advertise-client-urls=${etcdEndpoint(plan.address)}`,
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=lab=http://127.0.0.1:2380',
    '--log-level=warn',
  ];
  const [cmd, ...rest] = inNetns(plan.netns, args);
  const child = spawn(cmd!, rest, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  await log.close();
  const pid = child.pid;
  child.unref();
  if (pid === undefined) throw new LabError('LAB_COMMAND', `cannot start ${ETCD_BINARY}; is etcd-server installed?`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) throw new LabError('LAB_TIMEOUT', `etcd exited during start; see ${plan.logFile}`);
    const r = await runCommand(['etcdctl', `--endpoints=${etcdEndpoint(plan.address)}`, '--dial-timeout=1s', '--command-timeout=2s', 'endpoint', 'health'], {
      netns: plan.netns,
      env: { ...process.env, ETCDCTL_API: '3' },
      timeoutMs: 5_000,
    });
    if (r.code === 0) return pid;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new LabError('LAB_TIMEOUT', `etcd not healthy at ${etcdEndpoint(plan.address)} after ${timeoutMs} ms; see ${plan.logFile}`);
}
