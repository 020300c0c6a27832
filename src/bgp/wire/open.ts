import { formatIpv4, parseIpv4 } from './address.js';
import { encodeCapability, decodeCapability } from './capabilities.js';
import { BgpEncodeError, BgpWireError, ErrorCode, OpenSubcode, u16Data } from './errors.js';
import { AS_TRANS, type Capability, type OpenMessage } from './types.js';

const OPT_PARAM_CAPABILITIES = 2;

function openError(subcode: number, message: string, data?: Buffer): BgpWireError {
  return new BgpWireError(ErrorCode.OpenMessage, subcode, message, data);
}

/**
 * Decodes an OPEN body (RFC 4271 §4.2, capabilities RFC 5492) and checks what the message
 * alone can tell: version, hold time, BGP identifier, AS 0. Checks that need the session's
 * configuration (expected peer AS, identifier collision, required capabilities) are in
 * checkOpenForSession().
 */
export function decodeOpen(body: Buffer): OpenMessage | BgpWireError {
  // The header check guarantees at least 10 bytes.
  const version = body[0]!;
  const myAs = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  const bgpId = formatIpv4(body, 5);
  const optLen = body[9]!;
  if (10 + optLen !== body.length) {
    return openError(OpenSubcode.Unspecific, `OPEN optional parameters length ${optLen} does not match the ${body.length - 10} bytes present`);
  }
  const capabilities: Capability[] = [];
  let off = 10;
  while (off < body.length) {
    if (off + 2 > body.length) return openError(OpenSubcode.Unspecific, 'OPEN optional parameter header is truncated');
    const ptype = body[off]!;
    const plen = body[off + 1]!;
    const pend = off + 2 + plen;
    if (pend > body.length) return openError(OpenSubcode.Unspecific, `OPEN optional parameter ${ptype} overruns the message`);
    if (ptype !== OPT_PARAM_CAPABILITIES) {
      return openError(OpenSubcode.UnsupportedOptionalParameter, `OPEN optional parameter type ${ptype} is not supported (only capabilities, type 2)`);
    }
    let c = off + 2;
    while (c < pend) {
      if (c + 2 > pend) return openError(OpenSubcode.Unspecific, 'capability header is truncated');
      const code = body[c]!;
      const clen = body[c + 1]!;
      if (c + 2 + clen > pend) return openError(OpenSubcode.Unspecific, `capability ${code} overruns its optional parameter`);
      const cap = decodeCapability(code, body.subarray(c + 2, c + 2 + clen));
      if (typeof cap === 'string') return openError(OpenSubcode.Unspecific, cap);
      capabilities.push(cap);
      c += 2 + clen;
    }
    off = pend;
  }
  if (version !== 4) {
    return openError(OpenSubcode.UnsupportedVersion, `peer speaks BGP version ${version}; only version 4 is supported`, u16Data(4));
  }
  if (holdTime === 1 || holdTime === 2) {
    return openError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime}s is not allowed (must be 0 or at least 3)`);
  }
  if (bgpId === '0.0.0.0') return openError(OpenSubcode.BadBgpIdentifier, 'BGP identifier 0.0.0.0 is not valid');
  const asn = peerAsOf({ myAs, capabilities });
  if (asn === 0) return openError(OpenSubcode.BadPeerAs, 'peer AS 0 is reserved (RFC 7607)');
  return { type: 'open', version, myAs, holdTime, bgpId, capabilities };
}

/** The peer's real AS: from the 4-octet AS capability when present, else the My AS field. */
export function peerAsOf(open: Pick<OpenMessage, 'myAs' | 'capabilities'>): number {
  const cap = open.capabilities.find((c) => c.kind === 'four-octet-as');
  return cap ? cap.asn : open.myAs;
}

export function encodeOpen(m: OpenMessage): Buffer {
  if (!Number.isInteger(m.version) || m.version < 0 || m.version > 255) throw new BgpEncodeError(`OPEN version ${m.version} must be 0..255`);
  if (!Number.isInteger(m.myAs) || m.myAs < 0 || m.myAs > 0xffff) {
    throw new BgpEncodeError(`OPEN My AS ${m.myAs} does not fit 2 octets; send AS_TRANS (${AS_TRANS}) with a four-octet-as capability (see buildOpen)`);
  }
  if (!Number.isInteger(m.holdTime) || m.holdTime < 0 || m.holdTime > 0xffff) throw new BgpEncodeError(`OPEN hold time ${m.holdTime} must be 0..65535`);
  const id = parseIpv4(m.bgpId);
  if (!id) throw new BgpEncodeError(`OPEN BGP identifier '${m.bgpId}' is not a dotted-quad IPv4 address`);
  // Capabilities go into as few type-2 parameters as fit in 255 bytes each.
  const params: Buffer[] = [];
  let current: Buffer[] = [];
  let currentLen = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    params.push(Buffer.concat([Buffer.from([OPT_PARAM_CAPABILITIES, currentLen]), ...current]));
    current = [];
    currentLen = 0;
  };
  for (const cap of m.capabilities) {
    const tlv = encodeCapability(cap);
    if (tlv.length > 255) throw new BgpEncodeError(`capability TLV of ${tlv.length} bytes cannot fit an optional parameter`);
    if (currentLen + tlv.length > 255) flush();
    current.push(tlv);
    currentLen += tlv.length;
  }
  flush();
  const opt = Buffer.concat(params);
  if (opt.length > 255) throw new BgpEncodeError(`OPEN optional parameters are ${opt.length} bytes, over 255; advertise fewer capabilities`);
  const fixed = Buffer.alloc(10);
  fixed[0] = m.version;
  fixed.writeUInt16BE(m.myAs, 1);
  fixed.writeUInt16BE(m.holdTime, 3);
  id.copy(fixed, 5);
  fixed[9] = opt.length;
  return Buffer.concat([fixed, opt]);
}

/**
 * Builds an OPEN for a local AS of any size: My AS is the AS itself, or AS_TRANS when it
 * needs 4 octets (RFC 6793 §4.1), and the four-octet-as capability is always included.
 */
export function buildOpen(o: { asn: number; holdTime: number; bgpId: string; capabilities?: Capability[] }): OpenMessage {
  const others = (o.capabilities ?? []).filter((c) => c.kind !== 'four-octet-as');
  return {
    type: 'open',
    version: 4,
    myAs: o.asn > 0xffff ? AS_TRANS : o.asn,
    holdTime: o.holdTime,
    bgpId: o.bgpId,
    capabilities: [...others, { kind: 'four-octet-as', asn: o.asn }],
  };
}

export interface SessionExpectations {
  /** The AS configured for this peer; a different one is Bad Peer AS. */
  peerAs?: number;
  /** Our own BGP identifier; the same one from an internal peer is Bad BGP Identifier. */
  localBgpId?: string;
  localAs?: number;
  /** Capabilities we cannot run without; missing ones are Unsupported Capability. */
  requiredCapabilities?: Capability[];
}

/** The OPEN checks that need the session's configuration (RFC 4271 §6.2, RFC 5492 §3). */
export function checkOpenForSession(open: OpenMessage, expect: SessionExpectations): BgpWireError | null {
  const asn = peerAsOf(open);
  if (expect.peerAs !== undefined && asn !== expect.peerAs) {
    return openError(OpenSubcode.BadPeerAs, `peer says it is AS ${asn}, configured as AS ${expect.peerAs}`);
  }
  const internal = expect.localAs !== undefined && expect.localAs === asn;
  if (internal && expect.localBgpId !== undefined && open.bgpId === expect.localBgpId) {
    return openError(OpenSubcode.BadBgpIdentifier, `internal peer uses our own BGP identifier ${open.bgpId}`);
  }
  const offered = new Set(open.capabilities.map(capabilityKey));
  const missing = (expect.requiredCapabilities ?? []).filter((c) => !offered.has(capabilityKey(c)));
  if (missing.length > 0) {
    return openError(OpenSubcode.UnsupportedCapability, `peer does not offer ${missing.length} required capabilities`,
      Buffer.concat(missing.map(encodeCapability)));
  }
  return null;
}

/** What "the peer supports this capability" means: same kind, and same family for multiprotocol. */
function capabilityKey(c: Capability): string {
  if (c.kind === 'multiprotocol') return `mp:${c.afi}:${c.safi}`;
  if (c.kind === 'unknown') return `code:${c.code}`;
  return c.kind;
}
