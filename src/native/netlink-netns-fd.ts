/**
 * A namespace file opened for the length of one call, for IFLA_NET_NS_FD. node:fs gives a
 * real fd that the kernel accepts in the attribute; it is closed right after the request.
 */
import { closeSync, openSync } from 'node:fs';

import { NativeError } from './errors.js';

export function withNetnsFd<T>(op: string, path: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : 2;
    throw new NativeError(
      op,
      errno,
      `network namespace ${path} cannot be opened: ${e.message}; ${e.code === 'ENOENT' ? 'it does not exist: check the name (ip netns list) or the pid (/proc/PID/ns/net)' : 'check the path and that this process may read it'}`,
      { cause: err },
    );
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}
