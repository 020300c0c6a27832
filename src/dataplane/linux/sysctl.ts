/**
 * Reading and writing kernel settings under /proc/sys, optionally in another network
 * namespace. Used by workload wiring (proxy ARP on the host side) and by the agent
 * (ip_forward). Never shells out to `sysctl`.
 *
 * A key is dotted (`net.ipv4.ip_forward`), an absolute /proc/sys path, or a list of path
 * segments. Use segments when a part may contain a dot (interface names can:
 * `['net', 'ipv4', 'conf', 'eth0.100', 'proxy_arp']`).
 *
 * Namespaces: /proc/sys/net shows the namespace of the thread that opens the file. Without
 * `netns` the file is opened normally (the process's own namespace, which is the node's when
 * the agent runs inside it); with `netns` the addon opens it from inside that namespace.
 */
import { closeSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';

import { TabbyError } from '../../errors.js';
import { openProcSys, type ProcSysBinding } from '../../native/netlink-procsys.js';

export type SysctlKey = string | readonly string[];

export class SysctlError extends TabbyError {
  constructor(
    readonly op: 'read' | 'write',
    readonly path: string,
    readonly errno: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('SYSCTL_FAILED', message, options);
  }
}

export interface SysctlOptions {
  /** Network namespace (/run/netns/NAME or /proc/PID/ns/net) for net.* settings. */
  netns?: string;
  /** The addon, for `netns`; loaded on first use. */
  binding?: ProcSysBinding;
}

const SEGMENT_RE = /^[A-Za-z0-9_.:@-]+$/;

/** The /proc/sys path of a key; throws SysctlError for anything that could leave /proc/sys. */
export function sysctlPath(key: SysctlKey, op: 'read' | 'write' = 'read'): string {
  let segments: readonly string[];
  if (typeof key === 'string') {
    if (key.startsWith('/proc/sys/')) segments = key.slice('/proc/sys/'.length).split('/');
    else segments = key.split('.');
  } else segments = key;
  const bad = segments.length === 0 || segments.some((s) => typeof s !== 'string' || !SEGMENT_RE.test(s) || s === '.' || s === '..');
  if (bad) {
    const shown = typeof key === 'string' ? key : JSON.stringify(key);
    throw new SysctlError(op, shown, 22, `'${shown}' is not a sysctl key (want net.ipv4.ip_forward, /proc/sys/net/ipv4/ip_forward or ['net', 'ipv4', 'conf', 'eth0.1', 'proxy_arp'])`);
  }
  return `/proc/sys/${segments.join('/')}`;
}

export class Sysctl {
  readonly #netns: string | undefined;
  readonly #binding: ProcSysBinding | undefined;

  constructor(opts: SysctlOptions = {}) {
    this.#netns = opts.netns;
    this.#binding = opts.binding;
  }

  /** The setting's value, trimmed ("1", "0\t65535"). */
  read(key: SysctlKey): string {
    const path = sysctlPath(key, 'read');
    try {
      if (this.#netns === undefined) return readFileSync(path, 'utf8').trim();
      const fd = this.#open(path, false);
      try {
        const buf = Buffer.alloc(4096);
        let len = 0;
        for (;;) {
          const n = readSync(fd, buf, len, buf.length - len, null);
          if (n === 0 || len + n >= buf.length) {
            len += n;
            break;
          }
          len += n;
        }
        return buf.subarray(0, len).toString('utf8').trim();
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw this.#error('read', path, err);
    }
  }

  write(key: SysctlKey, value: string | number): void {
    const path = sysctlPath(key, 'write');
    const text = `${String(value)}\n`;
    try {
      if (this.#netns === undefined) {
        writeFileSync(path, text);
        return;
      }
      const fd = this.#open(path, true);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw this.#error('write', path, err);
    }
  }

  /** Writes only when the value differs; true when it wrote. */
  ensure(key: SysctlKey, value: string | number): boolean {
    if (this.read(key) === String(value)) return false;
    this.write(key, value);
    return true;
  }

  #open(path: string, write: boolean): number {
    return openProcSys(path, { netns: this.#netns, write }, this.#binding);
  }

  #error(op: 'read' | 'write', path: string, err: unknown): SysctlError {
    if (err instanceof SysctlError) return err;
    const e = err as { code?: string; errno?: number; message?: string };
    const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
    const where = this.#netns ? ` in network namespace ${this.#netns}` : '';
    let hint = '';
    if (e.code === 'ENOENT') hint = 'no such setting: check the key (an interface\'s settings exist only while the interface does)';
    else if (e.code === 'EACCES' || e.code === 'EPERM') hint = 'changing kernel settings needs root (CAP_NET_ADMIN/CAP_SYS_ADMIN), and /proc/sys must be mounted read-write';
    else if (e.code === 'EINVAL') hint = 'the kernel refused the value';
    return new SysctlError(op, path, errno, `cannot ${op} ${path}${where}: ${e.message ?? String(err)}${hint ? `; ${hint}` : ''}`, { cause: err });
  }
}
