import { BgpEncodeError } from './errors.js';
import { CapabilityCode, type Capability } from './types.js';

/**
 * Decodes one capability value (RFC 5492 TLV body). Returns a reason string when a
 * capability we model is malformed; the OPEN decoder maps it to OPEN Message Error /
 * Unspecific (RFC 4271 §6.2: a recognized optional parameter that is malformed).
 */
export function decodeCapability(code: number, value: Buffer): Capability | string {
  switch (code) {
    case CapabilityCode.Multiprotocol:
      if (value.length !== 4) return `multiprotocol capability must be 4 bytes, got ${value.length}`;
      return { kind: 'multiprotocol', afi: value.readUInt16BE(0), safi: value[3]! };
    case CapabilityCode.RouteRefresh:
      if (value.length !== 0) return `route refresh capability must be empty, got ${value.length} bytes`;
      return { kind: 'route-refresh' };
    case CapabilityCode.FourOctetAs:
      if (value.length !== 4) return `4-octet AS capability must be 4 bytes, got ${value.length}`;
      return { kind: 'four-octet-as', asn: value.readUInt32BE(0) };
    case CapabilityCode.GracefulRestart: {
      if (value.length < 2 || (value.length - 2) % 4 !== 0) {
        return `graceful restart capability must be 2 + 4n bytes, got ${value.length}`;
      }
      const word = value.readUInt16BE(0);
      const families = [];
      for (let off = 2; off < value.length; off += 4) {
        families.push({ afi: value.readUInt16BE(off), safi: value[off + 2]!, forwardingPreserved: (value[off + 3]! & 0x80) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: (word & 0x8000) !== 0,
        notification: (word & 0x4000) !== 0,
        restartTime: word & 0x0fff,
        families,
      };
    }
    default:
      return { kind: 'unknown', code, value: Buffer.from(value) };
  }
}

function checkRange(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new BgpEncodeError(`${what} ${v} must be an integer 0..${max}`);
}

/** Encodes one capability as its TLV (code, length, value). */
export function encodeCapability(c: Capability): Buffer {
  let code: number;
  let value: Buffer;
  switch (c.kind) {
    case 'multiprotocol':
      checkRange('multiprotocol AFI', c.afi, 0xffff);
      checkRange('multiprotocol SAFI', c.safi, 0xff);
      code = CapabilityCode.Multiprotocol;
      value = Buffer.alloc(4);
      value.writeUInt16BE(c.afi, 0);
      value[3] = c.safi;
      break;
    case 'route-refresh':
      code = CapabilityCode.RouteRefresh;
      value = Buffer.alloc(0);
      break;
    case 'four-octet-as':
      checkRange('4-octet AS capability ASN', c.asn, 0xffffffff);
      code = CapabilityCode.FourOctetAs;
      value = Buffer.alloc(4);
      value.writeUInt32BE(c.asn, 0);
      break;
    case 'graceful-restart': {
      checkRange('graceful restart time', c.restartTime, 0x0fff);
      code = CapabilityCode.GracefulRestart;
      value = Buffer.alloc(2 + 4 * c.families.length);
      value.writeUInt16BE((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.restartTime, 0);
      c.families.forEach((f, i) => {
        checkRange('graceful restart AFI', f.afi, 0xffff);
        checkRange('graceful restart SAFI', f.safi, 0xff);
        value.writeUInt16BE(f.afi, 2 + 4 * i);
        value[4 + 4 * i] = f.safi;
        value[5 + 4 * i] = f.forwardingPreserved ? 0x80 : 0;
      });
      break;
    }
    case 'unknown':
      checkRange('capability code', c.code, 0xff);
      code = c.code;
      value = c.value;
      break;
  }
  if (value.length > 255) throw new BgpEncodeError(`capability ${code} value is ${value.length} bytes, over 255`);
  return Buffer.concat([Buffer.from([code, value.length]), value]);
}
