import { describe, expect, it } from 'vitest';

import { CT_FLAG, CT_STATE, ctKey, ctValue } from './codecs/conntrack.js';
import { ROUTE_FLAG, ROUTE_TYPE, routeKey, routeValue } from './codecs/routes.js';
import { conntrackRows, routeRows } from './inspect.js';
import { pinDirFor } from './pin-dir.js';

describe('routeRows', () => {
  it('decodes and sorts by address, shorter prefix first', () => {
    const e = (addr: string, prefixlen: number, type: number, flags = 0, next_hop = '0.0.0.0', ifindex = 0) => ({
      key: routeKey.encode({ prefixlen, addr }),
      value: routeValue.encode({ type, flags, ifindex, next_hop }),
    });
    const rows = routeRows([
      e('10.65.1.0', 26, ROUTE_TYPE.remote, ROUTE_FLAG.ipip, '192.168.1.2'),
      e('10.65.0.7', 32, ROUTE_TYPE['local-workload'], 0, '0.0.0.0', 12),
      e('10.65.0.0', 26, ROUTE_TYPE.blackhole),
      e('9.9.9.9', 32, 99),
    ]);
    expect(rows.map((r) => [r.dst, r.type])).toEqual([
      ['9.9.9.9/32', 'unknown(99)'],
      ['10.65.0.0/26', 'blackhole'],
      ['10.65.0.7/32', 'local-workload'],
      ['10.65.1.0/26', 'remote'],
    ]);
    expect(rows[2]?.ifindex).toBe(12);
    expect(rows[3]).toMatchObject({ nextHop: '192.168.1.2', ipip: true });
  });
});

describe('conntrackRows', () => {
  const S = 1_000_000_000n;
  it('orients each flow from its initiator and gives ages by the given clock', () => {
    const rows = conntrackRows(
      [
        {
          key: ctKey.encode({ addr_a: '10.0.0.1', addr_b: '10.0.0.2', port_a: 80, port_b: 40000, proto: 6 }),
          value: ctValue.encode({ created: 10n * S, last_seen: 15n * S, packets: 5n, state: CT_STATE.ESTABLISHED, flags: 0 }),
        },
        {
          key: ctKey.encode({ addr_a: '10.0.0.1', addr_b: '10.0.0.3', port_a: 7, port_b: 7, proto: 1 }),
          value: ctValue.encode({ created: 19n * S, last_seen: 19n * S, packets: 1n, state: CT_STATE.UNREPLIED, flags: CT_FLAG.initA }),
        },
      ],
      20n * S,
    );
    expect(rows).toEqual([
      { proto: 'icmp id=7', initiator: '10.0.0.1', responder: '10.0.0.3', state: 'UNREPLIED', ageSeconds: 1, idleSeconds: 1, packets: '1' },
      { proto: 'tcp', initiator: '10.0.0.2:40000', responder: '10.0.0.1:80', state: 'ESTABLISHED', ageSeconds: 10, idleSeconds: 5, packets: '5' },
    ]);
  });
});

describe('pinDirFor', () => {
  it('is per node and safe for bpffs (no dots)', () => {
    expect(pinDirFor('node1')).toBe('/sys/fs/bpf/tabby/node1');
    expect(pinDirFor('node1.example.com')).toBe('/sys/fs/bpf/tabby/node1_example_com');
  });
});
