/**
 * The real BpfKernel: the libbpf addon (src/native). Every interface and tc call can run in
 * another network namespace (`netns`), which is how tests (and a lab node whose agent runs
 * outside it) drive a node namespace from the host.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { BpfObject, bpfObjectPath, Interfaces, NativeError, Tc, type Direction } from '../../native/index.js';
import type { BpfKernel, DataplaneGlobals, DataplaneMap, LoadedDataplane, MapName, ProgramName } from './kernel.js';
import { MAP_NAMES, TC_HANDLE, TC_PRIORITY } from './kernel.js';

export interface NativeKernelOptions {
  /** Network namespace of the node: /run/netns/NAME or /proc/PID/ns/net. Default: the agent's own. */
  netns?: string;
  /** The dataplane object; default build/bpf/tabby_dataplane.bpf.o. */
  objectPath?: string;
}

export const DATAPLANE_OBJECT = 'tabby_dataplane';

/** IPv4 dotted quad -> the 4 bytes of a __be32 global. */
export function ipv4Global(addr: string): Buffer {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new NativeError('bpf_map__set_initial_value', 22, `node IPv4 '${addr}' is not a dotted-quad address`);
  }
  return Buffer.from(parts);
}

/** Unpins every map of ours that libbpf said it could not reuse (named in `message`); returns their names. */
function unpinMismatched(pinDir: string, message: string): string[] {
  const names = MAP_NAMES.filter((m) => message.includes(`couldn't reuse pinned map at '${join(pinDir, m)}'`));
  for (const m of names) rmSync(join(pinDir, m), { force: true });
  return names;
}

export function nativeBpfKernel(opts: NativeKernelOptions = {}): BpfKernel {
  const tc = new Tc();
  const ifs = new Interfaces();
  const ns = opts.netns ? { netns: opts.netns } : {};
  const objectPath = opts.objectPath ?? bpfObjectPath(DATAPLANE_OBJECT);
  const ref = (ifindex: number, direction: Direction) => ({ ifindex, direction, ...ns, handle: TC_HANDLE, priority: TC_PRIORITY });

  return {
    load(pinDir: string, globals: DataplaneGlobals): LoadedDataplane {
      const open = () =>
        BpfObject.open(objectPath, {
          pinRoot: pinDir,
          globals: { node_ipv4: ipv4Global(globals.nodeIPv4), uplink_ifindex: globals.uplinkIfindex },
        });
      let obj: BpfObject;
      let replacedMaps: string[] = [];
      try {
        obj = open();
      } catch (err) {
        // A map pinned by an older tabby with another layout: libbpf refuses to reuse it.
        // Unpin those maps and load with fresh ones; the programs still attached keep
        // the old maps until the attach manager swaps them, and the managers refill the
        // new ones first (conntrack starts empty: flows are picked up mid-way).
        if (!(err instanceof NativeError && /couldn't reuse pinned map/.test(err.message))) throw err;
        replacedMaps = unpinMismatched(pinDir, err.message);
        if (replacedMaps.length === 0) throw err;
        obj = open();
      }
      return {
        replacedMaps,
        program: (name: ProgramName) => obj.program(name),
        map: (name: MapName): DataplaneMap => obj.map(name),
        close: () => obj.close(),
      };
    },
    ifindex(name: string): number | null {
      try {
        return ifs.index(name, ns);
      } catch (err) {
        if (err instanceof NativeError && (err.code === 'ENODEV' || err.code === 'ENXIO' || err.code === 'ENOENT')) return null;
        throw err;
      }
    },
    tcQuery(ifindex: number, direction: Direction): number | null {
      try {
        return tc.query(ref(ifindex, direction))?.progId ?? null;
      } catch (err) {
        // No clsact qdisc (EINVAL) or no such filter (ENOENT): nothing of ours there.
        if (err instanceof NativeError && (err.code === 'ENOENT' || err.code === 'EINVAL')) return null;
        throw err;
      }
    },
    tcAttach(ifindex: number, direction: Direction, program): void {
      tc.attach({ ifindex, direction, ...ns }, program, { handle: TC_HANDLE, priority: TC_PRIORITY, replace: true });
    },
    tcDetach(ifindex: number, direction: Direction): void {
      try {
        tc.detach(ref(ifindex, direction));
      } catch (err) {
        if (err instanceof NativeError && (err.code === 'ENOENT' || err.code === 'EINVAL')) return;
        throw err;
      }
    },
    // /sys/class/net shows the agent's own namespace only; in another one we cannot list.
    ...(opts.netns ? {} : { listInterfaces: () => readdirSync('/sys/class/net') }),
  };
}
