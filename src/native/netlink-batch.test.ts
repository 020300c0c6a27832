// Batches over a fake kernel: NetlinkSocket.sendBatch (sequence numbers, flags,
// replies matched by sequence whatever their order, a dropped reply, errors built like a
// single request's) and NetlinkRoutes.writeBatch (per-op validation, one link lookup per
// device name, create/replace/delete encodings, absent deletes as success).
import { describe, expect, it } from 'vitest';

import type { RawBinding } from './binding.js';
import { NativeError } from './errors.js';
import { forbiddenBinding, NativeCalled } from './fake-binding.js';
import { NLMSG, NLMSGERR_ATTR, NLM_F, RTM } from './netlink-constants.js';
import { decodeMessages, encodeAttrs, encodeMessage, s32Bytes, stringBytes, type NlMessage } from './netlink-codec.js';
import { decodeRoute } from './netlink-route-codec.js';
import { BATCH_SLICE, NetlinkRoutes, type RouteBatchOp } from './netlink-routes.js';
import { NetlinkSocket, kernelError, matchReplies, type BatchCall, type NetlinkRequest } from './netlink-socket.js';

/** Arbitrary requests as one batch: encoded here, sent with sendBatch. */
interface NetlinkBatchItem {
  request: NetlinkRequest;
  call: BatchCall;
}
function requestBatch(socket: NetlinkSocket, items: readonly NetlinkBatchItem[], opts: { netns?: string } = {}) {
  const parts = items.map(({ request: r }) => encodeMessage({ type: r.type, flags: r.flags, seq: 0, header: r.header, attrs: r.attrs ?? [] }));
  const offsets: number[] = [];
  let len = 0;
  for (const m of parts) {
    offsets.push(len);
    len += m.length;
  }
  return socket.sendBatch({ bytes: Buffer.concat(parts, len), offsets, call: (i) => items[i]!.call }, opts);
}

/** The kernel's answer to one message: 0 (ACK), an errno, or an errno with extended-ACK text. */
type Answer = number | { errno: number; text: string };

/** An NLMSG_ERROR reply to `req` as the kernel sends it (capped, with the text as a TLV). */
function errorReply(req: NlMessage, answer: Answer): Buffer {
  const errno = typeof answer === 'number' ? answer : answer.errno;
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + req.payload.length, 0);
  hdr.writeUInt16LE(req.type, 4);
  hdr.writeUInt16LE(req.flags, 6);
  hdr.writeUInt32LE(req.seq, 8);
  const tlvs = typeof answer === 'number' ? Buffer.alloc(0) : encodeAttrs([{ type: NLMSGERR_ATTR.MSG, value: stringBytes(answer.text) }]);
  const flags = NLM_F.CAPPED | (tlvs.length > 0 ? NLM_F.ACK_TLVS : 0);
  return encodeMessage({ type: NLMSG.ERROR, flags, seq: req.seq, header: Buffer.concat([s32Bytes(-errno), hdr, tlvs]) });
}

interface FakeKernel {
  binding: RawBinding;
  /** Every message of every batch, as sent. */
  sent: NlMessage[];
  batches: number;
  /** Single requests (link lookups). */
  requests: NlMessage[];
}

/**
 * netlinkBatchAsync answering each message with `answer(msg)` as the addon does: nothing for
 * a success (0), the kernel's error reply for an errno, an NLMSG_OVERRUN for null (the reply
 * was dropped); in reverse order to prove matching is by sequence number. netlinkRequest answers
 * RTM_GETLINK for the names in `links` (ifindex by name) and ENODEV otherwise.
 */
function fakeKernel(answer: (m: NlMessage) => Answer | null, links: Record<string, number> = {}): FakeKernel {
  const k: FakeKernel = {
    sent: [],
    batches: 0,
    requests: [],
    binding: forbiddenBinding({
      netlinkBatchAsync: async (requests: Buffer) => {
        k.batches += 1;
        const msgs = decodeMessages(Buffer.from(requests));
        k.sent.push(...msgs);
        const replies: Buffer[] = [];
        for (const m of msgs) {
          const a = answer(m);
          if (a === null) replies.push(encodeMessage({ type: NLMSG.OVERRUN, flags: 0, seq: m.seq, header: Buffer.alloc(0) }));
          else if (a !== 0) replies.push(errorReply(m, a));
        }
        return Buffer.concat(replies.reverse());
      },
      netlinkRequest: (request: Buffer) => {
        const [m] = decodeMessages(request);
        if (!m || m.type !== RTM.GETLINK) throw new Error(`unexpected single request type ${m?.type}`);
        k.requests.push(m);
        const name = Object.keys(links).find((n) => m.payload.includes(stringBytes(n)));
        if (name === undefined) return errorReply(m, 19);
        const ifinfo = Buffer.alloc(16);
        ifinfo.writeInt32LE(links[name] as number, 4);
        return Buffer.concat([
          encodeMessage({ type: RTM.NEWLINK, flags: 0, seq: m.seq, header: ifinfo, attrs: [{ type: 3, value: stringBytes(name) }] }),
          errorReply(m, 0),
        ]);
      },
    }),
  };
  return k;
}

const blackhole = (dst: string): RouteBatchOp => ({ op: 'replace', route: { dst, type: 'blackhole', protocol: 84 } });

describe('NetlinkSocket.sendBatch', () => {
  it('sends every request with its own sequence number, NLM_F_REQUEST and NLM_F_ACK, in one native call', async () => {
    const k = fakeKernel(() => 0);
    const items: NetlinkBatchItem[] = [1, 2, 3].map((i) => ({
      request: { type: RTM.NEWROUTE, flags: NLM_F.CREATE, header: Buffer.alloc(12, i) },
      call: { op: 'RTM_NEWROUTE', what: `write ${i}` },
    }));
    expect(await requestBatch(new NetlinkSocket(k.binding), items)).toEqual([undefined, undefined, undefined]);
    expect(k.batches).toBe(1);
    expect(k.sent.map((m) => m.flags)).toEqual(Array(3).fill(NLM_F.CREATE | NLM_F.REQUEST | NLM_F.ACK));
    expect(k.sent.map((m) => m.payload[0])).toEqual([1, 2, 3]);
    const seqs = k.sent.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(3);
    expect(seqs[1]).toBe(((seqs[0] as number) + 1) & 0x7fffffff);
  });

  it('settles each request by its own reply, whatever order the replies come in', async () => {
    const k = fakeKernel((m) => (m.payload[0] === 2 ? { errno: 101, text: 'Nexthop has invalid gateway' } : m.payload[0] === 4 ? 17 : 0));
    const items: NetlinkBatchItem[] = [1, 2, 3, 4].map((i) => ({
      request: { type: RTM.NEWROUTE, flags: 0, header: Buffer.alloc(12, i) },
      call: { op: 'RTM_NEWROUTE', what: `write ${i}`, hints: { ENETUNREACH: 'add a route to the gateway' } },
    }));
    const results = await requestBatch(new NetlinkSocket(k.binding), items, { netns: '/run/netns/x' });
    expect(results[0]).toBeUndefined();
    expect(results[2]).toBeUndefined();
    // Exactly the error a single request would have thrown.
    expect(results[1]).toEqual(kernelError({ op: 'RTM_NEWROUTE', what: 'write 2', netns: '/run/netns/x', hints: { ENETUNREACH: 'add a route to the gateway' } }, 101, 'Nexthop has invalid gateway'));
    expect(results[1]).toBeInstanceOf(NativeError);
    expect(results[1]?.message).toBe('write 2 in network namespace /run/netns/x: network is unreachable (ENETUNREACH); the kernel said: Nexthop has invalid gateway; add a route to the gateway');
    expect(results[3]).toMatchObject({ op: 'RTM_NEWROUTE', errno: 17, code: 'EEXIST' });
  });

  it('fails a request whose reply never came with ENOBUFS, and only that one', async () => {
    const k = fakeKernel((m) => (m.payload[0] === 2 ? null : 0));
    const items: NetlinkBatchItem[] = [1, 2, 3].map((i) => ({ request: { type: RTM.DELROUTE, flags: 0, header: Buffer.alloc(12, i) }, call: { op: 'RTM_DELROUTE', what: `delete ${i}` } }));
    const results = await requestBatch(new NetlinkSocket(k.binding), items);
    expect(results[0]).toBeUndefined();
    expect(results[2]).toBeUndefined();
    expect(results[1]).toMatchObject({ op: 'RTM_DELROUTE', code: 'ENOBUFS' });
    expect(results[1]?.message).toMatch(/^delete 2: the kernel's reply was dropped .* unknown/);
  });

  it('refuses a dump before any native call, and sends nothing for an empty batch', async () => {
    const socket = new NetlinkSocket(forbiddenBinding());
    await expect(requestBatch(socket, [{ request: { type: RTM.GETROUTE, flags: NLM_F.DUMP, header: Buffer.alloc(12) }, call: { op: 'RTM_GETROUTE', what: 'list' } }])).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/request #0 \(RTM_GETROUTE\) is a dump/),
    });
    // NLM_F_DUMP's bits on a NEW message are REPLACE|EXCL, not a dump: that one is sent.
    await expect(requestBatch(socket, [{ request: { type: RTM.NEWROUTE, flags: NLM_F.REPLACE | NLM_F.EXCL, header: Buffer.alloc(12) }, call: { op: 'x', what: 'x' } }])).rejects.toBeInstanceOf(NativeCalled);
    expect(await requestBatch(socket, [])).toEqual([]);
    await expect(requestBatch(socket, [], { netns: 'relative/path' })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('falls back to one exchange per request on a binding without the batch call', async () => {
    const seen: number[] = [];
    const binding = {
      netlinkRequest: (request: Buffer) => {
        const [m] = decodeMessages(request) as [NlMessage];
        seen.push(m.seq);
        return errorReply(m, m.payload[0] === 2 ? 22 : 0);
      },
    };
    const items: NetlinkBatchItem[] = [1, 2].map((i) => ({ request: { type: RTM.NEWROUTE, flags: 0, header: Buffer.alloc(12, i) }, call: { op: 'RTM_NEWROUTE', what: `w${i}` } }));
    const results = await requestBatch(new NetlinkSocket(binding), items);
    expect(seen).toHaveLength(2);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatchObject({ code: 'EINVAL' });
  });

  it('rejects a malformed reply stream as EBADMSG', () => {
    const bad = Buffer.alloc(20);
    bad.writeUInt32LE(400, 0);
    expect(() => matchReplies(bad, 1, () => ({ op: 'x', what: 'x' }), 1)).toThrow(expect.objectContaining({ code: 'EBADMSG' }));
  });

  it('reads only what is not a plain success: no reply and an ACK succeed, an overrun is ENOBUFS, the first reply wins', () => {
    const first = 0x7ffffff0;
    const req = (k: number): NlMessage => ({ type: RTM.NEWROUTE, flags: 0, seq: first + k, pid: 0, payload: Buffer.alloc(12, k) });
    const overrun = (seq: number) => encodeMessage({ type: NLMSG.OVERRUN, flags: 0, seq, header: Buffer.alloc(0) });
    const reply = Buffer.concat([
      errorReply(req(1), 0), // an ACK (the one-by-one fallback's success)
      errorReply(req(2), 22),
      errorReply(req(2), 0), // a second reply for #2 does not undo the first
      overrun(first + 3),
      errorReply(req(3), 17), // nor does an error after the overrun
      errorReply({ ...req(0), seq: first - 1 }, 1), // below the batch: not one of ours
      overrun(first + 9), // past the batch
    ]);
    const out = matchReplies(reply, 5, (i) => ({ op: 'RTM_NEWROUTE', what: `w${i}` }), first, '/run/netns/y');
    expect(out.map((e) => e?.code)).toEqual([undefined, undefined, 'EINVAL', 'ENOBUFS', undefined]);
    expect(out[3]?.message).toBe("w3 in network namespace /run/netns/y: the kernel's reply was dropped (receive buffer overflow), so whether it was applied is unknown; list and retry");
    expect(matchReplies(Buffer.alloc(0), 3, () => ({ op: 'x', what: 'x' }), first)).toEqual([undefined, undefined, undefined]);
  });
});

describe('NetlinkRoutes.writeBatch', () => {
  function decodeSent(k: FakeKernel) {
    return k.sent.map((m) => ({ type: m.type, flags: m.flags & ~(NLM_F.REQUEST | NLM_F.ACK), route: decodeRoute({ ...m, type: RTM.NEWROUTE }) }));
  }

  it('encodes replace, create and delete and settles each op in order', async () => {
    const k = fakeKernel((m) => {
      const r = decodeRoute({ ...m, type: RTM.NEWROUTE });
      if (r?.dst === '10.0.2.0/24') return m.type === RTM.DELROUTE ? 3 /* ESRCH */ : 17;
      if (r?.dst === '10.0.3.0/24') return 2; // ENOENT on a delete: also absent
      return 0;
    }, { cali1: 7 });
    const routes = new NetlinkRoutes(new NetlinkSocket(k.binding));
    const results = await routes.writeBatch([
      { op: 'replace', route: { dst: '10.0.0.0/24', ifName: 'cali1', gateway: '10.9.0.2', protocol: 84 } },
      { op: 'create', route: { dst: '10.0.1.0/24', type: 'blackhole', protocol: 84, table: 254 } },
      { op: 'create', route: { dst: '10.0.2.0/24', type: 'blackhole', protocol: 84 } },
      { op: 'delete', route: { dst: '10.0.2.0/24', protocol: 84 } },
      { op: 'delete', route: { dst: '10.0.3.0/24', protocol: 84 } },
    ]);
    expect(results.map((r) => r?.code)).toEqual([undefined, undefined, 'EEXIST', undefined, undefined]);
    expect(results[2]?.message).toBe('create route blackhole 10.0.2.0/24 proto 84: file already exists (EEXIST); a route already holds this slot (table, dst, metric); replace it to take the slot over');
    const sent = decodeSent(k);
    expect(sent.map((s) => [s.type, s.flags])).toEqual([
      [RTM.NEWROUTE, NLM_F.CREATE | NLM_F.REPLACE],
      [RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL],
      [RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL],
      [RTM.DELROUTE, 0],
      [RTM.DELROUTE, 0],
    ]);
    expect(sent[0]?.route).toMatchObject({ dst: '10.0.0.0/24', gateway: '10.9.0.2', ifindex: 7, protocol: 84, type: 'unicast' });
    expect(sent[1]?.route).toMatchObject({ dst: '10.0.1.0/24', type: 'blackhole', protocol: 84, table: 254 });
    expect(sent[3]?.route).toMatchObject({ dst: '10.0.2.0/24', protocol: 84, type: 'unspec', scope: 'nowhere' });
    expect(k.batches).toBe(1);
  });

  it('fails a bad route alone, with the message a single write gives, and sends the rest', async () => {
    const k = fakeKernel(() => 0);
    const routes = new NetlinkRoutes(new NetlinkSocket(k.binding));
    const results = await routes.writeBatch([
      blackhole('10.0.0.0/24'),
      { op: 'replace', route: { dst: '10.0.1.1/24', type: 'blackhole', protocol: 84 } },
      { op: 'bogus' as 'replace', route: { dst: '10.0.2.0/24', type: 'blackhole' } },
      { op: 'replace', route: { dst: '10.0.3.0/24', protocol: 84 } },
      blackhole('10.0.4.0/24'),
    ]);
    expect(results[0]).toBeUndefined();
    expect(results[4]).toBeUndefined();
    let single: unknown;
    try {
      new NetlinkRoutes(new NetlinkSocket(forbiddenBinding())).replace({ dst: '10.0.1.1/24', type: 'blackhole', protocol: 84 });
    } catch (err) {
      single = err;
    }
    expect(results[1]).toEqual(single);
    expect(results[1]).toMatchObject({ op: 'RTM_NEWROUTE', code: 'EINVAL', message: expect.stringContaining('has host bits set') });
    expect(results[2]).toMatchObject({ code: 'EINVAL', message: expect.stringContaining("op must be replace, create or delete, got 'bogus'") });
    expect(results[3]).toMatchObject({ code: 'EINVAL', message: expect.stringContaining('needs a gateway, a device, or both') });
    expect(k.sent.map((m) => decodeRoute({ ...m, type: RTM.NEWROUTE })?.dst)).toEqual(['10.0.0.0/24', '10.0.4.0/24']);
  });

  it('checks host bits at either end of the address and of the prefix lengths (the address is an unsigned 32-bit number)', async () => {
    const k = fakeKernel(() => 0);
    const routes = new NetlinkRoutes(new NetlinkSocket(k.binding));
    const hostBits = await routes.writeBatch(
      ['0.0.0.0/0', '1.0.0.0/0', '128.0.0.0/1', '192.0.0.0/1', '255.255.255.255/32', '255.255.255.254/31', '255.255.255.255/31', '200.0.0.1/8'].map(blackhole),
    );
    expect(hostBits.map((r) => (r === undefined ? 'ok' : /has host bits set/.test(r.message) ? 'host bits' : r.message))).toEqual([
      'ok',
      'host bits',
      'ok',
      'host bits',
      'ok',
      'ok',
      'host bits',
      'host bits',
    ]);
    expect(k.sent).toHaveLength(4);
  });

  it('looks each device name up once per batch; a missing one fails its writes with ENODEV and its deletes succeed', async () => {
    const k = fakeKernel(() => 0, { cali1: 7, cali2: 8 });
    const routes = new NetlinkRoutes(new NetlinkSocket(k.binding));
    const ops: RouteBatchOp[] = [];
    for (let i = 0; i < 50; i++) ops.push({ op: 'replace', route: { dst: `10.1.${i}.0/24`, ifName: i % 2 ? 'cali1' : 'cali2', protocol: 84 } });
    ops.push({ op: 'replace', route: { dst: '10.2.0.0/24', ifName: 'gone0', protocol: 84 } });
    ops.push({ op: 'create', route: { dst: '10.2.1.0/24', ifName: 'gone0', protocol: 84 } });
    ops.push({ op: 'delete', route: { dst: '10.2.2.0/24', ifName: 'gone0', protocol: 84 } });
    const results = await routes.writeBatch(ops, { netns: '/run/netns/x' });
    expect(k.requests.map((m) => m.type)).toEqual([RTM.GETLINK, RTM.GETLINK, RTM.GETLINK]);
    expect(results.slice(0, 50).every((r) => r === undefined)).toBe(true);
    for (const r of [results[50], results[51]]) {
      expect(r).toMatchObject({ op: 'RTM_NEWROUTE', errno: 19, code: 'ENODEV' });
      expect(r?.message).toMatch(/^route 10\.2\.[01]\.0\/24 dev gone0 proto 84: interface gone0 does not exist in network namespace \/run\/netns\/x; /);
    }
    expect(results[52]).toBeUndefined();
    const oifs = k.sent.map((m) => decodeRoute({ ...m, type: RTM.NEWROUTE })?.ifindex);
    expect(oifs).toHaveLength(50);
    expect(oifs.slice(0, 2)).toEqual([8, 7]);
  });

  it('rejects as a whole only what stops the whole batch: a bad namespace or a failed native call', async () => {
    const routes = new NetlinkRoutes(new NetlinkSocket(forbiddenBinding()));
    await expect(routes.writeBatch([blackhole('10.0.0.0/24')], { netns: 'not/absolute' })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(routes.writeBatch([blackhole('10.0.0.0/24')])).rejects.toBeInstanceOf(NativeCalled);
    expect(await routes.writeBatch([])).toEqual([]);
  });

  it('sends a large batch in slices, handing the next one over while the last is in the kernel, in order', async () => {
    // A kernel with a table, so order matters: create fails on a taken slot. Like the addon,
    // the fake runs the calls it was handed strictly one after the other, in order.
    const table = new Set<string>();
    let handed = 0;
    let maxHanded = 0;
    const calls: number[] = [];
    let turn: Promise<unknown> = Promise.resolve();
    const binding = forbiddenBinding({
      netlinkBatchAsync: (requests: Buffer) => {
        handed += 1;
        maxHanded = Math.max(maxHanded, handed);
        const mine = turn.then(async () => {
          await new Promise((r) => setImmediate(r));
          const msgs = decodeMessages(Buffer.from(requests));
          calls.push(msgs.length);
          const replies = msgs.map((m) => {
            const d = decodeRoute({ ...m, type: RTM.NEWROUTE })?.dst ?? '';
            if (m.type === RTM.DELROUTE) return errorReply(m, table.delete(d) ? 0 : 3);
            if ((m.flags & NLM_F.EXCL) !== 0 && table.has(d)) return errorReply(m, 17);
            table.add(d);
            return errorReply(m, 0);
          });
          handed -= 1;
          return Buffer.concat(replies);
        });
        turn = mine;
        return mine;
      },
    });
    const routes = new NetlinkRoutes(new NetlinkSocket(binding));
    const n = 2 * BATCH_SLICE + 100;
    const ops: RouteBatchOp[] = [];
    for (let i = 0; i < n; i++) ops.push(blackhole(`20.${(i >> 8) & 255}.${i & 255}.0/24`));
    // The last op of the first slice frees a slot the first op of the second slice claims.
    ops[BATCH_SLICE - 1] = { op: 'delete', route: { dst: '20.0.5.0/24', protocol: 84 } };
    ops[BATCH_SLICE] = { op: 'create', route: { dst: '20.0.5.0/24', type: 'blackhole', protocol: 84 } };
    ops[n - 1] = { op: 'replace', route: { dst: 'nonsense' } };
    const results = await routes.writeBatch(ops);
    expect(calls).toEqual([BATCH_SLICE, BATCH_SLICE, 99]);
    // One slice waits behind the one in the kernel, never more.
    expect(maxHanded).toBe(2);
    expect(results).toHaveLength(n);
    expect(results.slice(0, n - 1).filter((r) => r !== undefined)).toEqual([]);
    expect(results[n - 1]).toMatchObject({ code: 'EINVAL' });
    expect(table.has('20.0.5.0/24')).toBe(true);
  });

  it('rejects when a native call fails, and sends no later slice', async () => {
    let calls = 0;
    const binding = forbiddenBinding({
      netlinkBatchAsync: async () => {
        calls += 1;
        throw new NativeError('setns', 2, 'network namespace /run/netns/gone cannot be opened');
      },
    });
    const routes = new NetlinkRoutes(new NetlinkSocket(binding));
    const ops = Array.from({ length: 3 * BATCH_SLICE }, (_, i) => blackhole(`20.${(i >> 8) & 255}.${i & 255}.0/24`));
    await expect(routes.writeBatch(ops)).rejects.toMatchObject({ op: 'setns', code: 'ENOENT' });
    expect(calls).toBe(1);
  });

  it('never reuses a sequence number across batches', async () => {
    const k = fakeKernel(() => 0);
    const routes = new NetlinkRoutes(new NetlinkSocket(k.binding));
    await routes.writeBatch([blackhole('10.0.0.0/24'), blackhole('10.0.1.0/24')]);
    await routes.writeBatch([blackhole('10.0.2.0/24')]);
    const seqs = k.sent.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(3);
  });
});
