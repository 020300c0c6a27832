// The mode probe on the real kernel: it loads the dataplane object and round-trips a tc
// attach on lo of a throwaway namespace, and leaves nothing behind (pins, qdisc, filters).
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { probeBpfSupport } from '../../src/dataplane/bpf/probe.js';
import { mustRun, NetnsLab } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';
import { ensureBpffs, newPinDir, removePinDir } from './support.js';

describe.skipIf(!isRoot)(needsRoot('probeBpfSupport on this kernel'), () => {
  const lab = isRoot ? new NetnsLab() : (undefined as unknown as NetnsLab);
  const dirs: string[] = [];
  afterAll(() => {
    dirs.forEach(removePinDir);
    lab?.cleanup();
  });

  it('says ok here, and leaves no pins, no qdisc and no filter', () => {
    ensureBpffs();
    const parent = newPinDir();
    dirs.push(parent);
    const pinDir = `${parent}/node1`;
    const ns = lab.netns();
    expect(probeBpfSupport({ pinDir, tc: { netns: ns.path } })).toEqual({ ok: true });
    expect(existsSync(dirname(pinDir)) ? readdirSync(dirname(pinDir)) : []).toEqual([]);
    expect(mustRun(['tc', 'qdisc', 'show', 'dev', 'lo'], { netns: ns.name })).not.toMatch(/clsact/);
  });

  it('reports a missing BTF file as no-btf', () => {
    expect(probeBpfSupport({ pinDir: `${newPinDir()}/n`, tc: false, deps: { btfPath: '/nonexistent/vmlinux' } })).toMatchObject({ ok: false, reason: 'no-btf' });
  });
});
