/**
 * A 3-node lab with real agents, etcd and CNI calls: every pod reaches every other pod
 * over TCP and UDP; deleting a pod releases its address and its routes everywhere;
 * adding it back works; `lab down` leaves the machine as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, needsRoot } from '../support/root.js';
import { footprint, lab, leftovers, mustLab, routeProblems, routesFor, uniqueLabName, type LabFootprint } from '../support/lab.js';
import { LabNames } from '../../src/lab/names.js';
import { mustReadState } from '../../src/lab/state.js';

const name = uniqueLabName();
const names = new LabNames(name);

describe.skipIf(!isRoot)(needsRoot('tabby lab: 3 nodes, 2 pods each, real agents'), () => {
  let before: LabFootprint;

  beforeAll(async () => {
    await lab(name, ['down']);
    before = footprint(name);
    await mustLab(name, ['up', '--nodes', '3', '--pods-per-node', '2', '--log-level', 'warn']);
  });

  afterAll(async () => {
    await lab(name, ['down']);
  });

  it('lab status lists every node with a ready agent and every pod with an address', async () => {
    const r = await mustLab(name, ['status']);
    expect(r.stdout.match(/^node\d\s+10\.199\.0\.1\d\/24\s+\d+ ready\s+2$/gm)).toHaveLength(3);
    const state = await mustReadState(names);
    expect(state.pods.map((p) => p.name).sort()).toEqual(['node1-p1', 'node1-p2', 'node2-p1', 'node2-p2', 'node3-p1', 'node3-p2']);
    expect(new Set(state.pods.map((p) => p.ip)).size).toBe(6);
    expect(routeProblems(state)).toEqual([]);
  });

  it('every ordered pair of pods is connected over TCP and UDP', async () => {
    const r = await lab(name, ['probe', '--ascii']);
    expect(r.stdout).toContain('30/30 pairs connected over TCP, 30/30 over UDP');
    expect(r.code).toBe(0);
  });

  it('deleting a pod releases its address and its routes on every node; adding it again works', async () => {
    const victim = (await mustReadState(names)).pods.find((p) => p.name === 'node2-p1')!;
    expect((await mustLab(name, ['ctl', '--', 'ipam', 'show', '--ip', victim.ip])).stdout).toContain(`${victim.ip} is in use`);

    const del = await mustLab(name, ['pod', 'del', 'node2-p1']);
    expect(del.stdout).toContain(`pod node2-p1 deleted (was ${victim.ip} on node2)`);
    expect((await mustLab(name, ['ctl', '--', 'ipam', 'show', '--ip', victim.ip])).stdout).toContain(`${victim.ip} is free`);
    const state = await mustReadState(names);
    for (const node of state.nodes) expect(routesFor(node.netns, victim.ip), node.name).toEqual([]);
    expect(routeProblems(state)).toEqual([]);
    expect(footprint(name).netns).not.toContain(victim.netns);

    await mustLab(name, ['pod', 'add', 'node2-p1', '--node', 'node2', '--labels', 'app=web']);
    expect(routeProblems(await mustReadState(names))).toEqual([]);
    const probe = await lab(name, ['probe', '--ascii']);
    expect(probe.stdout).toContain('30/30 pairs connected over TCP, 30/30 over UDP');
    expect((await lab(name, ['ctl', '--', 'ipam', 'check'])).code).toBe(0);
  });

  it('lab down leaves the machine as it was', async () => {
    const down = await mustLab(name, ['down']);
    expect(down.stdout).toContain(`removed netns ${names.underlayNetns}`);
    expect(leftovers(before, footprint(name))).toEqual([]);
    expect((await mustLab(name, ['down'])).stdout).toContain('nothing to remove');
  });
});
