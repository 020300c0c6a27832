/**
 * `--dataplane auto` where the bpf probe fails for real: the lab puts the nodes' pin
 * directories on a plain (tmpfs) directory, so the probe's bpffs check fails (no-bpffs)
 * and each agent falls back to legacy. Judged by the agent's own /metrics and log line,
 * and by the probe matrix over the legacy dataplane's kernel routes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { lab, mustLab, uniqueLabName } from '../support/lab.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState } from '../../src/lab/state.js';
import { nodeMetrics } from './fixtures/lab-bpf.js';

const name = uniqueLabName();
const names = new LabNames(name);

describe.skipIf(!isRoot)(needsRoot('tabby lab: --dataplane auto falls back to legacy when the bpf probe fails'), () => {
  beforeAll(async () => {
    await lab(name, ['down']);
    // Inside the lab's run directory (tmpfs, never bpffs); lab down removes it.
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '2', '--dataplane', 'auto', '--pin-root', `${names.dir}/no-bpffs`, '--log-level', 'info']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('each agent runs legacy and says why, in one log line and in tabby_dataplane_mode', async () => {
    const state = await mustReadState(names);
    for (const node of state.nodes) {
      expect(nodeMetrics(node)).toContain('tabby_dataplane_mode{mode="legacy",reason="no-bpffs"} 1');
      const lines = readFileSync(node.logFile, 'utf8').split('\n').filter((l) => l.includes('"op":"dataplane"'));
      expect(lines).toHaveLength(1);
      const entry = JSON.parse(lines[0]!) as { mode: string; reason: string; msg: string };
      expect(entry).toMatchObject({ mode: 'legacy', reason: 'no-bpffs' });
      expect(entry.msg).toContain(`dataplane auto: using legacy (kernel routes) because the bpf probe failed (no-bpffs): bpffs: ${node.pinDir} is not on a bpf filesystem`);
    }
  });

  it('the probe matrix holds over the legacy dataplane', async () => {
    const probe = await lab(name, ['probe', '--ascii']);
    expect(probe.stdout).toContain('12/12 pairs connected over TCP, 12/12 over UDP');
  });
});
