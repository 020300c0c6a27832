import { describe, expect, it } from 'vitest';
import { Keys } from '../datastore/keys.js';
import { DEFAULT_IPAM_CONFIG } from '../ipam/model.js';
import { WatchedIpamSettings } from './watched-ipam-settings.js';

const keys = new Keys();
const poolKey = (name: string) => `${keys.resourcePrefix('ippools')}${name}`;
const poolDoc = (cidr: string) => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'x' }, spec: { cidr, blockSize: 26, nodeSelector: 'all()' } });

describe('WatchedIpamSettings', () => {
  it('answers nothing until the syncer is in sync, then the pools and config it delivered', () => {
    const w = new WatchedIpamSettings(keys);
    w.onUpdates([{ key: poolKey('a'), value: poolDoc('10.65.0.0/16'), revision: '5' }]);
    expect(w.pools()).toBeUndefined();
    expect(w.config()).toBeUndefined();
    w.onStatus('in-sync');
    expect(w.pools()!.map((p) => p.cidr)).toEqual(['10.65.0.0/16']);
    expect(w.config()).toEqual(DEFAULT_IPAM_CONFIG); // no config document: the defaults

    w.onUpdates([
      { key: keys.ipamConfig(), value: { strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 4 }, revision: '6' },
      { key: poolKey('b'), value: poolDoc('10.66.0.0/16'), revision: '7' },
      { key: poolKey('a'), value: null, revision: '8' },
      { key: `${keys.resourcePrefix('nodes')}n1`, value: { kind: 'Node' }, revision: '9' },
    ]);
    expect(w.pools()!.map((p) => p.cidr)).toEqual(['10.66.0.0/16']);
    expect(w.config()).toMatchObject({ strictAffinity: true, maxBlocksPerHost: 4 });
    w.onUpdates([{ key: keys.ipamConfig(), value: null, revision: '10' }]);
    expect(w.config()).toEqual(DEFAULT_IPAM_CONFIG);
  });

  it('a malformed pool fails the read with IPAM\'s own error', () => {
    const w = new WatchedIpamSettings(keys);
    w.onStatus('in-sync');
    w.onUpdates([{ key: poolKey('bad'), value: { spec: {} }, revision: '3' }]);
    expect(() => w.pools()).toThrow(/spec\.cidr/);
  });
});
