/**
 * mount(2) of a bpf filesystem through the addon (native/mount.cc), so the agent mounts
 * /sys/fs/bpf on a fresh machine without running mount(8).
 */
import type { RawBinding } from './binding.js';
import { loadBinding } from './loader.js';
import { argumentError } from './errors.js';
import { checkPath } from './validate.js';

export function mountBpffs(dir: string, opts: { mode?: number } = {}, binding: Pick<RawBinding, 'mountBpffs'> = loadBinding()): void {
  const path = checkPath('mount', 'dir', dir);
  if (!path.startsWith('/')) throw argumentError('mount', `dir must be an absolute path, got '${path}'`);
  if (opts.mode !== undefined && !(Number.isInteger(opts.mode) && opts.mode >= 0 && opts.mode <= 0o7777)) {
    throw argumentError('mount', `mode must be a file mode such as 0o700, got ${String(opts.mode)}`);
  }
  binding.mountBpffs(path, opts.mode === undefined ? {} : { mode: opts.mode });
}
