import { describe, expect, it } from 'vitest';
import { Keys } from '../../datastore/keys.js';
import type { SyncerUpdate } from '../../datastore/syncer.js';
import type { SpeakerConfig } from './config.js';
import { BgpSyncerFeed } from './syncer-feed.js';
import { errorText } from './peer-status.js';

const keys = new Keys('/calico');
const nodeUpdate = (name: string, ip: string): SyncerUpdate => ({
  key: keys.resource({ plural: 'nodes', name }),
  value: { kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: ip } } },
  revision: '1',
});

describe('BgpSyncerFeed', () => {
  it('pushes a configuration only after in-sync, and only when a BGP input changed it', () => {
    const pushed: SpeakerConfig[] = [];
    const feed = new BgpSyncerFeed({ update: async (c) => void pushed.push(c) }, 'n1', keys);
    feed.onUpdates([nodeUpdate('n1', '10.0.0.1/24'), nodeUpdate('n2', '10.0.0.2/24')]);
    feed.onStatus('resync');
    expect(pushed).toHaveLength(0);
    feed.onStatus('in-sync');
    expect(pushed.map((c) => c.peers.map((p) => p.id))).toEqual([['10.0.0.2']]);
    // Not a BGP input: nothing pushed.
    feed.onUpdates([{ key: keys.resource({ plural: 'workloadendpoints', namespace: 'default', name: 'w' }), value: {}, revision: '2' }]);
    // A BGP input that changes nothing in the result: nothing pushed either.
    feed.onUpdates([nodeUpdate('n2', '10.0.0.2/24')]);
    expect(pushed).toHaveLength(1);
    feed.onUpdates([{ key: keys.resource({ plural: 'bgpconfigurations', name: 'default' }), value: { spec: { nodeToNodeMeshEnabled: false } }, revision: '3' }]);
    expect(pushed).toHaveLength(2);
    expect(pushed[1]?.peers).toEqual([]);
    expect(feed.config).toBe(pushed[1]);
    feed.onUpdates([{ key: keys.resource({ plural: 'nodes', name: 'n1' }), value: null, revision: '4' }]);
    expect(pushed[2]).toMatchObject({ enabled: false, disabledReason: 'no Node resource named "n1"' });
  });
});

describe('errorText', () => {
  it('names notifications, socket errors and hold timer expiry the way node status shows them', () => {
    expect(errorText({ code: 'notification-received', notification: { direction: 'received', code: 6, subcode: 2 } })).toBe('Received: Cease / Administrative Shutdown');
    expect(errorText({ code: 'open-error', detail: 'bad peer AS', notification: { direction: 'sent', code: 2, subcode: 2 } })).toMatch(/^Sent: OPEN Message Error \/ Bad Peer AS$/);
    expect(errorText({ code: 'tcp-failed', detail: 'connect EHOSTUNREACH 10.0.0.9:179' })).toBe('Connect: no route to host');
    expect(errorText({ code: 'tcp-failed', detail: 'connection closed' })).toBe('Socket: connection closed');
    expect(errorText({ code: 'hold-timer-expired' })).toBe('Hold timer expired');
    expect(errorText({ code: 'keepalive-received' })).toBeUndefined();
  });
});
