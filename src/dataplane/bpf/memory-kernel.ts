/**
 * An in-memory BpfKernel for unit tests (STYLE §4: inject the kernel): maps are Maps of hex
 * keys, interfaces a name -> ifindex table the test edits, tc hooks a table of program ids.
 * It records every tc call so tests can check that nothing happened that should not have.
 */
import type { Direction } from '../../native/index.js';
import type { BpfKernel, DataplaneGlobals, DataplaneMap, LoadedDataplane, LoadedProgram, MapName, ProgramName } from './kernel.js';

export class MemoryMap implements DataplaneMap {
  readonly data = new Map<string, Buffer | Buffer[]>();
  /** Hex keys whose writes fail (to test failure handling). */
  readonly failWrites = new Set<string>();
  readonly info: { maxEntries: number; perCpu: boolean };

  constructor(maxEntries: number, perCpu = false) {
    this.info = { maxEntries, perCpu };
  }

  *entries(): Iterable<{ key: Buffer; value: Buffer | Buffer[] }> {
    for (const [k, v] of [...this.data]) yield { key: Buffer.from(k, 'hex'), value: v };
  }

  *keys(): Iterable<Buffer> {
    for (const k of [...this.data.keys()]) yield Buffer.from(k, 'hex');
  }

  lookupPerCpu(key: Uint8Array): Buffer[] | null {
    const v = this.data.get(Buffer.from(key).toString('hex'));
    return Array.isArray(v) ? v : null;
  }

  update(key: Uint8Array, value: Uint8Array | Buffer[]): void {
    const hex = Buffer.from(key).toString('hex');
    if (this.failWrites.has(hex)) throw new Error(`write of ${hex} refused`);
    this.data.set(hex, Array.isArray(value) ? value : Buffer.from(value));
  }

  delete(key: Uint8Array): boolean {
    return this.data.delete(Buffer.from(key).toString('hex'));
  }
}

export type TcCall = { op: 'attach' | 'detach'; ifindex: number; direction: Direction; progId?: number };

export class MemoryBpfKernel implements BpfKernel {
  readonly interfaces = new Map<string, number>();
  /** `${ifindex}/${direction}` -> program id. */
  readonly hooks = new Map<string, number>();
  readonly tcCalls: TcCall[] = [];
  readonly maps: Record<MapName, MemoryMap> = {
    routes: new MemoryMap(1024),
    endpoints: new MemoryMap(64),
    ct: new MemoryMap(1024),
    verdicts: new MemoryMap(64, true),
  };
  loads: { pinDir: string; globals: DataplaneGlobals }[] = [];
  private nextProgId = 100;
  listInterfaces?: () => string[];

  constructor(opts: { listable?: boolean } = {}) {
    if (opts.listable) this.listInterfaces = () => [...this.interfaces.keys()];
  }

  load(pinDir: string, globals: DataplaneGlobals): LoadedDataplane {
    this.loads.push({ pinDir, globals });
    const programs = new Map<ProgramName, LoadedProgram>();
    for (const name of ['from_workload', 'to_workload', 'from_uplink', 'to_uplink', 'tabby_probe'] as const) {
      programs.set(name, { fd: this.nextProgId, id: this.nextProgId++ });
    }
    return {
      program: (name) => programs.get(name) as LoadedProgram,
      map: (name) => this.maps[name],
      close: () => undefined,
    };
  }

  ifindex(name: string): number | null {
    return this.interfaces.get(name) ?? null;
  }

  tcQuery(ifindex: number, direction: Direction): number | null {
    return this.hooks.get(`${ifindex}/${direction}`) ?? null;
  }

  tcAttach(ifindex: number, direction: Direction, program: LoadedProgram): void {
    this.tcCalls.push({ op: 'attach', ifindex, direction, progId: program.id });
    this.hooks.set(`${ifindex}/${direction}`, program.id);
  }

  tcDetach(ifindex: number, direction: Direction): void {
    this.tcCalls.push({ op: 'detach', ifindex, direction });
    this.hooks.delete(`${ifindex}/${direction}`);
  }
}
