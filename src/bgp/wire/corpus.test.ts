import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BgpWireError, decodeMessage, MessageReader, type CodecContext } from './index.js';

interface Case {
  expect: { code: number; subcode: number } | { outcome: 'treat-as-withdraw' | 'attribute-discard' };
  ctx: CodecContext;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'bad');
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, Case>;

describe('saved corpus of bad messages', () => {
  it('has an index entry for every file and at least 25 cases', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.hex')).sort();
    expect(Object.keys(index).sort()).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  for (const [file, c] of Object.entries(index)) {
    it(`${file} -> ${'outcome' in c.expect ? c.expect.outcome : `NOTIFICATION ${c.expect.code}/${c.expect.subcode}`}`, () => {
      const bytes = Buffer.from(readFileSync(join(dir, file), 'utf8').trim(), 'hex');
      // Through the reader first, as a session would see it: header errors surface there.
      const reader = new MessageReader({ extendedMessages: c.ctx.extendedMessages ?? false });
      const framed = reader.push(bytes);
      const r = framed.error ?? decodeMessage(framed.frames[0] ?? bytes, c.ctx);
      if ('outcome' in c.expect) {
        expect(r).not.toBeInstanceOf(BgpWireError);
        if (r instanceof BgpWireError) return;
        expect(r.outcome).toBe(c.expect.outcome);
        if (c.expect.outcome === 'treat-as-withdraw' && r.message.type === 'update') {
          expect(r.message.nlri).toEqual([]);
          expect(r.message.attributes.mpReach).toBeUndefined();
        }
      } else {
        expect(r).toBeInstanceOf(BgpWireError);
        if (!(r instanceof BgpWireError)) return;
        expect([r.bgpCode, r.bgpSubcode]).toEqual([c.expect.code, c.expect.subcode]);
      }
      // Decoding the whole input directly agrees with the reader path.
      const direct = decodeMessage(bytes, c.ctx);
      if (r instanceof BgpWireError) {
        expect(direct).toBeInstanceOf(BgpWireError);
        if (direct instanceof BgpWireError) expect([direct.bgpCode, direct.bgpSubcode]).toEqual([r.bgpCode, r.bgpSubcode]);
      }
    });
  }
});
