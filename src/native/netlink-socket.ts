/**
 * One rtnetlink exchange: encode a request, let the addon carry it (inside a namespace when
 * asked), decode the replies and turn a kernel error into a NativeError with the op, the
 * errno, what we were doing, the kernel's own extended-ACK text and a hint.
 */
import { endianness } from 'node:os';
import { getSystemErrorMap } from 'node:util';

import type { RawBinding } from './binding.js';
import { NativeError, argumentError, errnoName } from './errors.js';
import { loadBinding } from './loader.js';
import { NLMSG, NLMSG_HDRLEN, NLM_F } from './netlink-constants.js';
import { align4, decodeDone, decodeError, decodeMessages, encodeMessage, readS32, readU16, readU32, type Attr, type NlMessage } from './netlink-codec.js';
import { checkNetns } from './validate.js';

export type NetlinkBinding = Pick<RawBinding, 'netlinkRequest'> & Partial<Pick<RawBinding, 'netlinkRequestAsync' | 'netlinkBatchAsync'>>;

export interface NetlinkCall {
  /** The op reported on failure: "RTM_NEWROUTE", "RTM_DELLINK", ... */
  op: string;
  /** What the call does, for messages: "replace route 10.0.0.0/24 dev x". */
  what: string;
  netns?: string | undefined;
  /** Extra advice by errno name, appended to the message. */
  hints?: Partial<Record<string, string>>;
}

export interface NetlinkRequest {
  type: number;
  /** NLM_F_REQUEST is added; NLM_F_ACK too unless this is a dump. */
  flags: number;
  header: Buffer;
  attrs?: readonly Attr[];
}

export type BatchCall = Omit<NetlinkCall, 'netns'>;

/**
 * A batch already encoded: complete messages back to back, each starting at its offset.
 * sendBatch stamps every message's sequence number and adds NLM_F_REQUEST|NLM_F_ACK.
 */
export interface EncodedBatch {
  bytes: Buffer;
  offsets: readonly number[];
  /** How message i's failure is reported; asked only for the messages that fail. */
  call(i: number): BatchCall;
}

/** Per request of a batch, in order: undefined when the kernel ACKed it, else its error. */
export type NetlinkBatchResult = NativeError | undefined;

const ENOBUFS = 105;
const RTM_BASE = 16;
/** Netlink headers are in host byte order (read and written through a DataView in sendBatch). */
const HOST_LE = endianness() === 'LE';

const uvErrors = getSystemErrorMap();
let seq = Math.floor(Math.random() * 0x7fffffff);

/** strerror-like text from libuv's table ("no such device"), or "" when it has none. */
export function errnoText(errno: number): string {
  return uvErrors.get(-errno)?.[1] ?? '';
}

/** The error thrown for a kernel error reply (exported for the unit tests of messages). */
export function kernelError(call: NetlinkCall, errno: number, kernelSays?: string): NativeError {
  const name = errnoName(errno);
  const where = call.netns ? ` in network namespace ${call.netns}` : '';
  let message = `${call.what}${where}: ${errnoText(errno) || 'error'} (${name})`;
  if (kernelSays) message += `; the kernel said: ${kernelSays}`;
  const hint = call.hints?.[name];
  if (hint) message += `; ${hint}`;
  return new NativeError(call.op, errno, message);
}

export class NetlinkSocket {
  readonly #binding: NetlinkBinding;

  constructor(binding: NetlinkBinding = loadBinding()) {
    this.#binding = binding;
  }

  /**
   * Sends one request and returns the reply messages (for a dump: every part; for anything
   * else: the reply, if the request has one). Throws NativeError for a kernel error.
   */
  request(req: NetlinkRequest, call: NetlinkCall): NlMessage[] {
    const { bytes, opts } = encode(req, call);
    return decodeReply(this.#binding.netlinkRequest(bytes, opts), call);
  }

  /**
   * The same on a libuv worker thread, for requests the kernel is slow to answer (deleting
   * a veth waits for RCU grace periods): the event loop keeps running meanwhile. Falls back
   * to the synchronous call on a binding without it (the unit tests' fakes).
   */
  async requestAsync(req: NetlinkRequest, call: NetlinkCall): Promise<NlMessage[]> {
    const { bytes, opts } = encode(req, call);
    const reply = this.#binding.netlinkRequestAsync ? await this.#binding.netlinkRequestAsync(bytes, opts) : this.#binding.netlinkRequest(bytes, opts);
    return decodeReply(reply, call);
  }



  /**
   * Many writes on one socket, off the event loop, already encoded (RouteBatchEncoder
   * writes 100,000 routes without allocating per route): every message gets its own
   * sequence number and NLM_F_REQUEST|NLM_F_ACK, stamped in place in `batch.bytes`; the
   * addon sends them several per syscall (netlinkBatchAsync), and each settles on its own:
   * undefined for success, or the NativeError `request` would have thrown for its error
   * reply. A message whose reply the kernel dropped fails with ENOBUFS (its outcome is
   * unknown). Rejects only when the batch as a whole fails (namespace, socket). Falls back
   * to one exchange per message on a binding without the batch call.
   *
   * The batch's messages are numbered consecutively (the addon checks it, and takes the
   * number before the first for its end-of-chunk marker), and the addon answers only for
   * messages that did not plainly succeed, so a 100,000-route batch that succeeds costs the
   * JS thread one pass of header stamping and nothing per reply.
   */
  async sendBatch(batch: EncodedBatch, opts: { netns?: string | undefined } = {}): Promise<NetlinkBatchResult[]> {
    const op = 'netlinkBatch';
    const netns = checkNetns(op, opts.netns);
    const { bytes, offsets } = batch;
    const n = offsets.length;
    if (n === 0) return [];
    if (n > 0x7fffffff) throw argumentError(op, `a batch holds at most ${0x7fffffff} requests, got ${n}`);
    // A run of n numbers that does not wrap (sequence numbers stay 31-bit, as in `encode`).
    let first = (seq + 1) & 0x7fffffff;
    if (first + (n - 1) > 0x7fffffff) first = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < n; i++) {
      const at = offsets[i] as number;
      const flags = view.getUint16(at + 6, HOST_LE);
      if (isDump(view.getUint16(at + 4, HOST_LE), flags)) throw argumentError(op, `request #${i} (${batch.call(i).op}) is a dump; a batch carries writes`);
      view.setUint16(at + 6, flags | NLM_F.REQUEST | NLM_F.ACK, HOST_LE);
      view.setUint32(at + 8, first + i, HOST_LE);
    }
    seq = first + (n - 1);
    const rawOpts = netns ? { netns } : {};
    let reply: Buffer;
    if (this.#binding.netlinkBatchAsync) reply = await this.#binding.netlinkBatchAsync(bytes, rawOpts);
    else {
      const ends = [...offsets.slice(1), bytes.length];
      reply = Buffer.concat(offsets.map((at, i) => this.#binding.netlinkRequest(bytes.subarray(at, ends[i]), rawOpts)));
    }
    return matchReplies(reply, n, batch.call, first, netns);
  }
}

/** A GET asking for a dump, by rtnetlink's own test (NLM_F_DUMP's bits mean REPLACE|EXCL on a NEW). */
function isDump(type: number, flags: number): boolean {
  return type >= RTM_BASE && ((type - RTM_BASE) & 3) === 2 && (flags & NLM_F.DUMP) !== 0;
}

/**
 * Each message's outcome from the batch's replies, matched by sequence number (message i
 * was sent with firstSeq + i). The addon sends only what is not a plain success: the
 * kernel's error replies (NLMSG_ERROR with an errno), and an NLMSG_OVERRUN for each message
 * whose reply was lost, which fails with ENOBUFS. A message the replies do not name
 * succeeded; an ACK (NLMSG_ERROR with errno 0, as the one-by-one fallback gets) says so too.
 * The first reply for a message settles it.
 */
export function matchReplies(reply: Buffer, count: number, call: (i: number) => BatchCall, firstSeq: number, netns?: string): NetlinkBatchResult[] {
  const out: NetlinkBatchResult[] = new Array<NetlinkBatchResult>(count).fill(undefined);
  const answered = new Uint8Array(count);
  const fail = (message: string): NativeError => new NativeError('netlinkBatch', 74 /* EBADMSG */, `a batch of ${count} netlink requests: ${message}`);
  const where = netns ? ` in network namespace ${netns}` : '';
  // Walked by hand, with no object per reply unless it is an error (the one-by-one fallback
  // gets an ACK per message).
  let off = 0;
  while (off + NLMSG_HDRLEN <= reply.length) {
    const len = readU32(reply, off);
    if (len < NLMSG_HDRLEN || off + len > reply.length) throw fail(`malformed netlink reply at offset ${off}: length ${len}, ${reply.length - off} bytes left`);
    const type = readU16(reply, off + 4);
    if (type === NLMSG.ERROR || type === NLMSG.OVERRUN) {
      // Unsigned: a sequence number below firstSeq is no message of this batch.
      const i = (readU32(reply, off + 8) - firstSeq) >>> 0;
      if (i < count && !answered[i]) {
        answered[i] = 1;
        if (type === NLMSG.OVERRUN) {
          const c = call(i);
          out[i] = new NativeError(c.op, ENOBUFS, `${c.what}${where}: the kernel's reply was dropped (receive buffer overflow), so whether it was applied is unknown; list and retry`);
        } else {
          if (len < NLMSG_HDRLEN + 4) throw fail(`an error reply of ${len} bytes is too short`);
          if (readS32(reply, off + NLMSG_HDRLEN) !== 0) {
            const [m] = decodeMessages(reply.subarray(off, off + len));
            const e = decodeError(m as NlMessage);
            out[i] = kernelError({ ...call(i), netns }, e.errno, e.message);
          }
        }
      }
    }
    off += align4(len);
  }
  return out;
}

function encode(req: NetlinkRequest, call: NetlinkCall): { bytes: Buffer; opts: { netns?: string } } {
  const netns = checkNetns(call.op, call.netns);
  const dump = (req.flags & NLM_F.DUMP) === NLM_F.DUMP;
  seq = (seq + 1) & 0x7fffffff;
  const bytes = encodeMessage({
    type: req.type,
    flags: req.flags | NLM_F.REQUEST | (dump ? 0 : NLM_F.ACK),
    seq,
    header: req.header,
    attrs: req.attrs ?? [],
  });
  return { bytes, opts: netns ? { netns } : {} };
}

/** The reply messages, with a kernel error reply thrown as a NativeError. */
function decodeReply(reply: Buffer, call: NetlinkCall): NlMessage[] {
  let messages: NlMessage[];
  try {
    messages = decodeMessages(reply);
  } catch (err) {
    throw new NativeError(call.op, 74 /* EBADMSG */, `${call.what}: ${(err as Error).message}`, { cause: err });
  }
  const out: NlMessage[] = [];
  for (const m of messages) {
    if (m.type === NLMSG.ERROR) {
      const e = decodeError(m);
      if (e.errno !== 0) throw kernelError(call, e.errno, e.message);
      continue;
    }
    if (m.type === NLMSG.DONE) {
      const e = decodeDone(m);
      if (e.errno !== 0) throw kernelError(call, e.errno);
      continue;
    }
    if (m.type === NLMSG.NOOP || m.type === NLMSG.OVERRUN) continue;
    out.push(m);
  }
  return out;
}

/** True when `err` is a NativeError (or anything with `code`) of this errno name. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
