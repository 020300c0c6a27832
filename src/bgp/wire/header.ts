import { BgpEncodeError, BgpWireError, ErrorCode, HeaderSubcode, u16Data } from './errors.js';
import { HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType, type CodecContext } from './types.js';

export interface Header {
  length: number;
  type: number;
}

/** Smallest and largest legal total length per message type (RFC 4271 §4, RFC 2918). */
const LENGTH_BOUNDS: Record<number, readonly [number, number | undefined]> = {
  [MessageType.Open]: [29, MAX_MESSAGE_LENGTH], // RFC 8654: OPEN never grows
  [MessageType.Update]: [23, undefined],
  [MessageType.Notification]: [21, undefined],
  [MessageType.Keepalive]: [19, 19],
  [MessageType.RouteRefresh]: [23, undefined],
};

export function maxMessageLength(ctx?: Pick<CodecContext, 'extendedMessages'>): number {
  return ctx?.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

/**
 * Validates the 19-byte header at buf[offset] (the caller guarantees 19 bytes are there) and
 * returns its length and type, or the Message Header Error to send (RFC 4271 §6.1).
 */
export function checkHeader(buf: Buffer, offset: number, maxLength: number): Header | BgpWireError {
  for (let i = 0; i < 16; i++) {
    if (buf[offset + i] !== 0xff) {
      return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized,
        'BGP header marker is not 16 bytes of 0xff: the stream is out of sync or not BGP');
    }
  }
  const length = buf.readUInt16BE(offset + 16);
  const type = buf[offset + 18]!;
  if (length < HEADER_LENGTH || length > maxLength) {
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      `BGP message length ${length} is outside 19..${maxLength}`, u16Data(length));
  }
  const bounds = LENGTH_BOUNDS[type];
  if (!bounds) {
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType,
      `unknown BGP message type ${type}`, Buffer.from([type]));
  }
  const [min, max] = bounds;
  if (length < min || (max !== undefined && length > max)) {
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      `BGP message type ${type} cannot be ${length} bytes long (must be ${min}..${max ?? maxLength})`, u16Data(length));
  }
  return { length, type };
}

/** Prepends a header to a message body; rejects messages over the session's size limit. */
export function frame(type: number, body: Buffer, ctx?: Pick<CodecContext, 'extendedMessages'>): Buffer {
  const length = HEADER_LENGTH + body.length;
  const max = type === MessageType.Open ? MAX_MESSAGE_LENGTH : maxMessageLength(ctx);
  if (length > max) {
    throw new BgpEncodeError(`BGP message type ${type} would be ${length} bytes, over the ${max}-byte limit; split it`);
  }
  const out = Buffer.alloc(length, 0xff);
  out.writeUInt16BE(length, 16);
  out[18] = type;
  body.copy(out, HEADER_LENGTH);
  return out;
}
