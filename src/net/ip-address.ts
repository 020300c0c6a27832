/**
 * Just enough IP arithmetic for validation and the BGP codec: parse IPv4/IPv6 text to a
 * bigint, format it back in canonical form (dotted quad; RFC 5952 for IPv6), and reason
 * about prefixes (masked? overlapping? contained?). Kept free of Node's `net` so the rules
 * are visible here.
 */

export type IPVersion = 4 | 6;

export interface IPAddress {
  version: IPVersion;
  value: bigint;
}

export interface CIDR {
  version: IPVersion;
  /** The address as written (host bits possibly set). */
  address: bigint;
  prefix: number;
}

const BITS: Record<IPVersion, number> = { 4: 32, 6: 128 };

export function bitsOf(version: IPVersion): number {
  return BITS[version];
}

export function parseIP(text: string): IPAddress | undefined {
  if (text.includes(':')) {
    const v = parseIPv6(text);
    return v === undefined ? undefined : { version: 6, value: v };
  }
  const v = parseIPv4(text);
  return v === undefined ? undefined : { version: 4, value: v };
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    // No leading zeros: "010" is ambiguous (octal in some parsers), so refuse it like Go does.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out = (out << 8n) | BigInt(n);
  }
  return out;
}

function parseIPv6(text: string): bigint | undefined {
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two groups: rewrite it as hex.
  const lastColon = s.lastIndexOf(':');
  const tailText = s.slice(lastColon + 1);
  if (tailText.includes('.')) {
    const v4 = parseIPv4(tailText);
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = parseGroups(halves[0] as string);
  const rest = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  const groups: bigint[] = [];
  const toGroups = (list: string[]): bigint[] | undefined => {
    const out: bigint[] = [];
    for (const g of list) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const h = toGroups(head);
  const r = toGroups(rest);
  if (!h || !r) return undefined;
  if (halves.length === 2) {
    const missing = 8 - h.length - r.length;
    if (missing < 1) return undefined;
    groups.push(...h, ...new Array<bigint>(missing).fill(0n), ...r);
  } else {
    if (h.length !== 8) return undefined;
    groups.push(...h);
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

export function formatIP(ip: IPAddress): string {
  if (ip.version === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (of at least two) of zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses `a.b.c.d/n` or `x::y/n`. A bare address is not a CIDR here. */
export function parseCIDR(text: string): CIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > BITS[ip.version]) return undefined;
  return { version: ip.version, address: ip.value, prefix };
}

/** An address alone counts as a full-length prefix (/32 or /128), as Calico's ParseCIDROrIP. */
export function parseCIDROrIP(text: string): CIDR | undefined {
  if (text.includes('/')) return parseCIDR(text);
  const ip = parseIP(text);
  return ip ? { version: ip.version, address: ip.value, prefix: BITS[ip.version] } : undefined;
}

function hostMask(c: { version: IPVersion; prefix: number }): bigint {
  return (1n << BigInt(BITS[c.version] - c.prefix)) - 1n;
}

/** The network address: host bits cleared. */
export function networkOf(c: CIDR): bigint {
  return c.address & ~hostMask(c);
}

export function isMasked(c: CIDR): boolean {
  return (c.address & hostMask(c)) === 0n;
}

export function formatCIDR(c: CIDR, opts: { masked?: boolean } = {}): string {
  const value = opts.masked ? networkOf(c) : c.address;
  return `${formatIP({ version: c.version, value })}/${c.prefix}`;
}

export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  if (a.version !== b.version) return false;
  const prefix = Math.min(a.prefix, b.prefix);
  const shift = BigInt(BITS[a.version] - prefix);
  return a.address >> shift === b.address >> shift;
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContains(outer: CIDR, inner: CIDR): boolean {
  return outer.version === inner.version && inner.prefix >= outer.prefix && cidrsOverlap(outer, inner);
}
