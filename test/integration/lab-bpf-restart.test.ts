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
import { lab, mustLab, spawnIn, uniqueLabName, until } from '../support/lab.js';
import { entryCommand } from '../../src/lab/entries.js';
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
    const probe = entryCommand('probe', { preferBuilt: true });
    const sink = spawnIn(dst.netns, [...probe, 'sink', '--port', '5201']);
    let send: ReturnType<typeof spawnIn> | undefined;
    try {
      await until('the sink to listen', () => sink.output().includes('ready'), 30_000, sink.output);
      send = spawnIn(src.netns, [...probe, 'send', '--to', `${dst.ip}:5201`, '--mbps', '300', '--min-bytes', String(MIN_BYTES)]);
      await until('the sender to connect', () => send!.output().includes('sending'), 30_000, () => `sender: ${send!.output()} sink: ${sink.output()}`);

      // The sender streams until its stdin closes, so the restart happens mid-transfer.
      const kill = await lab(name, ['agent', 'restart', 'node1', '--kill']);
      expect(kill.stderr).toContain('(SIGKILL)');
      expect(kill.code, kill.stderr).toBe(0);
      send.child.stdin!.end();

      expect(await send.exited).toBe(0);
      expect(await sink.exited).toBe(0);
      const sent = JSON.parse(send.output().split('\n').find((l) => l.startsWith('{'))!) as { bytes: number; error?: string };
      const got = JSON.parse(sink.output().split('\n').find((l) => l.startsWith('{'))!) as { bytes: number; error?: string };
      expect(sent.error).toBeUndefined();
      expect(sent.bytes).toBeGreaterThanOrEqual(MIN_BYTES);
      expect(got).toEqual({ bytes: sent.bytes });
    } finally {
      send?.child.kill('SIGKILL');
      sink.child.kill('SIGKILL');
    }
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
