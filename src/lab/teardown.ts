/**
 * `tabby lab down`: removes everything a lab made, found by name rather than only from
 * lab.json, so that it also cleans up after a crashed `lab up` or a deleted state file:
 *   1. processes: pids in lab.json and every process inside a `tby-<lab>-*` namespace
 *      (`ip netns pids`): SIGTERM, then SIGKILL after a grace period;
 *   2. namespaces `tby-<lab>-*`, pods first, then nodes, then the underlay (their veths,
 *      bridge, routes and tc programs go with them);
 *   3. bpffs pin directories /sys/fs/bpf/tabby/<lab>-*;
 *   4. the run directory /run/tabby-lab/<lab> (state, logs, sockets, etcd data).
 * Idempotent: a second run finds nothing and says so.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { stopProcess } from './agent-process.js';
import { LAB_PIN_ROOT, LAB_RUN_ROOT, type LabNames } from './names.js';
import { runCommand } from './run-command.js';
import { pidAlive, readState } from './state.js';

export async function labNamespaces(names: LabNames): Promise<string[]> {
  if (!existsSync('/run/netns')) return [];
  return (await readdir('/run/netns')).filter((n) => n.startsWith(names.prefix));
}

async function netnsPids(netns: string): Promise<number[]> {
  const r = await runCommand(['ip', 'netns', 'pids', netns], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((n) => n > 0) : [];
}

/** Pods before nodes before the underlay, so nothing is deleted while something above it is still wired. */
function deletionOrder(names: LabNames, ns: string): number {
  if (ns.startsWith(`${names.prefix}p-`)) return 0;
  if (ns === names.underlayNetns) return 2;
  return 1;
}

export async function teardownLab(names: LabNames, progress: (line: string) => void = () => undefined): Promise<string[]> {
  const removed: string[] = [];
  const state = await readState(names).catch(() => undefined);
  const namespaces = await labNamespaces(names);

  const pids = new Set<number>();
  for (const ns of namespaces) for (const pid of await netnsPids(ns)) pids.add(pid);
  const recorded = [state?.etcd.pid, ...(state?.nodes ?? []).map((n) => n.agentPid)];
  for (const pid of recorded) if (pid && !pids.has(pid) && (await looksLikeLabProcess(pid, names))) pids.add(pid);
  const alive = [...pids].filter((p) => p !== process.pid && pidAlive(p));
  if (alive.length > 0) progress(`stopping ${alive.length} process(es): ${alive.join(' ')}`);
  await Promise.all(alive.map((pid) => stopProcess(pid, 'SIGTERM', 10_000)));
  for (const pid of alive) removed.push(`process ${pid}`);

  for (const ns of [...namespaces].sort((a, b) => deletionOrder(names, a) - deletionOrder(names, b))) {
    const r = await runCommand(['ip', 'netns', 'del', ns]);
    if (r.code === 0) removed.push(`netns ${ns}`);
    else progress(`warning: could not delete netns ${ns}: ${r.stderr.trim()}`);
  }

  if (existsSync(LAB_PIN_ROOT)) {
    for (const entry of await readdir(LAB_PIN_ROOT)) {
      if (!names.isPinDirOf(entry)) continue;
      await rm(join(LAB_PIN_ROOT, entry), { recursive: true, force: true });
      removed.push(`pins ${join(LAB_PIN_ROOT, entry)}`);
    }
  }

  // Pin directories recorded in lab.json under another root (lab up --pin-root).
  for (const node of state?.nodes ?? []) {
    if (node.pinDir.startsWith(`${LAB_PIN_ROOT}/`) || !names.isPinDirOf(basename(node.pinDir)) || !existsSync(node.pinDir)) continue;
    await rm(node.pinDir, { recursive: true, force: true });
    removed.push(`pins ${node.pinDir}`);
  }

  if (existsSync(names.dir)) {
    await rm(names.dir, { recursive: true, force: true });
    removed.push(`dir ${names.dir}`);
  }
  // The shared parents go too once no lab (and no agent pin dir) is left in them.
  for (const parent of [LAB_PIN_ROOT, LAB_RUN_ROOT]) await rmdir(parent).catch(() => undefined);
  return removed;
}

/**
 * A recorded pid whose namespace is already gone may have been reused by an unrelated
 * process (after a crash or reboot): kill it only if it still looks like the lab's etcd
 * or agent. Pids found through `ip netns pids` are the lab's by construction.
 */
async function looksLikeLabProcess(pid: number, names: LabNames): Promise<boolean> {
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
  return cmdline.includes(names.dir) || cmdline.includes(names.prefix);
}
