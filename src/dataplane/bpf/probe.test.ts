import { describe, expect, it } from 'vitest';

import { bpffsMountFor, ensureBpffs, probeBpfSupport, type ProbeDeps } from './probe.js';

const MOUNTED = 'sysfs /sys sysfs rw 0 0\nbpf /sys/fs/bpf bpf rw,nosuid 0 0\n';
const UNMOUNTED = 'sysfs /sys sysfs rw 0 0\n';

function deps(over: Partial<ProbeDeps> = {}): Partial<ProbeDeps> & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    btfPath: '/',
    mounts: () => MOUNTED,
    mount: (d) => void calls.push(`mount ${d}`),
    load: (p) => {
      calls.push(`load ${p}`);
      return { probeProgram: { fd: 3 }, close: () => void calls.push('close') };
    },
    tcRoundTrip: (_p, netns) => void calls.push(`tc ${netns ?? 'here'}`),
    ...over,
  };
}

describe('bpffsMountFor', () => {
  it('finds the bpf mount covering a directory, the longest one', () => {
    const m = `${MOUNTED}bpf /sys/fs/bpf/tabby bpf rw 0 0\n`;
    expect(bpffsMountFor('/sys/fs/bpf/tabby/n1', m)).toBe('/sys/fs/bpf/tabby');
    expect(bpffsMountFor('/sys/fs/bpf/x', m)).toBe('/sys/fs/bpf');
    expect(bpffsMountFor('/sys/fs/bpfx', m)).toBeNull();
    expect(bpffsMountFor('/sys/fs/bpf/x', UNMOUNTED)).toBeNull();
  });
});

describe('ensureBpffs', () => {
  it('mounts /sys/fs/bpf when nothing is mounted there', () => {
    let mounted = false;
    const calls: string[] = [];
    ensureBpffs('/sys/fs/bpf/tabby/n1', { mounts: () => (mounted ? MOUNTED : UNMOUNTED), mount: (d) => ((mounted = true), void calls.push(d)) });
    expect(calls).toEqual(['/sys/fs/bpf']);
  });
  it('does nothing when mounted, and refuses a directory outside bpffs', () => {
    const d = deps();
    ensureBpffs('/sys/fs/bpf/tabby/n1', d as ProbeDeps);
    expect(d.calls).toEqual([]);
    expect(() => ensureBpffs('/var/lib/tabby', { mounts: () => UNMOUNTED, mount: () => undefined })).toThrow(/not on a bpf filesystem/);
  });
});

describe('probeBpfSupport (fake kernel)', () => {
  it('ok when every check passes; the load goes to a throwaway directory beside the pin dir', () => {
    const d = deps();
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/tabby/n1', deps: d })).toEqual({ ok: true });
    expect(d.calls).toEqual([`load /sys/fs/bpf/tabby/tabby-probe-${process.pid}`, 'tc here', 'close']);
  });
  it('says which check failed, with a stable reason', () => {
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/n', deps: deps({ btfPath: '/nonexistent/vmlinux' }) })).toMatchObject({ ok: false, reason: 'no-btf' });
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/n', deps: deps({ mounts: () => UNMOUNTED, mount: () => { throw new Error('EPERM'); } }) })).toMatchObject({ ok: false, reason: 'no-bpffs' });
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/n', deps: deps({ load: () => { throw Object.assign(new Error('verifier said no'), { code: 'EACCES' }); } }) })).toMatchObject({
      ok: false,
      reason: 'load-failed',
      message: expect.stringMatching(/verifier said no/),
    });
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/n', deps: deps({ load: () => { throw Object.assign(new Error('cannot open build/Release/tabby_native.node'), { code: 'ERR_DLOPEN_FAILED' }); } }) })).toMatchObject({ ok: false, reason: 'no-addon' });
    const d = deps({ tcRoundTrip: () => { throw new Error('EOPNOTSUPP'); } });
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/n', deps: d })).toMatchObject({ ok: false, reason: 'tc-failed' });
    expect(d.calls).toContain('close');
  });
  it('skips the tc check when told', () => {
    const d = deps();
    expect(probeBpfSupport({ pinDir: '/sys/fs/bpf/n', tc: false, deps: d })).toEqual({ ok: true });
    expect(d.calls.some((c) => c.startsWith('tc'))).toBe(false);
  });
});
