/**
 * Pure IPv4 block arithmetic. Addresses are unsigned 32-bit integers held in JS numbers
 * (always normalised with `>>> 0`, never negative). IPv6 will get its own bigint twin;
 * callers go through `Cidr` so the family can be added without touching them.
 */
import { IpamError } from './errors.js';

export interface Cidr {
  family: 4;
  /** Network address (host bits zero). */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) {
    throw new IpamError('INVALID_ADDRESS', `"${text}" is not an IPv4 address (expected a.b.c.d with each part 0-255)`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIPv4(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

export function isIPv4(text: string): boolean {
  try {
    parseIPv4(text);
    return true;
  } catch {
    return false;
  }
}

/** Mask of `prefix` leading one bits, as an unsigned number. */
function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `a.b.c.d/n`. Host bits must be zero (a pool or block named 10.0.0.1/24 is almost
 * certainly a typo) unless `allowHostBits`, in which case they are masked off.
 */
export function parseCidr(text: string, opts: { allowHostBits?: boolean } = {}): Cidr {
  const slash = text.indexOf('/');
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  if (slash < 0 || !/^(3[0-2]|[12]?\d)$/.test(prefixText)) {
    throw new IpamError('INVALID_CIDR', `"${text}" is not an IPv4 CIDR (expected a.b.c.d/n with n 0-32)`);
  }
  const prefix = Number(prefixText);
  let ip: number;
  try {
    ip = parseIPv4(text.slice(0, slash));
  } catch (err) {
    throw new IpamError('INVALID_CIDR', `"${text}" is not an IPv4 CIDR: ${(err as Error).message}`);
  }
  const base = (ip & maskOf(prefix)) >>> 0;
  if (base !== ip && !opts.allowHostBits) {
    throw new IpamError('INVALID_CIDR', `"${text}" has host bits set; did you mean ${formatIPv4(base)}/${prefix}?`);
  }
  return { family: 4, base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrLast(c: Cidr): number {
  return c.base + cidrSize(c) - 1;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip <= cidrLast(c);
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.base);
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.base) || cidrContains(b, a.base);
}

/** Number of blocks of size `/blockPrefix` in `pool`. */
export function blockCount(pool: Cidr, blockPrefix: number): number {
  checkBlockPrefix(pool, blockPrefix);
  return 2 ** (blockPrefix - pool.prefix);
}

/** The `index`-th block (0-based, in address order) of `pool`. */
export function blockAt(pool: Cidr, blockPrefix: number, index: number): Cidr {
  const n = blockCount(pool, blockPrefix);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new IpamError('INVALID_ARGUMENT', `block index ${index} outside ${formatCidr(pool)} (${n} blocks of /${blockPrefix})`);
  }
  return { family: 4, base: pool.base + index * 2 ** (32 - blockPrefix), prefix: blockPrefix };
}

/** Every block of `pool` in address order (lazily: a /8 of /26 blocks is 262,144 of them). */
export function* blocksOfPool(pool: Cidr, blockPrefix: number): Generator<Cidr> {
  const n = blockCount(pool, blockPrefix);
  for (let i = 0; i < n; i++) yield blockAt(pool, blockPrefix, i);
}

/** The block of size `/blockPrefix` that holds `ip`. */
export function blockContaining(ip: number, blockPrefix: number): Cidr {
  return { family: 4, base: (ip & maskOf(blockPrefix)) >>> 0, prefix: blockPrefix };
}

export function ordinalToAddress(block: Cidr, ordinal: number): number {
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= cidrSize(block)) {
    throw new IpamError('INVALID_ARGUMENT', `ordinal ${ordinal} outside block ${formatCidr(block)}`);
  }
  return block.base + ordinal;
}

export function addressToOrdinal(block: Cidr, ip: number): number {
  if (!cidrContains(block, ip)) {
    throw new IpamError('INVALID_ARGUMENT', `${formatIPv4(ip)} is not in block ${formatCidr(block)}`);
  }
  return ip - block.base;
}

/** The block's name inside etcd keys, Calico style: `10.0.0.0/26` -> `10.0.0.0-26`. */
export function cidrToKeyName(c: Cidr): string {
  return `${formatIPv4(c.base)}-${c.prefix}`;
}

export function cidrFromKeyName(name: string): Cidr {
  const dash = name.lastIndexOf('-');
  if (dash < 0) throw new IpamError('INVALID_CIDR', `"${name}" is not a block key name (expected a.b.c.d-n)`);
  return parseCidr(`${name.slice(0, dash)}/${name.slice(dash + 1)}`);
}

function checkBlockPrefix(pool: Cidr, blockPrefix: number): void {
  if (!Number.isInteger(blockPrefix) || blockPrefix < pool.prefix || blockPrefix > 32) {
    throw new IpamError('INVALID_ARGUMENT', `block size /${blockPrefix} does not fit pool ${formatCidr(pool)} (must be /${pool.prefix}-/32)`);
  }
}
