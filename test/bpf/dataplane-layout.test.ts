// Every struct the dataplane object shares with TypeScript, compared with the object's BTF
// (sizes and every field offset), plus the maps' own key/value sizes.
import { afterAll, describe, expect, it } from 'vitest';

import { ctKey, ctValue } from '../../src/dataplane/bpf/codecs/conntrack.js';
import { endpointKey, endpointValue } from '../../src/dataplane/bpf/codecs/endpoints.js';
import { compareLayout } from '../../src/dataplane/bpf/codecs/layout.js';
import { routeKey, routeValue } from '../../src/dataplane/bpf/codecs/routes.js';
import type { StructCodec } from '../../src/dataplane/bpf/codecs/struct.js';
import { verdictCount, verdictSlot } from '../../src/dataplane/bpf/codecs/verdicts.js';
import { nativeBpfKernel } from '../../src/dataplane/bpf/native-kernel.js';
import { BpfObject, readBtfStruct } from '../../src/native/index.js';
import { isRoot, needsRoot } from '../support/root.js';
import { dataplaneObject, loadDataplane } from './dataplane-support.js';
import { countersObject } from './support.js';
import { ensureBpffs, newPinDir, removePinDir } from './support.js';

const STRUCTS = [routeKey, routeValue, endpointValue, ctKey, ctValue, verdictCount] as StructCodec<unknown>[];

/** Map name -> the codecs of its key and value (bare __u32 keys have no BTF struct). */
const MAPS: Record<string, { key: StructCodec<unknown>; value: StructCodec<unknown> }> = {
  routes: { key: routeKey as StructCodec<unknown>, value: routeValue as StructCodec<unknown> },
  endpoints: { key: endpointKey as StructCodec<unknown>, value: endpointValue as StructCodec<unknown> },
  ct: { key: ctKey as StructCodec<unknown>, value: ctValue as StructCodec<unknown> },
  verdicts: { key: verdictSlot as StructCodec<unknown>, value: verdictCount as StructCodec<unknown> },
};

describe.skipIf(!isRoot)(needsRoot('BTF layouts of bpf/tabby_dataplane.bpf.o vs the TypeScript codecs'), () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removePinDir));

  for (const codec of STRUCTS) {
    it(`struct ${codec.name}: size and every field offset match BTF`, () => {
      expect(compareLayout(codec, readBtfStruct(dataplaneObject(), codec.name))).toEqual([]);
    });
  }

  it('every map has the key and value sizes of its codecs', () => {
    ensureBpffs();
    const dir = newPinDir();
    dirs.push(dir);
    const obj = loadDataplane(dir, '192.0.2.1', 0);
    try {
      for (const [name, { key, value }] of Object.entries(MAPS)) {
        const info = obj.map(name).info;
        expect({ name, key: info.keySize, value: info.valueSize }).toEqual({ name, key: key.size, value: value.size });
      }
    } finally {
      obj.close();
    }
  });

  it('a map pinned with another layout (an older tabby) is replaced on load, the others adopted', () => {
    ensureBpffs();
    const dir = newPinDir();
    const scratch = newPinDir();
    dirs.push(dir, scratch);
    const first = loadDataplane(dir, '192.0.2.1', 0);
    const ctId = first.map('ct').info.id;
    first.close();
    // Put an incompatible map where `routes` is pinned.
    removePinDir(`${dir}/routes`);
    const other = BpfObject.open(countersObject(), { pinRoot: scratch });
    other.map('counters').pin(`${dir}/routes`);
    other.close();
    const loaded = nativeBpfKernel().load(dir, { nodeIPv4: '192.0.2.1', uplinkIfindex: 0 });
    try {
      expect(loaded.replacedMaps).toEqual(['routes']);
      expect(loaded.map('routes').info.maxEntries).toBe(262144);
      expect((loaded.map('ct') as unknown as { info: { id: number } }).info.id).toBe(ctId);
    } finally {
      loaded.close();
    }
  });
});
