/**
 * Compares a struct codec with the C struct's layout read from BTF (cilium's alignchecker,
 * done by a test instead of by "keep in sync" comments). Takes the BTF layout as plain data
 * so this module does not depend on the native addon.
 */
import type { StructCodec } from './struct.js';

export interface BtfLayout {
  name: string;
  size: number;
  members: readonly { name: string; offset: number; size: number; bitSize?: number }[];
}

export interface LayoutOptions {
  /** Allow BTF members the codec does not declare (a codec of some fields of a kernel struct). */
  partial?: boolean;
}

/** Every difference between the codec and the BTF layout, one sentence each; [] when they agree. */
export function compareLayout(codec: StructCodec<unknown>, btf: BtfLayout, opts: LayoutOptions = {}): string[] {
  const out: string[] = [];
  const s = `struct ${btf.name}`;
  if (codec.size !== btf.size) out.push(`${s}: size is ${btf.size} in BTF but ${codec.size} in the codec`);
  const members = new Map(btf.members.map((m) => [m.name, m]));
  for (const f of codec.fields) {
    const m = members.get(f.name);
    if (!m) {
      out.push(`${s}: the codec has field '${f.name}' that BTF does not`);
      continue;
    }
    if (m.bitSize) out.push(`${s}: '${f.name}' is a bitfield in BTF; codecs cannot express bitfields`);
    if (m.offset !== f.offset) out.push(`${s}: '${f.name}' is at offset ${m.offset} in BTF but ${f.offset} in the codec`);
    if (m.size !== f.size) out.push(`${s}: '${f.name}' is ${m.size} bytes in BTF but ${f.size} in the codec (${f.type})`);
  }
  if (!opts.partial) {
    const declared = new Set(codec.fields.map((f) => f.name));
    for (const m of btf.members) {
      if (!declared.has(m.name)) out.push(`${s}: BTF has member '${m.name}' (offset ${m.offset}, ${m.size} bytes) that the codec does not`);
    }
  }
  return out;
}
