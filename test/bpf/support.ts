/**
 * Shared helpers of the bpf lane: bpffs, per-test pin directories (named tby<pid>p<n>, swept
 * when their process is gone), the counters object, and reading its map through the codecs.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { counterKey, counterValue, sumCounters, type CounterValue, type DirectionName, DIRECTION } from '../../src/dataplane/bpf/codecs/counters.js';
import { bpfObjectPath, type BpfMap } from '../../src/native/index.js';
import { mustRun } from '../support/netns.js';

export const BPFFS = '/sys/fs/bpf';
export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;

export const countersObject = (): string => bpfObjectPath('counters');

/** Mounts bpffs at /sys/fs/bpf when it is not mounted (fresh machines may lack it). */
export function ensureBpffs(): void {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (!mounts.split('\n').some((l) => l.split(' ')[1] === BPFFS && l.split(' ')[2] === 'bpf')) {
    mustRun(['mount', '-t', 'bpf', 'bpf', BPFFS]);
  }
}

let pins = 0;
const PIN_RE = /^tby(\d+)p\d+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes pin directories left by test processes that are gone. */
export function sweepStalePins(): void {
  if (!existsSync(BPFFS)) return;
  for (const d of readdirSync(BPFFS)) {
    const m = PIN_RE.exec(d);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(BPFFS, d), { recursive: true, force: true });
  }
}

/** A new, not yet existing pin directory under bpffs, unique to this process and call. */
export function newPinDir(): string {
  pins += 1;
  return join(BPFFS, `tby${process.pid}p${pins}`);
}

/** Removes a pin directory and what is pinned in it (unlinking pins frees unused maps). */
export function removePinDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function counterKeyOf(ifindex: number, direction: DirectionName): Buffer {
  return counterKey.encode({ ifindex, direction: DIRECTION[direction] });
}

/** The counters of (ifindex, direction) summed over CPUs; zeros when the key is absent. */
export function readCounters(map: BpfMap, ifindex: number, direction: DirectionName): CounterValue {
  const perCpu = map.lookupPerCpu(counterKeyOf(ifindex, direction));
  if (perCpu === null) return { packets: 0n, bytes: 0n, dropped: 0n, malformed: 0n };
  return sumCounters(perCpu.map((b) => counterValue.decode(b)));
}
