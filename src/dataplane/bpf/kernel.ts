/**
 * What the BPF dataplane's managers need from the kernel, as one injected interface (STYLE
 * §4): the loaded object's maps and programs, interface lookups and our tc filters. The
 * real one (native-kernel.ts) wraps the libbpf addon; unit tests pass an in-memory fake.
 */
import type { Direction } from '../../native/index.js';

/** The programs of bpf/tabby_dataplane.bpf.c. */
export type ProgramName = 'from_workload' | 'to_workload' | 'from_uplink' | 'to_uplink' | 'tabby_probe';

/** The maps of bpf/tabby_dataplane.bpf.c, each pinned as <pinDir>/<name>. */
export type MapName = 'routes' | 'endpoints' | 'ct' | 'verdicts';
export const MAP_NAMES: readonly MapName[] = ['routes', 'endpoints', 'ct', 'verdicts'];

/** The part of a BPF map (src/native BpfMap) the managers use. */
export interface DataplaneMap {
  readonly info: { readonly maxEntries: number; readonly perCpu: boolean };
  entries(): Iterable<{ key: Buffer; value: Buffer | Buffer[] }>;
  /** All entries at once, batched when the kernel can (BpfMap.dump); else entries() is used. */
  dump?(): { entries: { key: Buffer; value: Buffer | Buffer[] }[] };
  keys(): Iterable<Buffer>;
  /** One value per possible CPU (per-CPU maps only), or null. */
  lookupPerCpu(key: Uint8Array): Buffer[] | null;
  update(key: Uint8Array, value: Uint8Array | Buffer[]): void;
  delete(key: Uint8Array): boolean;
}

export interface LoadedProgram {
  readonly fd: number;
  /** Kernel program id: what tc reports for the filter running it. */
  readonly id: number;
}

/** The loaded object: programs by name, maps by name (pinned, so shared with any earlier run). */
export interface LoadedDataplane {
  /** Maps pinned with an incompatible layout (an older tabby) that the load replaced by new ones. */
  readonly replacedMaps?: readonly string[];
  program(name: ProgramName): LoadedProgram;
  map(name: MapName): DataplaneMap;
  close(): void;
}

/** Load-time settings: the object's `const volatile` globals. */
export interface DataplaneGlobals {
  /** This node's IPv4 address (IPIP outer source, decap destination). */
  nodeIPv4: string;
  /** ifindex of the uplink; 0 leaves traffic to other nodes to the kernel. */
  uplinkIfindex: number;
}

export interface BpfKernel {
  /** Opens and loads the dataplane object, reusing (adopting) maps already pinned in `pinDir`. */
  load(pinDir: string, globals: DataplaneGlobals): LoadedDataplane;
  /** The ifindex of interface `name`, or null when there is none. */
  ifindex(name: string): number | null;
  /** The program id of our filter (fixed handle and priority) at the hook, or null. */
  tcQuery(ifindex: number, direction: Direction): number | null;
  /** Attaches (or atomically replaces) our filter at the hook with `program`. */
  tcAttach(ifindex: number, direction: Direction, program: LoadedProgram): void;
  /** Removes our filter at the hook; fine when it is not there. */
  tcDetach(ifindex: number, direction: Direction): void;
  /** Interface names (to find filters a previous run left on interfaces nobody wants now); optional. */
  listInterfaces?(): string[];
}

/**
 * Our tc filter's handle and priority on every hook. One fixed slot per hook is what makes
 * a restart atomic: a new program replaces the old one in place (tc replace), so there is
 * never a moment without a program, and never two.
 */
export const TC_HANDLE = 0x7ab1;
export const TC_PRIORITY = 1;
