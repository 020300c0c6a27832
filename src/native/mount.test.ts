import { describe, expect, it } from 'vitest';
import { forbiddenBinding, NativeCalled } from './fake-binding.js';
import { mountBpffs } from './mount.js';

describe('mountBpffs', () => {
  it('validates before native code, and passes the mode on', () => {
    expect(() => mountBpffs('relative/dir', {}, forbiddenBinding())).toThrow(/absolute path/);
    expect(() => mountBpffs('/sys/fs/bpf', { mode: 0o10000 }, forbiddenBinding())).toThrow(/file mode/);
    expect(() => mountBpffs('/sys/fs/bpf', {}, forbiddenBinding())).toThrow(NativeCalled);
    const calls: unknown[] = [];
    mountBpffs('/sys/fs/bpf', { mode: 0o700 }, forbiddenBinding({ mountBpffs: (d, o) => void calls.push([d, o]) }));
    expect(calls).toEqual([['/sys/fs/bpf', { mode: 0o700 }]]);
  });
});
