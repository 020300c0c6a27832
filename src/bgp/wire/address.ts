/**
 * IPv4 / IPv6 text <-> wire bytes. Parsing and the canonical text (RFC 5952 for IPv6, so
 * decoded prefixes compare equal as strings) are src/net/ip-address.ts's; this module only
 * moves the value in and out of Buffers.
 */
import { formatIP, parseIP, type IPVersion } from '../../net/ip-address.js';

function toBuffer(text: string, version: IPVersion): Buffer | null {
  const ip = parseIP(text);
  if (!ip || ip.version !== version) return null;
  const out = Buffer.alloc(version === 4 ? 4 : 16);
  let v = ip.value;
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function parseIpv4(text: string): Buffer | null {
  return toBuffer(text, 4);
}

export function formatIpv4(buf: Buffer, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function parseIpv6(text: string): Buffer | null {
  return toBuffer(text, 6);
}

export function formatIpv6(buf: Buffer, offset = 0): string {
  let value = 0n;
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(buf[offset + i]!);
  return formatIP({ version: 6, value });
}
