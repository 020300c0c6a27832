/**
 * lab.json: what a lab is made of (nodes, pods, addresses, pids, namespace names), written
 * after every change so that `status`, `pod`, `probe` and `down` in later processes see
 * it. Changes take an exclusive lock file so that concurrent `lab pod add` calls do not
 * lose each other's pods.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { LabError } from './errors.js';
import type { LabNames } from './names.js';

export type LabDataplane = 'auto' | 'bpf' | 'legacy';
/** The lab pool's spec.ipipMode. */
export type LabIpipMode = 'Always' | 'CrossSubnet' | 'Never';
/** Every agent's --cluster-routes. */
export type LabClusterRoutes = 'datastore' | 'bgp';

export interface LabNode {
  name: string;
  index: number;
  netns: string;
  /** CIDR form, e.g. 10.199.0.11/24. */
  address: string;
  dir: string;
  stateDir: string;
  pinDir: string;
  cniSocket: string;
  netconfFile: string;
  logFile: string;
  /** host:port of the agent's HTTP server, inside the node namespace. */
  httpListen: string;
  agentPid?: number;
}

export interface LabPod {
  name: string;
  node: string;
  namespace: string;
  netns: string;
  containerId: string;
  labels: Record<string, string>;
  /** The pod's address without prefix, from the CNI result. */
  ip: string;
  ifname: string;
}

export interface LabState {
  version: 1;
  name: string;
  createdAt: string;
  dataplane: LabDataplane;
  /** Absent in labs made before it existed: datastore. */
  clusterRoutes?: LabClusterRoutes;
  underlay: { netns: string; bridge: string; cidr: string; gateway: string };
  etcd: { pid?: number; endpoint: string; dataDir: string; logFile: string };
  /** ipipMode absent in labs made before it existed: Never. */
  pool: { cidr: string; blockSize: number; ipipMode?: LabIpipMode };
  nodes: LabNode[];
  pods: LabPod[];
}

export async function readState(names: LabNames): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(names.stateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as LabState;
  } catch {
    throw new LabError('LAB_STATE', `${names.stateFile} is not valid JSON; run 'tabby lab down --name ${names.lab}' to remove the lab`);
  }
}

export async function mustReadState(names: LabNames): Promise<LabState> {
  const s = await readState(names);
  if (!s) throw new LabError('LAB_NOT_FOUND', `lab '${names.lab}' is not up (no ${names.stateFile}); start it with 'tabby lab up --name ${names.lab}'`);
  return s;
}

/** Atomic replace: a reader never sees half a file. */
export async function writeState(names: LabNames, state: LabState): Promise<void> {
  await mkdir(names.dir, { recursive: true });
  const tmp = `${names.stateFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await rename(tmp, names.stateFile);
}

const LOCK_TRIES = 600;
const LOCK_WAIT_MS = 50;

/** Runs `fn` on the current state under the lab's lock and saves what it returns. */
export async function updateState<T>(names: LabNames, fn: (s: LabState) => Promise<T> | T): Promise<T> {
  await mkdir(names.dir, { recursive: true });
  for (let i = 0; ; i++) {
    try {
      const fh = await open(names.lockFile, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (i === 0 && (await staleLock(names))) continue;
      if (i >= LOCK_TRIES) throw new LabError('LAB_LOCKED', `lab '${names.lab}' is locked by another tabby lab command (${names.lockFile}); wait for it, or remove the file if no such command runs`);
      await new Promise((r) => setTimeout(r, LOCK_WAIT_MS));
    }
  }
  try {
    const s = await mustReadState(names);
    const out = await fn(s);
    await writeState(names, s);
    return out;
  } finally {
    await rm(names.lockFile, { force: true });
  }
}

/** A lock whose owner died (crash) is removed; returns true if it was. */
async function staleLock(names: LabNames): Promise<boolean> {
  const pid = Number(await readFile(names.lockFile, 'utf8').catch(() => ''));
  if (pid > 0 && pidAlive(pid)) return false;
  await rm(names.lockFile, { force: true });
  return true;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
