/**
 * An agent restart without loss in bpf mode: a long TCP stream runs between pods on two
 * nodes (IPIP, encapsulated by the programs) while node1's agent is SIGKILLed and a new one
 * started. The programs keep running on the pinned maps while no agent runs, and the new
 * agent swaps its programs in with tc replace (a new program id on the same filter). The
 * stream must deliver every byte without a reset; afterwards each node's routes map holds
 * exactly what the datastore says (WorkloadEndpoints and IPAM blocks), nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { lab, mustLab, streamDuring, uniqueLabName } from '../support/lab.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState } from '../../src/lab/state.js';
import { dumpRoutes, expectedRoutes, uplinkProgramId } from './fixtures/lab-bpf.js';

const name = uniqueLabName();
const names = new LabNames(name);
const MIN_BYTES = 150 * 1000 * 1000;

describe.skipIf(!isRoot)(needsRoot('tabby lab, bpf dataplane: SIGKILL restart during a TCP transfer'), () => {
  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '1', '--dataplane', 'bpf', '--ipip', 'always', '--log-level', 'warn']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('a 150 MB stream between nodes survives a SIGKILL restart; the new agent replaced the programs in place', async () => {
    const state = await mustReadState(names);
    const [node1] = state.nodes;
    const [src, dst] = [state.pods.find((p) => p.node === 'node1')!, state.pods.find((p) => p.node === 'node2')!];
    const progBefore = uplinkProgramId(node1!);
    expect(progBefore).toBeDefined();
    const r = await streamDuring(src, dst, { mbps: 300, minBytes: MIN_BYTES }, async () => {
      // The restart happens mid-transfer: the sender streams until this returns.
      const kill = await lab(name, ['agent', 'restart', 'node1', '--kill']);
      expect(kill.stderr).toContain('(SIGKILL)');
      expect(kill.code, kill.stderr).toBe(0);
    });
    expect(r.sender.exit).toBe(0);
    expect(r.sink.exit).toBe(0);
    expect(r.sender.error).toBeUndefined();
    expect(r.sender.bytes).toBeGreaterThanOrEqual(MIN_BYTES);
    expect(r.sink).toEqual({ exit: 0, bytes: r.sender.bytes });
    const progAfter = uplinkProgramId(node1!);
    expect(progAfter).toBeDefined();
    expect(progAfter).not.toBe(progBefore);
  });

  it('afterwards every node\'s routes map is exactly what the datastore says', async () => {
    const state = await mustReadState(names);
    for (const node of state.nodes) {
      const want = await expectedRoutes(name, state, node, true);
      expect(await dumpRoutes(node), node.name).toEqual(want);
    }
    const probe = await lab(name, ['probe', '--ascii']);
    expect(probe.stdout).toContain('2/2 pairs connected over TCP, 2/2 over UDP');
  });
});
