// The test helpers themselves: a crashed run's namespaces and links (tby<dead pid>...) are
// swept by the next run, and cleanup() leaves nothing behind.
import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { mustRun, NetnsLab, run } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';

// Above the kernel's pid_max (at most 2^22), so never a live process.
const DEAD = 'tby9999999';

describe.skipIf(!isRoot)(needsRoot('network namespace test helpers'), () => {
  it('sweeps leftovers of a crashed run and removes everything it made', () => {
    mustRun(['ip', 'netns', 'add', `${DEAD}n1`]);
    mustRun(['ip', 'link', 'add', `${DEAD}v1a`, 'type', 'veth', 'peer', 'name', `${DEAD}v1b`]);
    const lab = new NetnsLab();
    try {
      expect(existsSync(`/run/netns/${DEAD}n1`)).toBe(false);
      expect(run(['ip', 'link', 'show', `${DEAD}v1a`]).status).not.toBe(0);

      const ns = lab.netns();
      const [host, inside] = lab.veth({ address: '10.251.9.1/30' }, { netns: ns, address: '10.251.9.2/30' });
      expect(lab.exec(ns, ['ip', '-o', 'addr', 'show', 'dev', inside.name]).stdout).toContain('10.251.9.2/30');
      expect(lab.ifindexOf(host)).toBeGreaterThan(1);
      expect(lab.leftovers()).toHaveLength(2); // the namespace and the host end of the veth
    } finally {
      lab.cleanup();
    }
    expect(lab.leftovers()).toEqual([]);
    lab.cleanup(); // twice is fine
  });
});
