import type { RawBinding } from './binding.js';
import { loadBinding } from './loader.js';
import { checkIfName, checkInt, checkNetns } from './validate.js';

export interface NetnsOptions {
  /** Run inside this network namespace: /run/netns/NAME or /proc/PID/ns/net. */
  netns?: string;
}

/** Interface name <-> index lookups, optionally inside another network namespace. */
export class Interfaces {
  readonly #binding: Pick<RawBinding, 'ifIndex' | 'ifName'>;

  constructor(binding: Pick<RawBinding, 'ifIndex' | 'ifName'> = loadBinding()) {
    this.#binding = binding;
  }

  /** The ifindex of `name`; NativeError op if_nametoindex, ENODEV when there is none. */
  index(name: string, opts: NetnsOptions = {}): number {
    const op = 'if_nametoindex';
    const n = checkIfName(op, name);
    const netns = checkNetns(op, opts.netns);
    return this.#binding.ifIndex(n, netns ? { netns } : {});
  }

  /** The name of interface `ifindex`; NativeError op if_indextoname, ENXIO when there is none. */
  name(ifindex: number, opts: NetnsOptions = {}): string {
    const op = 'if_indextoname';
    checkInt(op, 'ifindex', ifindex, 1, 0x7fffffff);
    const netns = checkNetns(op, opts.netns);
    return this.#binding.ifName(ifindex, netns ? { netns } : {});
  }
}

/** The ifindex of interface `name` (in `netns` when given). */
export function ifindex(name: string, opts: NetnsOptions = {}): number {
  return new Interfaces().index(name, opts);
}
