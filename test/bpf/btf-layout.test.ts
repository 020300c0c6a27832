// The TypeScript codecs against the C structs, read from the object's BTF: a struct that
// changes on one side only fails here (cilium's alignchecker, done by a test).
import { afterAll, describe, expect, it } from 'vitest';

import { counterKey, counterValue } from '../../src/dataplane/bpf/codecs/counters.js';
import { compareLayout } from '../../src/dataplane/bpf/codecs/layout.js';
import { skBuff } from '../../src/dataplane/bpf/codecs/skb.js';
import { defineStruct, type StructCodec } from '../../src/dataplane/bpf/codecs/struct.js';
import { BpfObject, readBtfStruct } from '../../src/native/index.js';
import { isRoot, needsRoot } from '../support/root.js';
import { countersObject, ensureBpffs, newPinDir, removePinDir } from './support.js';

/** Every codec of a struct the counters object shares with TypeScript. */
const CODECS: { codec: StructCodec<unknown>; partial?: boolean }[] = [
  { codec: counterKey as StructCodec<unknown> },
  { codec: counterValue as StructCodec<unknown> },
  { codec: skBuff as StructCodec<unknown>, partial: true },
];

describe.skipIf(!isRoot)(needsRoot('BTF layouts of bpf/counters.bpf.o vs the TypeScript codecs'), () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removePinDir));

  for (const { codec, partial } of CODECS) {
    it(`struct ${codec.name}: size and every field offset match BTF`, () => {
      const btf = readBtfStruct(countersObject(), codec.name);
      expect(compareLayout(codec, btf, { partial: partial ?? false })).toEqual([]);
      expect(btf.size).toBe(codec.size);
    });
  }

  it('reads the same layouts from a loaded object', () => {
    ensureBpffs();
    const dir = newPinDir();
    dirs.push(dir);
    const obj = BpfObject.open(countersObject(), { pinRoot: dir });
    try {
      for (const { codec, partial } of CODECS) {
        expect(compareLayout(codec, obj.btfStruct(codec.name), { partial: partial ?? false })).toEqual([]);
      }
      // The map's own sizes agree with the codecs too.
      const info = obj.map('counters').info;
      expect(info.keySize).toBe(counterKey.size);
      expect(info.valueSize).toBe(counterValue.size);
    } finally {
      obj.unpinMaps();
      obj.close();
    }
  });

  it('fails when a codec drifts from the C struct', () => {
    const drifted = defineStruct({
      name: 'counter_key',
      size: 8,
      fields: [
        { name: 'ifindex', type: 'u32', offset: 0 },
        { name: 'direction', type: 'u16', offset: 4 },
        { name: '_pad', type: 'pad', offset: 6, size: 2 },
      ],
    });
    const problems = compareLayout(drifted, readBtfStruct(countersObject(), 'counter_key'));
    expect(problems).toEqual([
      "struct counter_key: 'direction' is 1 bytes in BTF but 2 in the codec (u16)",
      "struct counter_key: '_pad' is at offset 5 in BTF but 6 in the codec",
      "struct counter_key: '_pad' is 3 bytes in BTF but 2 in the codec (pad)",
    ]);
  });

  it('reports a struct that is not in BTF', () => {
    expect(() => readBtfStruct(countersObject(), 'no_such_struct')).toThrow(
      expect.objectContaining({ op: 'btf__find_by_name_kind', code: 'ENOENT' }),
    );
  });
});
