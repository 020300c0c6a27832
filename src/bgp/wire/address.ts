/**
 * IPv4 / IPv6 text <-> bytes. IPv6 text is RFC 5952 canonical (lowercase, longest zero run
 * compressed), so decoded prefixes compare equal as strings.
 */

export function parseIpv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

export function formatIpv4(buf: Buffer, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function parseIpv6(text: string): Buffer | null {
  let head = text;
  let tail4: Buffer | null = null;
  // An embedded dotted quad (::ffff:1.2.3.4) fills the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (!tail4) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string): string[] | null => (s === '' ? [] : s.split(':'));
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!left || !right) return null;
  const total = left.length + right.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return null;
  const groups = [...left, ...Array<string>(8 - total).fill('0'), ...right];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  }
  if (tail4) tail4.copy(out, 12);
  return out;
}

export function formatIpv6(buf: Buffer, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  // Longest run of two or more zero groups (first one wins a tie) becomes '::'.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
