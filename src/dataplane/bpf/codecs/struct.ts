/**
 * Struct codecs: the TypeScript mirror of a C struct shared with a BPF program. A codec
 * declares each field's name, type and byte offset, and the struct's size; it encodes plain
 * objects into Buffers the kernel takes and decodes the Buffers it gives back. Layouts are
 * checked against the object's BTF by a test (layout.ts), never by a comment.
 *
 * Field types:
 *   u8 u16 u32   number, host byte order (what the BPF program reads natively)
 *   u64          bigint, host byte order
 *   be16 be32    number, network byte order (ports, raw addresses)
 *   ipv4         dotted-quad string, stored as 4 bytes in network order
 *   mac          `aa:bb:cc:dd:ee:ff` string (lower case when decoded), 6 bytes as written
 *   pad          `size` bytes, always written as zeros and not decoded
 */
import { endianness } from 'node:os';

import { TabbyError } from '../../../errors.js';

const LE = endianness() === 'LE';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'be16' | 'be32' | 'ipv4' | 'mac' | 'pad';

export interface FieldSpec<N extends string = string, T extends FieldType = FieldType> {
  readonly name: N;
  readonly type: T;
  readonly offset: number;
  /** Only for 'pad': how many bytes. */
  readonly size?: number;
}

type JsType<T extends FieldType> = T extends 'u64' ? bigint : T extends 'ipv4' | 'mac' ? string : number;

/** The object type a list of fields encodes: every non-pad field by name. */
export type StructValue<F extends readonly FieldSpec[]> = {
  [K in F[number] as K['type'] extends 'pad' ? never : K['name']]: JsType<K['type']>;
};

export const FIELD_SIZES: Readonly<Record<Exclude<FieldType, 'pad'>, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  be16: 2,
  be32: 4,
  ipv4: 4,
  mac: 6,
};

/** A value that does not fit its field, a short buffer, or a codec that contradicts itself. */
export class CodecError extends TabbyError {
  constructor(message: string) {
    super('CODEC', message);
  }
}

export interface ResolvedField {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly size: number;
}

export interface StructCodec<T> {
  /** The C struct's name (for BTF lookups and messages). */
  readonly name: string;
  readonly size: number;
  readonly fields: readonly ResolvedField[];
  /** A new Buffer of `size` bytes, or writes into `into` at `offset`. */
  encode(value: T, into?: Buffer, offset?: number): Buffer;
  decode(buf: Uint8Array, offset?: number): T;
}

export function fieldSize(f: FieldSpec): number {
  if (f.type === 'pad') {
    if (f.size === undefined || !Number.isInteger(f.size) || f.size <= 0) throw new CodecError(`pad field '${f.name}' needs a positive size`);
    return f.size;
  }
  return FIELD_SIZES[f.type];
}

/** Declares a struct codec; throws CodecError when fields overlap or fall outside `size`. */
export function defineStruct<const F extends readonly FieldSpec[]>(spec: {
  name: string;
  size: number;
  fields: F;
}): StructCodec<StructValue<F>> {
  const { name, size } = spec;
  if (!Number.isInteger(size) || size <= 0) throw new CodecError(`struct ${name}: size must be a positive integer`);
  const fields: ResolvedField[] = spec.fields.map((f) => ({ name: f.name, type: f.type, offset: f.offset, size: fieldSize(f) }));
  const sorted = [...fields].sort((a, b) => a.offset - b.offset);
  const names = new Set<string>();
  let end = 0;
  for (const f of sorted) {
    if (names.has(f.name)) throw new CodecError(`struct ${name}: field '${f.name}' is declared twice`);
    names.add(f.name);
    if (!Number.isInteger(f.offset) || f.offset < 0) throw new CodecError(`struct ${name}: field '${f.name}' has a bad offset ${f.offset}`);
    if (f.offset < end) throw new CodecError(`struct ${name}: field '${f.name}' at ${f.offset} overlaps the field before it (which ends at ${end})`);
    end = f.offset + f.size;
    if (end > size) throw new CodecError(`struct ${name}: field '${f.name}' ends at ${end}, past the struct's ${size} bytes`);
  }

  const encode = (value: StructValue<F>, into?: Buffer, offset = 0): Buffer => {
    const buf = into ?? Buffer.alloc(size);
    if (into !== undefined && (offset < 0 || offset + size > into.length)) {
      throw new CodecError(`struct ${name}: no room for ${size} bytes at offset ${offset} of a ${into.length}-byte buffer`);
    }
    if (typeof value !== 'object' || value === null) throw new CodecError(`struct ${name}: value must be an object`);
    const record = value as Record<string, unknown>;
    for (const f of fields) writeField(name, f, buf, offset + f.offset, record[f.name]);
    return buf;
  };

  const decode = (data: Uint8Array, offset = 0): StructValue<F> => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (offset < 0 || buf.length - offset < size) {
      throw new CodecError(`struct ${name}: need ${size} bytes at offset ${offset}, the buffer has ${Math.max(0, buf.length - offset)}`);
    }
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.type !== 'pad') out[f.name] = readField(f, buf, offset + f.offset);
    }
    return out as StructValue<F>;
  };

  return { name, size, fields, encode, decode };
}

function writeField(struct: string, f: ResolvedField, buf: Buffer, at: number, v: unknown): void {
  const where = `struct ${struct}: field '${f.name}' (${f.type})`;
  switch (f.type) {
    case 'pad':
      buf.fill(0, at, at + f.size);
      return;
    case 'u64': {
      if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new CodecError(`${where} needs a bigint from 0 to 2^64-1, got ${show(v)}`);
      if (LE) buf.writeBigUInt64LE(v, at);
      else buf.writeBigUInt64BE(v, at);
      return;
    }
    case 'ipv4': {
      if (typeof v !== 'string') throw new CodecError(`${where} needs a dotted-quad string, got ${show(v)}`);
      const parts = v.split('.');
      if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
        throw new CodecError(`${where} needs a dotted-quad IPv4 address, got '${v}'`);
      }
      parts.forEach((p, i) => buf.writeUInt8(Number(p), at + i));
      return;
    }
    case 'mac': {
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) {
        throw new CodecError(`${where} needs a MAC address like 0a:58:0a:f4:00:05, got ${show(v)}`);
      }
      v.split(':').forEach((p, i) => buf.writeUInt8(parseInt(p, 16), at + i));
      return;
    }
    default: {
      const max = 2 ** (8 * f.size) - 1;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new CodecError(`${where} needs an integer from 0 to ${max}, got ${show(v)}`);
      if (f.type === 'u8') buf.writeUInt8(v, at);
      else if (f.type === 'be16') buf.writeUInt16BE(v, at);
      else if (f.type === 'be32') buf.writeUInt32BE(v, at);
      else if (LE) buf.writeUIntLE(v, at, f.size);
      else buf.writeUIntBE(v, at, f.size);
    }
  }
}

function readField(f: ResolvedField, buf: Buffer, at: number): number | bigint | string {
  switch (f.type) {
    case 'u8':
      return buf.readUInt8(at);
    case 'u16':
      return LE ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
    case 'u32':
      return LE ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    case 'u64':
      return LE ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at);
    case 'be16':
      return buf.readUInt16BE(at);
    case 'be32':
      return buf.readUInt32BE(at);
    case 'ipv4':
      return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    case 'mac':
      return [...buf.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    case 'pad':
      return 0;
  }
}

function show(v: unknown): string {
  return typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? `'${v}'` : String(v);
}
