import { TabbyError } from '../../errors.js';

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 6608, RFC 7313). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefresh: 7,
} as const;

export const HeaderSubcode = { ConnectionNotSynchronized: 1, BadMessageLength: 2, BadMessageType: 3 } as const;

export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersion: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
} as const;

export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/**
 * A received message the codec cannot accept. It is a value (decoders return it, they never
 * throw) describing the NOTIFICATION the session must send before closing: `bgpCode`,
 * `bgpSubcode` and `data` per RFC 4271 §6. (`code` is TabbyError's stable string code, so
 * the numeric NOTIFICATION code lives in `bgpCode`.)
 */
export class BgpWireError extends TabbyError {
  readonly bgpCode: number;
  readonly bgpSubcode: number;
  readonly data: Buffer;

  constructor(bgpCode: number, bgpSubcode: number, message: string, data: Buffer = Buffer.alloc(0)) {
    super('BGP_WIRE_ERROR', message);
    this.bgpCode = bgpCode;
    this.bgpSubcode = bgpSubcode;
    this.data = data;
  }
}

/**
 * A value handed to an encoder that BGP cannot carry (an AS above 65535 in a 2-octet
 * AS_PATH, a /33 IPv4 prefix, a message over the size limit...). This is a bug in the
 * caller, so encoders throw it.
 */
export class BgpEncodeError extends TabbyError {
  constructor(message: string) {
    super('BGP_ENCODE_ERROR', message);
  }
}

/** A 2-byte big-endian number, used as NOTIFICATION data for lengths and versions. */
export function u16Data(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff, 0);
  return b;
}
