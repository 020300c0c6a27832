/** Whole-message entry points: a framed message in, a typed message out, and back. */
import { BgpEncodeError, BgpWireError, ErrorCode, HeaderSubcode, u16Data } from './errors.js';
import { checkHeader, frame, maxMessageLength } from './header.js';
import { decodeNotification, encodeNotification } from './notification.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeRouteRefresh, encodeRouteRefresh } from './route-refresh.js';
import { HEADER_LENGTH, MessageType, type BgpMessage, type CodecContext } from './types.js';
import { decodeUpdate, encodeUpdate, type UpdateDecodeResult } from './update.js';

/** A decoded message; for UPDATEs, RFC 7606 handling is described alongside (otherwise 'ok'). */
export interface DecodedMessage extends Omit<UpdateDecodeResult, 'update'> {
  message: BgpMessage;
}

/**
 * Decodes one framed message (header included, e.g. from MessageReader). Never throws:
 * a message that must reset the session comes back as a BgpWireError.
 */
export function decodeMessage(buf: Buffer, ctx: CodecContext): DecodedMessage | BgpWireError {
  if (buf.length < HEADER_LENGTH) {
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, `a BGP message needs at least 19 bytes, got ${buf.length}`, u16Data(buf.length));
  }
  const h = checkHeader(buf, 0, maxMessageLength(ctx));
  if (h instanceof BgpWireError) return h;
  if (h.length !== buf.length) {
    return new BgpWireError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      `header says ${h.length} bytes but the frame has ${buf.length}`, u16Data(h.length));
  }
  const body = buf.subarray(HEADER_LENGTH);
  const ok = (message: BgpMessage): DecodedMessage => ({ message, outcome: 'ok', discarded: [], withdrawnDueToError: [] });
  switch (h.type) {
    case MessageType.Open: {
      const m = decodeOpen(body);
      return m instanceof BgpWireError ? m : ok(m);
    }
    case MessageType.Update: {
      const r = decodeUpdate(body, ctx);
      if (r instanceof BgpWireError) return r;
      const { update, ...rest } = r;
      return { message: update, ...rest };
    }
    case MessageType.Notification:
      return ok(decodeNotification(body));
    case MessageType.Keepalive:
      return ok({ type: 'keepalive' });
    default: {
      const m = decodeRouteRefresh(body, buf);
      return m instanceof BgpWireError ? m : ok(m);
    }
  }
}

/** Encodes a message with its header. Throws BgpEncodeError for values BGP cannot carry. */
export function encodeMessage(m: BgpMessage, ctx: CodecContext): Buffer {
  switch (m.type) {
    case 'open':
      return frame(MessageType.Open, encodeOpen(m), ctx);
    case 'update':
      return frame(MessageType.Update, encodeUpdate(m, ctx), ctx);
    case 'notification':
      return frame(MessageType.Notification, encodeNotification(m), ctx);
    case 'keepalive':
      return frame(MessageType.Keepalive, Buffer.alloc(0), ctx);
    case 'route-refresh':
      return frame(MessageType.RouteRefresh, encodeRouteRefresh(m), ctx);
    default:
      throw new BgpEncodeError(`unknown message type ${(m as { type: unknown }).type}`);
  }
}

/** The NOTIFICATION message to send for a decode error. */
export function notificationFor(err: BgpWireError): BgpMessage {
  return { type: 'notification', code: err.bgpCode, subcode: err.bgpSubcode, data: err.data };
}
