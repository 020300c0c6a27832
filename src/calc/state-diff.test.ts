import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageKey, type DataplaneMessage, type RouteUpdate } from '../dataplane/messages.js';
import { emptyDesiredState, type DesiredState } from './desired-state.js';
import { diffDesiredState, sameValue } from './state-diff.js';

/** Every message a state holds, by message key. */
function messagesOf(s: DesiredState): Map<string, DataplaneMessage> {
  const all: DataplaneMessage[] = [...s.hosts.values(), ...s.pools.values(), ...s.endpoints.values(), ...s.routes.values()];
  return new Map(all.map((m) => [messageKey(m), m]));
}

const arbState: fc.Arbitrary<DesiredState> = fc
  .record({
    hosts: fc.uniqueArray(fc.constantFrom('n1', 'n2', 'n3'), { maxLength: 3 }),
    routes: fc.uniqueArray(fc.record({ dst: fc.constantFrom('10.0.0.1/32', '10.0.0.2/32', '10.0.1.0/26'), iface: fc.constantFrom('cali1', 'cali2') }), {
      selector: (r) => r.dst,
      maxLength: 3,
    }),
    weps: fc.uniqueArray(fc.record({ ep: fc.constantFrom('e1', 'e2'), label: fc.constantFrom('a', 'b') }), { selector: (w) => w.ep, maxLength: 2 }),
  })
  .map(({ hosts, routes, weps }) => {
    const s = emptyDesiredState();
    for (const h of hosts) s.hosts.set(h, { type: 'HostMetadataUpdate', hostname: h, ipv4Addr: '192.168.0.1' });
    for (const r of routes) s.routes.set(r.dst, { type: 'RouteUpdate', dst: r.dst, routeType: 'local-workload', iface: r.iface, encap: 'none' } satisfies RouteUpdate);
    for (const w of weps) {
      const id = { orchestrator: 'k8s', workload: 'ns/p', endpoint: w.ep };
      s.endpoints.set(`k8s/ns/p/${w.ep}`, { type: 'WorkloadEndpointUpdate', id, ifaceName: 'cali1', ipv4Nets: [], labels: { app: w.label }, profileIds: [] });
    }
    return s;
  });

describe('diffDesiredState', () => {
  it('property: applying the diff to the old state gives the new one, and unchanged entries send nothing', () => {
    fc.assert(
      fc.property(arbState, arbState, (prev, next) => {
        const msgs = diffDesiredState(prev, next);
        const held = messagesOf(prev);
        for (const m of msgs) {
          if (m.type.endsWith('Remove')) {
            expect(held.has(messageKey(m))).toBe(true);
            held.delete(messageKey(m));
          } else {
            expect(sameValue(held.get(messageKey(m)), m)).toBe(false);
            held.set(messageKey(m), m);
          }
        }
        expect(held).toEqual(messagesOf(next));
        expect(diffDesiredState(next, next)).toEqual([]);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('sameValue ignores key order but not content', () => {
    expect(sameValue({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue({ a: [] }, { a: {} })).toBe(false);
  });
});
