import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageKey, type DataplaneMessage } from '../dataplane/messages.js';
import { Sequencer } from './sequencer.js';

const host = (hostname: string, ipv4Addr = '192.168.0.1'): DataplaneMessage => ({ type: 'HostMetadataUpdate', hostname, ipv4Addr });
const hostRm = (hostname: string): DataplaneMessage => ({ type: 'HostMetadataRemove', hostname });
const pool = (id: string): DataplaneMessage => ({ type: 'IPPoolUpdate', id, cidr: '10.65.0.0/16', ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false });
const poolRm = (id: string): DataplaneMessage => ({ type: 'IPPoolRemove', id });
const route = (dst: string, iface = 'cali1'): DataplaneMessage => ({ type: 'RouteUpdate', dst, routeType: 'local-workload', iface, encap: 'none' });
const routeRm = (dst: string): DataplaneMessage => ({ type: 'RouteRemove', dst });
const id = (endpoint: string) => ({ orchestrator: 'k8s', workload: 'ns/pod', endpoint });
const wep = (endpoint: string): DataplaneMessage => ({ type: 'WorkloadEndpointUpdate', id: id(endpoint), ifaceName: 'cali1', ipv4Nets: [], labels: {}, profileIds: [] });
const wepRm = (endpoint: string): DataplaneMessage => ({ type: 'WorkloadEndpointRemove', id: id(endpoint) });

describe('Sequencer', () => {
  it('flushes updates in dependency order, then removals in reverse, then InSync', () => {
    const s = new Sequencer();
    s.push([{ type: 'InSync' }, hostRm('old'), routeRm('10.0.0.9/32'), route('10.0.0.1/32'), wepRm('e9'), wep('e1'), poolRm('p9'), pool('p1'), host('n1')]);
    expect(s.flush().map((m) => m.type)).toEqual([
      'IPPoolUpdate',
      'HostMetadataUpdate',
      'WorkloadEndpointUpdate',
      'RouteUpdate',
      'RouteRemove',
      'WorkloadEndpointRemove',
      'HostMetadataRemove',
      'IPPoolRemove',
      'InSync',
    ]);
    expect(s.size).toBe(0);
    expect(s.flush()).toEqual([]);
  });

  it('keeps the last update per key', () => {
    const s = new Sequencer();
    s.push([host('n1', '192.168.0.1'), host('n1', '192.168.0.2')]);
    expect(s.flush()).toEqual([host('n1', '192.168.0.2')]);
  });

  it('update then remove of the same key is a remove', () => {
    const s = new Sequencer();
    s.push([route('10.0.0.1/32'), routeRm('10.0.0.1/32'), wep('e1'), wepRm('e1')]);
    expect(s.flush()).toEqual([routeRm('10.0.0.1/32'), wepRm('e1')]);
  });

  it('remove then update of the same key is the update', () => {
    const s = new Sequencer();
    s.push([routeRm('10.0.0.1/32'), route('10.0.0.1/32', 'cali2')]);
    expect(s.flush()).toEqual([route('10.0.0.1/32', 'cali2')]);
  });

  it('keeps first-seen order within one rank', () => {
    const s = new Sequencer();
    s.push([route('10.0.0.3/32'), route('10.0.0.1/32'), route('10.0.0.2/32')]);
    expect(s.flush().map((m) => (m.type === 'RouteUpdate' ? m.dst : ''))).toEqual(['10.0.0.3/32', '10.0.0.1/32', '10.0.0.2/32']);
  });

  it('property: the flush holds exactly the last message per key, each key once', () => {
    const arbMsg = fc.oneof(
      fc.constantFrom('a', 'b').map(host),
      fc.constantFrom('a', 'b').map(hostRm),
      fc.constantFrom('p', 'q').map(pool),
      fc.constantFrom('p', 'q').map(poolRm),
      fc.constantFrom('10.0.0.1/32', '10.0.0.2/32').map((d) => route(d)),
      fc.constantFrom('10.0.0.1/32', '10.0.0.2/32').map(routeRm),
      fc.constantFrom('e1', 'e2').map(wep),
      fc.constantFrom('e1', 'e2').map(wepRm),
    );
    fc.assert(
      fc.property(fc.array(arbMsg, { maxLength: 30 }), (msgs) => {
        const s = new Sequencer();
        s.push(msgs);
        const out = s.flush();
        const last = new Map(msgs.map((m) => [messageKey(m), m]));
        expect(new Map(out.map((m) => [messageKey(m), m]))).toEqual(last);
        expect(out).toHaveLength(last.size);
        // Nothing that references a removed thing comes after a removal of it: removals are a suffix.
        const firstRemove = out.findIndex((m) => m.type.endsWith('Remove'));
        if (firstRemove >= 0) expect(out.slice(firstRemove).every((m) => m.type.endsWith('Remove'))).toBe(true);
      }),
    );
  });
});
