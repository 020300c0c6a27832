import type { RawBinding, RawTcListed } from './binding.js';
import { argumentError } from './errors.js';
import { loadBinding } from './loader.js';
import { checkDirection, checkIfName, checkInt, checkNetns, type Direction } from './validate.js';

/** Where on tc: an interface (by index, or by name resolved in the same namespace) and a hook. */
export interface TcTarget {
  ifindex?: number;
  /** Interface name, used when ifindex is not given. */
  interface?: string;
  direction: Direction;
  /** Network namespace of the interface: /run/netns/NAME or /proc/PID/ns/net. */
  netns?: string;
}

/** One filter at a hook, as attach returned it: enough to query or detach it later. */
export interface TcFilterRef {
  ifindex: number;
  direction: Direction;
  netns?: string;
  handle: number;
  priority: number;
}

export interface TcAttachment extends TcFilterRef {
  progId: number;
}

export interface TcFilter extends TcAttachment {
  /** The program's name as the kernel keeps it (15 characters at most); null if it is gone. */
  name: string | null;
}

export interface TcListedFilter extends TcFilter {
  protocol: number;
  directAction: boolean;
}

export interface AttachOptions {
  /** Filter handle; default: the kernel picks one (returned). */
  handle?: number;
  /** Filter priority 1..65535; default: the kernel picks one (returned). */
  priority?: number;
  /** Replace the filter with the same handle and priority instead of failing with EEXIST. */
  replace?: boolean;
}

type TcBinding = Pick<RawBinding, 'ifIndex' | 'tcAttach' | 'tcDetach' | 'tcQuery' | 'tcList' | 'tcHookCreate' | 'tcHookDestroy'>;

/**
 * BPF programs on tc clsact hooks, through libbpf's bpf_tc_* netlink calls (never the tc
 * binary). Every call can run inside another network namespace (`netns`).
 */
export class Tc {
  readonly #binding: TcBinding;

  constructor(binding: TcBinding = loadBinding()) {
    this.#binding = binding;
  }

  /** Attaches `program` (anything with a program fd) at the hook, creating clsact if missing. */
  attach(target: TcTarget, program: { fd: number }, opts: AttachOptions = {}): TcAttachment {
    const op = 'bpf_tc_attach';
    const t = this.#target(op, target);
    if (typeof program !== 'object' || program === null) throw argumentError(op, 'program must be a BpfProgram (or { fd })');
    checkInt(op, 'program fd', program.fd, 0, 0x7fffffff);
    if (opts.handle !== undefined) checkInt(op, 'handle', opts.handle, 1, 0xffffffff);
    if (opts.priority !== undefined) checkInt(op, 'priority', opts.priority, 1, 0xffff);
    if (opts.replace && (opts.handle === undefined || opts.priority === undefined)) {
      throw argumentError(op, 'replace needs the handle and priority of the filter to replace');
    }
    const r = this.#binding.tcAttach(t.ifindex, program.fd, {
      direction: t.direction,
      ...(t.netns ? { netns: t.netns } : {}),
      ...(opts.handle !== undefined ? { handle: opts.handle } : {}),
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.replace ? { replace: true } : {}),
    });
    return { ...t, handle: r.handle, priority: r.priority, progId: r.progId };
  }

  /** Removes one filter (the clsact qdisc stays; see destroyHook). */
  detach(ref: TcFilterRef): void {
    const op = 'bpf_tc_detach';
    const r = this.#ref(op, ref);
    this.#binding.tcDetach(r.ifindex, r);
  }

  /** The filter at (handle, priority), or null when there is none. */
  query(ref: TcFilterRef): TcFilter | null {
    const op = 'bpf_tc_query';
    const r = this.#ref(op, ref);
    const q = this.#binding.tcQuery(r.ifindex, r);
    return q === null ? null : { ...r, progId: q.progId, name: q.name };
  }

  /** Every BPF filter at the hook (a netlink dump), in kernel order. */
  list(target: TcTarget): TcListedFilter[] {
    const op = 'RTM_GETTFILTER';
    const t = this.#target(op, target);
    return this.#binding.tcList(t.ifindex, t).map((f: RawTcListed) => ({
      ...t,
      handle: f.handle,
      priority: f.priority,
      progId: f.progId,
      name: f.name,
      protocol: f.protocol,
      directAction: f.directAction,
    }));
  }

  /** Creates the clsact qdisc if missing; true when this call created it. */
  createHook(target: Omit<TcTarget, 'direction'>): boolean {
    const op = 'bpf_tc_hook_create';
    const t = this.#where(op, target);
    return this.#binding.tcHookCreate(t.ifindex, t.netns ? { netns: t.netns } : {}).created;
  }

  /** Deletes the clsact qdisc with every filter on both hooks; false when there was none. */
  destroyHook(target: Omit<TcTarget, 'direction'>): boolean {
    const op = 'bpf_tc_hook_destroy';
    const t = this.#where(op, target);
    return this.#binding.tcHookDestroy(t.ifindex, t.netns ? { netns: t.netns } : {}).destroyed;
  }

  #where(op: string, target: Omit<TcTarget, 'direction'>): { ifindex: number; netns?: string } {
    if (typeof target !== 'object' || target === null) throw argumentError(op, 'target must be { ifindex | interface, direction, netns? }');
    const netns = checkNetns(op, target.netns);
    let ifindex: number;
    if (target.ifindex !== undefined) {
      ifindex = checkInt(op, 'ifindex', target.ifindex, 1, 0x7fffffff);
    } else if (target.interface !== undefined) {
      const name = checkIfName(op, target.interface);
      ifindex = this.#binding.ifIndex(name, netns ? { netns } : {});
    } else {
      throw argumentError(op, 'target needs an ifindex or an interface name');
    }
    return netns ? { ifindex, netns } : { ifindex };
  }

  #target(op: string, target: TcTarget): { ifindex: number; direction: Direction; netns?: string } {
    const w = this.#where(op, target);
    return { ...w, direction: checkDirection(op, target.direction) };
  }

  #ref(op: string, ref: TcFilterRef): TcFilterRef {
    if (typeof ref !== 'object' || ref === null) throw argumentError(op, 'needs { ifindex, direction, handle, priority, netns? }');
    const t = this.#target(op, ref);
    return {
      ...t,
      handle: checkInt(op, 'handle', ref.handle, 1, 0xffffffff),
      priority: checkInt(op, 'priority', ref.priority, 1, 0xffff),
    };
  }
}
