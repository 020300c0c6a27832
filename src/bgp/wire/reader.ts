import type { BgpWireError } from './errors.js';
import { checkHeader, maxMessageLength } from './header.js';
import { HEADER_LENGTH } from './types.js';

export interface SplitResult {
  /** Whole messages, header included, each with a valid header. */
  frames: Buffer[];
  /** Bytes of an incomplete message still to be completed by later data. */
  rest: Buffer;
  /** Set when a header is invalid: send it as NOTIFICATION and close; `rest` starts at the bad header. */
  error?: BgpWireError;
}

/** Cuts a buffer into whole BGP messages, validating each header. */
export function splitMessages(buf: Buffer, opts: { extendedMessages?: boolean } = {}): SplitResult {
  const max = maxMessageLength(opts);
  const frames: Buffer[] = [];
  let off = 0;
  while (buf.length - off >= HEADER_LENGTH) {
    const h = checkHeader(buf, off, max);
    if (!('length' in h)) return { frames, rest: buf.subarray(off), error: h };
    if (buf.length - off < h.length) break;
    frames.push(buf.subarray(off, off + h.length));
    off += h.length;
  }
  return { frames, rest: buf.subarray(off) };
}

/**
 * Reassembles TCP chunks into BGP messages. Pure: feed it chunks, it hands back whole
 * frames. After a header error it stays failed (the session must close), returning the
 * same error on every later push. Buffers at most one incomplete message.
 */
export class MessageReader {
  #pending: Buffer = Buffer.alloc(0);
  #error: BgpWireError | undefined;
  extendedMessages: boolean;

  constructor(opts: { extendedMessages?: boolean } = {}) {
    this.extendedMessages = opts.extendedMessages ?? false;
  }

  push(chunk: Buffer): { frames: Buffer[]; error?: BgpWireError } {
    if (this.#error) return { frames: [], error: this.#error };
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const r = splitMessages(data, { extendedMessages: this.extendedMessages });
    // Copy the remainder so the caller's chunk can be reused; frames are views of `data`.
    this.#pending = Buffer.from(r.rest);
    if (r.error) {
      this.#error = r.error;
      return { frames: r.frames, error: r.error };
    }
    return { frames: r.frames };
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.#pending.length;
  }
}
