/**
 * Argument checks done in TypeScript before any native call (better-sqlite3's lib/ style).
 * Each throws NativeError with the op of the native call it guards, errno EINVAL (or the
 * code given), and a message naming the argument and what it should be.
 */
import { endianness } from 'node:os';

import { argumentError } from './errors.js';

const LE = endianness() === 'LE';

export type Direction = 'ingress' | 'egress';

/** Map update flags, as libbpf's BPF_ANY / BPF_NOEXIST / BPF_EXIST. */
export type UpdateFlag = 'any' | 'noexist' | 'exist';
export const UPDATE_FLAGS: Readonly<Record<UpdateFlag, number>> = { any: 0, noexist: 1, exist: 2 };

export function checkString(op: string, what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw argumentError(op, `${what} must be a non-empty string, got ${describe(value)}`);
  if (value.includes('\0')) throw argumentError(op, `${what} must not contain NUL bytes`);
  return value;
}

export function checkPath(op: string, what: string, value: unknown): string {
  return checkString(op, what, value);
}

/** A namespace path must be absolute: /run/netns/NAME or /proc/PID/ns/net. */
export function checkNetns(op: string, netns: unknown): string | undefined {
  if (netns === undefined) return undefined;
  const p = checkString(op, 'netns', netns);
  if (!p.startsWith('/')) throw argumentError(op, `netns must be an absolute path such as /run/netns/NAME or /proc/PID/ns/net, got '${p}'`);
  return p;
}

/** Linux interface names: 1 to 15 bytes, no '/', no whitespace, not "." or "..". */
export function checkIfName(op: string, name: unknown): string {
  const n = checkString(op, 'interface name', name);
  if (Buffer.byteLength(n) > 15 || /[/\s]/.test(n) || n === '.' || n === '..') {
    throw argumentError(op, `'${n}' is not a valid interface name (at most 15 bytes, no '/' or whitespace)`);
  }
  return n;
}

export function checkInt(op: string, what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw argumentError(op, `${what} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

export function checkDirection(op: string, value: unknown): Direction {
  if (value !== 'ingress' && value !== 'egress') throw argumentError(op, `direction must be 'ingress' or 'egress', got ${describe(value)}`);
  return value;
}

export function checkUpdateFlag(op: string, value: unknown): number {
  if (value === undefined) return UPDATE_FLAGS.any;
  if (typeof value !== 'string' || !(value in UPDATE_FLAGS)) {
    throw argumentError(op, `flag must be 'any', 'noexist' or 'exist', got ${describe(value)}`);
  }
  return UPDATE_FLAGS[value as UpdateFlag];
}

/** A Buffer (or Uint8Array) of exactly `size` bytes, as a Buffer. */
export function checkSizedBuffer(op: string, what: string, value: unknown, size: number): Buffer {
  if (!(value instanceof Uint8Array)) throw argumentError(op, `${what} must be a Buffer of ${size} bytes, got ${describe(value)}`);
  if (value.length !== size) throw argumentError(op, `${what} must be ${size} bytes, got ${value.length}`);
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function checkBuffer(op: string, what: string, value: unknown, opts: { min?: number; max?: number } = {}): Buffer {
  if (!(value instanceof Uint8Array)) throw argumentError(op, `${what} must be a Buffer, got ${describe(value)}`);
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (value.length < min) throw argumentError(op, `${what} must be at least ${min} bytes, got ${value.length}${value.length === 0 ? ' (empty)' : ''}`);
  if (value.length > max) throw argumentError(op, `${what} must be at most ${max} bytes, got ${value.length}`, 'E2BIG');
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** A `const volatile` global's value in the bytes the object has for it (host byte order). */
export type GlobalValue = number | bigint | boolean | Uint8Array;

export function encodeGlobal(op: string, name: string, value: unknown, size: number): Buffer {
  if (value instanceof Uint8Array) return checkSizedBuffer(op, `global '${name}'`, value, size);
  let n: bigint;
  if (typeof value === 'boolean') n = value ? 1n : 0n;
  else if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else throw argumentError(op, `global '${name}' must be an integer, bigint, boolean or Buffer, got ${describe(value)}`);
  if (![1, 2, 4, 8].includes(size)) {
    throw argumentError(op, `global '${name}' is ${size} bytes: pass a Buffer of that size instead of a number`);
  }
  const bits = BigInt(size * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n;
  if (n < min || n > max) throw argumentError(op, `global '${name}' is ${size} bytes; ${n} does not fit`, 'ERANGE');
  const unsigned = n < 0n ? n + (1n << bits) : n;
  const buf = Buffer.alloc(size);
  // BPF objects built for this machine use its byte order.
  if (size === 8) {
    if (LE) buf.writeBigUInt64LE(unsigned);
    else buf.writeBigUInt64BE(unsigned);
  } else if (LE) buf.writeUIntLE(Number(unsigned), 0, size);
  else buf.writeUIntBE(Number(unsigned), 0, size);
  return buf;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
