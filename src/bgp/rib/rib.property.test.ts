import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PathAttributes, Prefix } from '../wire/index.js';
import { selectBest } from './decision.js';
import { attributesKey, exportRoute } from './export-policy.js';
import { prefixKey } from './prefix-key.js';
import { Rib } from './rib.js';
import type { OutboundRoute, Path, RibConfig, RibPeer } from './types.js';

/**
 * Whatever sequence of events the RIB sees, its incremental answers must match a
 * from-scratch computation: the Loc-RIB equals selectBest over every held path, and what
 * each peer was told (the sum of its deltas) equals what it should be told now.
 */
const config: RibConfig = { localAs: 64512, routerId: '10.0.0.1', clusterId: '10.0.0.1' };
const peers: RibPeer[] = [
  { id: '10.0.0.2', address: '10.0.0.2', asn: 64512, routerId: '10.0.0.2', localAddress: '10.0.0.1', routeReflectorClient: true },
  { id: '10.0.0.3', address: '10.0.0.3', asn: 64512, routerId: '10.0.0.3', localAddress: '10.0.0.1' },
  { id: '10.0.0.4', address: '10.0.0.4', asn: 65001, routerId: '10.0.0.4', localAddress: '10.0.0.1' },
  { id: '10.0.0.5', address: '10.0.0.5', asn: 65002, routerId: '10.0.0.5', localAddress: '10.0.0.1', gracefulRestart: { restartTime: 5, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] } },
];
const prefixes: Prefix[] = [0, 64, 128].map((o) => ({ prefix: `10.1.0.${o}`, length: 26 }));

const attrs = fc.record({
  localPref: fc.constantFrom(100, 200),
  med: fc.option(fc.constantFrom(0, 10), { nil: undefined }),
  origin: fc.constantFrom('igp' as const, 'incomplete' as const),
  pathLen: fc.integer({ min: 0, max: 2 }),
});
const event = fc.oneof(
  fc.record({ kind: fc.constant('announce' as const), peer: fc.integer({ min: 0, max: 3 }), prefix: fc.integer({ min: 0, max: 2 }), a: attrs }),
  fc.record({ kind: fc.constant('withdraw' as const), peer: fc.integer({ min: 0, max: 3 }), prefix: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('originate' as const), prefix: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('withdraw-local' as const), prefix: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('down' as const), peer: fc.integer({ min: 0, max: 3 }), graceful: fc.boolean() }),
  fc.record({ kind: fc.constant('up' as const), peer: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('eor' as const), peer: fc.integer({ min: 0, max: 3 }) }),
);

describe('Rib incremental results match a recomputation', () => {
  it('for random event sequences', () => {
    fc.assert(fc.property(fc.array(event, { maxLength: 40 }), (events) => {
      const rib = new Rib(config);
      const up = new Set<string>();
      const originated = new Set<number>();
      const told = new Map<string, Map<string, OutboundRoute>>();
      const locRib = new Map<string, Path>();
      const record = (ch: ReturnType<Rib['apply']>): void => {
        // Each change names the best path it replaced: the one last reported for the prefix.
        const id = (p: Pick<Path, 'attributes' | 'source'> | null | undefined) => (p ? attributesKey(p.attributes) + JSON.stringify(p.source) : null);
        expect(ch.replaced.map(id)).toEqual(ch.best.map((b) => id(locRib.get(prefixKey(b.prefix)))));
        for (const b of ch.best) {
          if (b.best) locRib.set(prefixKey(b.prefix), b.best);
          else locRib.delete(prefixKey(b.prefix));
        }
        for (const d of ch.out) {
          const m = told.get(d.peerId)!;
          for (const w of d.withdraw) m.delete(prefixKey(w));
          for (const r of d.announce) m.set(prefixKey(r.prefix), r);
        }
      };
      for (const p of peers) {
        told.set(p.id, new Map());
        record(rib.apply({ type: 'peer-up', peer: p }));
        up.add(p.id);
      }
      for (const e of events) {
        if (e.kind === 'originate') {
          originated.add(e.prefix);
          record(rib.originate(prefixes[e.prefix]!));
        } else if (e.kind === 'withdraw-local') {
          originated.delete(e.prefix);
          record(rib.withdrawLocal(prefixes[e.prefix]!));
        }
        else {
          const p = peers[e.peer]!;
          if (e.kind === 'down') {
            if (!up.has(p.id)) continue;
            up.delete(p.id);
            told.set(p.id, new Map());
            record(rib.apply({ type: 'peer-down', peerId: p.id, graceful: e.graceful }));
          } else if (e.kind === 'up') {
            if (up.has(p.id)) continue;
            up.add(p.id);
            record(rib.apply({ type: 'peer-up', peer: p }));
          } else if (!up.has(p.id)) {
            continue;
          } else if (e.kind === 'eor') {
            record(rib.apply({ type: 'update', peerId: p.id, update: { type: 'update', withdrawn: [], attributes: {}, nlri: [] } }));
          } else if (e.kind === 'withdraw') {
            record(rib.apply({ type: 'update', peerId: p.id, update: { type: 'update', withdrawn: [prefixes[e.prefix]!], attributes: {}, nlri: [] } }));
          } else {
            const ebgp = p.asn !== config.localAs;
            const a: PathAttributes = {
              origin: e.a.origin, nextHop: p.address,
              asPath: ebgp || e.a.pathLen > 0 ? [{ type: 'sequence', asns: [...(ebgp ? [p.asn] : []), ...Array.from({ length: e.a.pathLen }, (_, i) => 65100 + i)] }] : [],
              ...(ebgp ? {} : { localPref: e.a.localPref }),
              ...(e.a.med !== undefined ? { med: e.a.med } : {}),
            };
            record(rib.apply({ type: 'update', peerId: p.id, update: { type: 'update', withdrawn: [], attributes: a, nlri: [prefixes[e.prefix]!] } }));
          }
        }
      }
      // Loc-RIB as reported == Loc-RIB held == selectBest over every held path.
      const held = new Map<string, Path[]>();
      for (const p of peers) for (const path of rib.adjRibIn(p.id)) held.set(prefixKey(path.prefix), [...(held.get(prefixKey(path.prefix)) ?? []), path]);
      for (const i of originated) {
        const local: Path = { prefix: prefixes[i]!, source: { kind: 'local' }, attributes: { origin: 'igp', asPath: [] }, stale: false };
        held.set(prefixKey(local.prefix), [...(held.get(prefixKey(local.prefix)) ?? []), local]);
      }
      const expected = new Map([...held].flatMap(([k, ps]) => {
        const d = selectBest(ps, config);
        return d ? [[k, d.best] as const] : [];
      }));
      expect(new Map([...locRib].map(([k, v]) => [k, attributesKey(v.attributes) + JSON.stringify(v.source)]))).toEqual(
        new Map([...expected].map(([k, v]) => [k, attributesKey(v.attributes) + JSON.stringify(v.source)])));
      // What each up peer was told == what it should be told.
      for (const p of peers) {
        if (!up.has(p.id)) continue;
        const should = new Map([...expected].flatMap(([k, best]) => {
          const r = exportRoute(best, p, config);
          return r ? [[k, attributesKey(r.attributes)] as const] : [];
        }));
        const got = new Map([...told.get(p.id)!].map(([k, r]) => [k, attributesKey(r.attributes)]));
        expect(got).toEqual(should);
      }
    }), { numRuns: 300 });
  });
});
