import { constants } from 'node:os';

import { TabbyError } from '../errors.js';

// Node lists aliases (ENOTSUP and EOPNOTSUPP, EWOULDBLOCK and EAGAIN); use the names glibc's
// strerrorname_np gives, which is what the addon reports when no error class is registered.
const PREFERRED = new Set(['EOPNOTSUPP', 'EAGAIN', 'EDEADLK']);
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value) || PREFERRED.has(name)) errnoNames.set(value, name);
}

/** The symbolic name of a positive errno ("ENOENT"), or "E<n>" for one Node does not know. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The errno value of a symbolic name; throws for names Node does not know (a bug here). */
export function errnoOf(name: keyof typeof constants.errno): number {
  return constants.errno[name];
}

/**
 * A failure of a native (libbpf, netlink, namespace) operation, or an argument the wrapper
 * refused before calling native code. `op` names the call ("bpf_map_update_elem", "setns");
 * `errno` is a positive errno and `code` its name ("ENOENT", "EINVAL", "E2BIG").
 * The addon constructs this class itself (loader.ts registers it), so errors thrown from C++
 * and from the TypeScript checks look the same.
 */
export class NativeError extends TabbyError {
  readonly op: string;
  readonly errno: number;

  constructor(op: string, errno: number, message: string, options?: { cause?: unknown }) {
    super(errnoName(errno), message, options);
    this.op = op;
    this.errno = errno;
  }
}

/** An argument refused in TypeScript, before any native call: EINVAL unless told otherwise. */
export function argumentError(op: string, message: string, code: 'EINVAL' | 'ENOENT' | 'E2BIG' | 'EBADF' | 'ERANGE' = 'EINVAL'): NativeError {
  return new NativeError(op, errnoOf(code), message);
}
