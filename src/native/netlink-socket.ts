/**
 * One rtnetlink exchange: encode a request, let the addon carry it (inside a namespace when
 * asked), decode the replies and turn a kernel error into a NativeError with the op, the
 * errno, what we were doing, the kernel's own extended-ACK text and a hint.
 */
import { getSystemErrorMap } from 'node:util';

import type { RawBinding } from './binding.js';
import { NativeError, errnoName } from './errors.js';
import { loadBinding } from './loader.js';
import { NLMSG, NLM_F } from './netlink-constants.js';
import { decodeDone, decodeError, decodeMessages, encodeMessage, type Attr, type NlMessage } from './netlink-codec.js';
import { checkNetns } from './validate.js';

export type NetlinkBinding = Pick<RawBinding, 'netlinkRequest'> & Partial<Pick<RawBinding, 'netlinkRequestAsync'>>;

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
