import { mkdirSync } from 'node:fs';

import type { RawBinding, RawBpfObject, RawBtfStruct, RawKernelProgInfo } from './binding.js';
import { argumentError } from './errors.js';
import { loadBinding } from './loader.js';
import { BpfMap } from './map.js';
import { checkBuffer, checkInt, checkPath, checkString, encodeGlobal, type GlobalValue } from './validate.js';

export interface OpenOptions {
  /**
   * Directory for maps declared with LIBBPF_PIN_BY_NAME: each is pinned there as <name>, or
   * reused when a compatible map is already pinned there. Created when missing; must be on
   * a bpf filesystem.
   */
  pinRoot?: string;
  /** libbpf's object name (default: the file name without .bpf.o); prefixes .rodata's map name. */
  objectName?: string;
  /** Values for `const volatile` globals, set in .rodata before load. Numbers are host byte order. */
  globals?: Record<string, GlobalValue>;
}

export interface ProgramInfo {
  name: string;
  section: string;
  /** libbpf's name of the program type, e.g. "sched_cls". */
  type: string;
  fd: number;
  /** Kernel program id. */
  id: number;
}

export interface ObjectMapInfo {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  fd: number;
  pinPath: string | null;
  pinned: boolean;
  internal: boolean;
}

export interface TestRunOptions {
  /** The packet (for tc programs: from the Ethernet header on, at least 14 bytes). */
  data: Uint8Array;
  /** For tc programs a struct __sk_buff (see codecs/skb.ts); only some fields may be set. */
  ctx?: Uint8Array;
  /** Run this many times; duration is the average. Default 1. */
  repeat?: number;
  /** Room for the packet the program leaves. Default data.length + 4096. */
  dataOutSize?: number;
}

export interface TestRunResult {
  retval: number;
  /** Average nanoseconds per run. */
  duration: number;
  /** The packet after the program, trimmed to its length. */
  data: Buffer;
  ctx: Buffer | null;
}

type ObjectBinding = Pick<RawBinding, 'BpfObject' | 'numPossibleCpus' | 'objPin' | 'progInfo' | 'progTestRun'>;

/**
 * A loaded BPF object file. Close it when done: its programs stay attached where tc holds
 * them and its pinned maps stay pinned, but unpinned maps and unattached programs go away.
 */
export class BpfObject {
  readonly path: string;
  readonly name: string;
  readonly #binding: ObjectBinding;
  #raw: RawBpfObject | null;
  readonly #programs: Map<string, BpfProgram>;
  readonly #maps = new Map<string, BpfMap>();

  private constructor(binding: ObjectBinding, raw: RawBpfObject) {
    this.#binding = binding;
    this.#raw = raw;
    this.path = raw.path;
    this.name = raw.name ?? '';
    this.#programs = new Map(raw.programs().map((p) => [p.name, new BpfProgram(this, binding, p)]));
  }

  /** Opens `path`, sets globals, creates (or reuses pinned) maps and loads every program. */
  static open(path: string, opts: OpenOptions = {}, binding: ObjectBinding = loadBinding()): BpfObject {
    const op = 'bpf_object__open_file';
    checkPath(op, 'object path', path);
    if (opts.objectName !== undefined) checkString(op, 'objectName', opts.objectName);
    if (opts.pinRoot !== undefined) checkPath(op, 'pinRoot', opts.pinRoot);
    if (opts.globals !== undefined && (typeof opts.globals !== 'object' || opts.globals === null)) {
      throw argumentError('bpf_map__set_initial_value', 'globals must be an object of name: value');
    }
    if (opts.pinRoot !== undefined) mkdirSync(opts.pinRoot, { recursive: true });
    const raw = new binding.BpfObject(path, {
      ...(opts.objectName !== undefined ? { objectName: opts.objectName } : {}),
      ...(opts.pinRoot !== undefined ? { pinRoot: opts.pinRoot } : {}),
    });
    try {
      raw.load({ globals: encodeGlobals(path, raw.rodataVariables(), opts.globals ?? {}) });
      return new BpfObject(binding, raw);
    } catch (err) {
      raw.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#raw === null;
  }

  programs(): ProgramInfo[] {
    return [...this.#programs.values()].map((p) => ({ name: p.name, section: p.section, type: p.type, fd: p.fd, id: p.id }));
  }

  maps(): ObjectMapInfo[] {
    return this.#open('bpf_object__for_each_map').maps();
  }

  /** The program named `name` (the C function name). */
  program(name: string): BpfProgram {
    const op = 'bpf_object__find_program_by_name';
    checkString(op, 'program name', name);
    this.#open(op);
    const p = this.#programs.get(name);
    if (!p) {
      throw argumentError(op, `BPF object ${this.path} has no program '${name}'; it has: ${[...this.#programs.keys()].join(', ') || 'none'}`, 'ENOENT');
    }
    return p;
  }

  /** A handle on the map named `name`; the object closes it when it closes. */
  map(name: string): BpfMap {
    const op = 'bpf_object__find_map_by_name';
    checkString(op, 'map name', name);
    const raw = this.#open(op);
    const cached = this.#maps.get(name);
    if (cached && !cached.closed) return cached;
    const known = raw.maps().map((m) => m.name);
    if (!known.includes(name)) {
      throw argumentError(op, `BPF object ${this.path} has no map '${name}'; it has: ${known.join(', ') || 'none'}`, 'ENOENT');
    }
    const map = new BpfMap(raw.mapHandle(name), this.#binding.numPossibleCpus());
    this.#maps.set(name, map);
    return map;
  }

  /** The layout of struct `name` from this object's BTF. */
  btfStruct(name: string): RawBtfStruct {
    const op = 'btf__find_by_name_kind';
    return this.#open(op).btfStruct(checkString(op, 'struct name', name));
  }

  /** Unpins every map that was pinned by name (bpf_object__unpin_maps). */
  unpinMaps(): void {
    this.#open('bpf_object__unpin_maps').unpinMaps();
  }

  close(): void {
    for (const m of this.#maps.values()) m.close();
    this.#maps.clear();
    this.#raw?.close();
    this.#raw = null;
  }

  #open(op: string): RawBpfObject {
    if (this.#raw === null) throw argumentError(op, `BPF object ${this.path} is closed`, 'EBADF');
    return this.#raw;
  }

  /** @internal for BpfProgram: throws EBADF once the object (and so the program fd) is gone. */
  checkOpen(op: string): void {
    this.#open(op);
  }
}

/** One program of a loaded BpfObject. Its fd is valid while the object is open. */
export class BpfProgram {
  readonly name: string;
  readonly section: string;
  readonly type: string;
  readonly fd: number;
  readonly id: number;
  readonly #owner: BpfObject;
  readonly #binding: ObjectBinding;

  constructor(owner: BpfObject, binding: ObjectBinding, info: ProgramInfo) {
    this.#owner = owner;
    this.#binding = binding;
    this.name = info.name;
    this.section = info.section;
    this.type = info.type;
    this.fd = info.fd;
    this.id = info.id;
  }

  /** Runs the program once (or `repeat` times) on `data` with BPF_PROG_TEST_RUN. */
  testRun(opts: TestRunOptions): TestRunResult {
    const op = 'bpf_prog_test_run_opts';
    if (typeof opts !== 'object' || opts === null) throw argumentError(op, 'testRun needs { data }');
    const data = checkBuffer(op, 'test run data', opts.data, { min: 1, max: 16 * 1024 * 1024 });
    const ctx = opts.ctx === undefined ? undefined : checkBuffer(op, 'test run ctx', opts.ctx, { min: 1, max: 4096 });
    const repeat = checkInt(op, 'repeat', opts.repeat ?? 1, 1, 100_000_000);
    const dataOutSize = checkInt(op, 'dataOutSize', opts.dataOutSize ?? data.length + 4096, 1, 16 * 1024 * 1024);
    this.#owner.checkOpen(op);
    return this.#binding.progTestRun(this.fd, { data, repeat, dataOutSize, ...(ctx ? { ctx } : {}) });
  }

  /** What the kernel says about the loaded program (id, name as the kernel keeps it, type, tag). */
  kernelInfo(): RawKernelProgInfo {
    const op = 'bpf_obj_get_info_by_fd';
    this.#owner.checkOpen(op);
    return this.#binding.progInfo(this.fd);
  }

  /** Pins the program at `path` on a bpf filesystem (it then outlives the object). */
  pin(path: string): void {
    const op = 'bpf_obj_pin';
    checkPath(op, 'pin path', path);
    this.#owner.checkOpen(op);
    this.#binding.objPin(this.fd, path);
  }
}

function encodeGlobals(
  path: string,
  vars: { name: string; offset: number; size: number }[],
  globals: Record<string, unknown>,
): Record<string, Buffer> {
  const op = 'bpf_map__set_initial_value';
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(globals)) {
    const v = vars.find((x) => x.name === name);
    if (!v) {
      const known = vars.map((x) => x.name).join(', ') || 'none';
      throw argumentError(op, `BPF object ${path} has no const volatile global '${name}'; it has: ${known}`, 'ENOENT');
    }
    out[name] = encodeGlobal(op, name, value, v.size);
  }
  return out;
}
