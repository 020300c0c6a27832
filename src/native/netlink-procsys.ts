/**
 * Opening /proc/sys files inside another network namespace. /proc/sys/net shows the
 * namespace of the thread that opens the file, so the addon opens it from the JS thread while
 * that thread is in `netns` (native/netlink.cc, procSysOpen); the fd keeps pointing there.
 */
import type { RawBinding } from './binding.js';
import { argumentError } from './errors.js';
import { loadBinding } from './loader.js';
import { checkNetns } from './validate.js';

export type ProcSysBinding = Pick<RawBinding, 'procSysOpen'>;

/** An fd of `path` (under /proc/sys/) opened in `netns`; the caller closes it (node:fs closeSync). */
export function openProcSys(path: string, opts: { netns?: string; write?: boolean } = {}, binding: ProcSysBinding = loadBinding()): number {
  const op = 'open';
  if (typeof path !== 'string' || !path.startsWith('/proc/sys/') || path.split('/').includes('..')) {
    throw argumentError(op, `only files under /proc/sys/ can be opened this way, got '${String(path)}'`);
  }
  const netns = checkNetns(op, opts.netns);
  return binding.procSysOpen(path, { ...(netns ? { netns } : {}), ...(opts.write ? { write: true } : {}) });
}
