/**
 * Agent restarts under load: a long TCP stream runs between pods on two nodes while one
 * agent is stopped with SIGTERM and restarted, and the other is SIGKILLed and restarted.
 * The stream must deliver every byte, and afterwards routes, interfaces and allocations
 * must be exactly what the pods need (nothing leaked, nothing missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { lab, mustLab, routeProblems, spawnIn, uniqueLabName, until } from '../support/lab.js';
import { entryCommand } from '../../src/lab/entries.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState } from '../../src/lab/state.js';

const name = uniqueLabName();
const names = new LabNames(name);
const MIN_BYTES = 200 * 1000 * 1000;

describe.skipIf(!isRoot)(needsRoot('tabby lab: agent restarts during a TCP transfer'), () => {
  beforeAll(async () => {
    await lab(name, ['down']);
    await mustLab(name, ['up', '--nodes', '2', '--pods-per-node', '1', '--log-level', 'warn']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('a 200 MB stream between nodes survives a SIGTERM restart and a SIGKILL restart', async () => {
    const state = await mustReadState(names);
    const [src, dst] = [state.pods.find((p) => p.node === 'node1')!, state.pods.find((p) => p.node === 'node2')!];
    const probe = entryCommand('probe', { preferBuilt: true });
    const sink = spawnIn(dst.netns, [...probe, 'sink', '--port', '5201']);
    let send: ReturnType<typeof spawnIn> | undefined;
    try {
      await until('the sink to listen', () => sink.output().includes('ready'), 30_000, sink.output);
      send = spawnIn(src.netns, [...probe, 'send', '--to', `${dst.ip}:5201`, '--mbps', '400', '--min-bytes', String(MIN_BYTES)]);
      await until('the sender to connect', () => send!.output().includes('sending'), 30_000, () => `sender: ${send!.output()} sink: ${sink.output()}`);

      // The sender keeps streaming until its stdin closes, so both restarts happen mid-transfer.
      const term = await lab(name, ['agent', 'restart', 'node1']);
      expect(term.stderr).toContain('node1: agent ready');
      expect(term.code).toBe(0);
      const kill = await lab(name, ['agent', 'restart', 'node2', '--kill']);
      expect(kill.stderr).toContain('(SIGKILL)');
      expect(kill.code).toBe(0);
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
  });

  it('after the restarts nothing is left over or missing', async () => {
    const state = await mustReadState(names);
    expect(routeProblems(state)).toEqual([]);
    const check = await lab(name, ['ctl', '--', 'ipam', 'check']);
    expect(check.stdout).toContain('no problems found');
    expect(check.stdout).toContain(`${state.pods.length} allocated addresses`);
    const status = await mustLab(name, ['status']);
    expect(status.stdout.match(/\d+ ready/g)).toHaveLength(2);
    const probe = await lab(name, ['probe', '--ascii']);
    expect(probe.stdout).toContain('2/2 pairs connected over TCP, 2/2 over UDP');
  });
});
