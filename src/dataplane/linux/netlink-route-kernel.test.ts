import { describe, expect, it } from 'vitest';

import { forbiddenBinding } from '../../native/fake-binding.js';
import { NLMSG, NLM_F, RTM } from '../../native/netlink-constants.js';
import { decodeMessages, encodeMessage, s32Bytes, readU16, readU32, type Attr } from '../../native/netlink-codec.js';
import { decodeRoute, encodeRouteReplace } from '../../native/netlink-route-codec.js';
import { Netlink } from '../../native/netlink.js';
import { NetlinkRouteKernel, fromKernelRoute, toKernelRoute } from './netlink-route-kernel.js';

/** A binding that answers each request with canned reply messages. */
function replying(reply: (request: Buffer) => Buffer[]) {
  return forbiddenBinding({
    netlinkRequest: (request: Buffer) => Buffer.concat(reply(request)),
  });
}

function errorReply(seq: number, errno: number): Buffer {
  return encodeMessage({ type: NLMSG.ERROR, flags: 0, seq, header: Buffer.concat([s32Bytes(-errno), Buffer.alloc(16)]) });
}

function routeReply(seq: number, body: { header: Buffer; attrs: Attr[] }): Buffer {
  return encodeMessage({ type: RTM.NEWROUTE, flags: NLM_F.MULTI, seq, ...body });
}

describe('NetlinkRouteKernel (against canned kernel replies)', () => {
  it('lists only unicast and blackhole routes of the table asked for, with device names', async () => {
    const nl = new Netlink(
      replying((req) => {
        const seq = readU32(req, 8);
        const type = readU16(req, 4);
        if (type === RTM.GETLINK) {
          const link = Buffer.alloc(16);
          link.writeInt32LE(7, 4);
          return [
            encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.MULTI, seq, header: link, attrs: [{ type: 3, value: Buffer.from('cali1\0') }] }),
            encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq, header: s32Bytes(0) }),
          ];
        }
        return [
          routeReply(seq, encodeRouteReplace({ dst: '10.0.0.5/32', ifindex: 7, protocol: 84 })),
          routeReply(seq, encodeRouteReplace({ dst: '10.0.1.0/26', type: 'blackhole', protocol: 84 })),
          routeReply(seq, encodeRouteReplace({ dst: '10.0.2.0/26', type: 'unreachable', protocol: 84 })),
          routeReply(seq, encodeRouteReplace({ dst: '10.0.3.0/26', type: 'blackhole', protocol: 84, table: 100 })),
          routeReply(seq, encodeRouteReplace({ dst: '10.0.4.0/26', gateway: '192.0.2.1', protocol: 3 })),
          encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq, header: s32Bytes(0) }),
        ];
      }),
    );
    const kernel = new NetlinkRouteKernel({ netlink: nl });
    expect(await kernel.listRoutes({ protocol: 84 })).toEqual([
      { dst: '10.0.0.5/32', type: 'unicast', protocol: 84, table: 254, ifName: 'cali1', ifindex: 7, scope: 'link' },
      { dst: '10.0.1.0/26', type: 'blackhole', protocol: 84, table: 254, scope: 'universe' },
    ]);
    expect((await kernel.listRoutes({ table: 100 })).map((r) => r.dst)).toEqual(['10.0.3.0/26']);
  });

  it('treats ESRCH on delete as success and rejects other errors with errno', async () => {
    let errno = 3;
    const nl = new Netlink(replying((req) => [errorReply(readU32(req, 8), errno)]));
    const kernel = new NetlinkRouteKernel({ netlink: nl });
    await expect(kernel.deleteRoute({ dst: '10.0.0.0/26', type: 'blackhole', protocol: 84 })).resolves.toBeUndefined();
    errno = 1;
    await expect(kernel.deleteRoute({ dst: '10.0.0.0/26', type: 'blackhole', protocol: 84 })).rejects.toMatchObject({ errno: 1, code: 'EPERM', op: 'RTM_DELROUTE' });
    await expect(kernel.replaceRoute({ dst: '10.0.0.0/26', type: 'blackhole', protocol: 84 })).rejects.toMatchObject({ errno: 1, op: 'RTM_NEWROUTE' });
  });

  it('writeRoutes sends the whole batch in one native call and settles each op', async () => {
    const sent: { type: number; flags: number; dst: string | undefined; gateway: string | undefined; protocol: number | undefined }[] = [];
    let batches = 0;
    const nl = new Netlink(
      forbiddenBinding({
        netlinkBatchAsync: async (requests: Buffer) => {
          batches += 1;
          const replies: Buffer[] = [];
          for (const m of decodeMessages(requests)) {
            const r = decodeRoute({ ...m, type: RTM.NEWROUTE });
            sent.push({ type: m.type, flags: m.flags & ~(NLM_F.REQUEST | NLM_F.ACK), dst: r?.dst, gateway: r?.gateway, protocol: r?.protocol });
            // The created slot is taken; the delete finds nothing (ESRCH): both as the kernel says.
            const errno = r?.dst === '10.0.1.0/26' ? 17 : r?.dst === '10.0.2.0/26' ? 3 : 0;
            replies.push(errorReply(m.seq, errno));
          }
          return Buffer.concat(replies);
        },
      }),
    );
    const kernel = new NetlinkRouteKernel({ netlink: nl });
    const results = await kernel.writeRoutes([
      { op: 'replace', route: { dst: '10.0.0.0/26', type: 'unicast', gateway: '192.0.2.9', protocol: 84 } },
      { op: 'create', route: { dst: '10.0.1.0/26', type: 'blackhole', protocol: 84 } },
      { op: 'delete', route: { dst: '10.0.2.0/26', type: 'unicast', gateway: '192.0.2.1', protocol: 84 } },
    ]);
    expect(batches).toBe(1);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatchObject({ errno: 17, code: 'EEXIST', op: 'RTM_NEWROUTE' });
    expect(results[2]).toBeUndefined();
    expect(sent).toEqual([
      { type: RTM.NEWROUTE, flags: NLM_F.CREATE | NLM_F.REPLACE, dst: '10.0.0.0/26', gateway: '192.0.2.9', protocol: 84 },
      { type: RTM.NEWROUTE, flags: NLM_F.CREATE | NLM_F.EXCL, dst: '10.0.1.0/26', gateway: undefined, protocol: 84 },
      // A delete matches table, dst and protocol only, as deleteRoute does.
      { type: RTM.DELROUTE, flags: 0, dst: '10.0.2.0/26', gateway: undefined, protocol: 84 },
    ]);
  });

  it('maps KernelRoute to netlink and back', () => {
    expect(fromKernelRoute({ dst: '10.0.0.0/26', type: 'unicast', gateway: '192.0.2.9', ifName: 'tunl0', onlink: true, protocol: 84 })).toEqual({
      dst: '10.0.0.0/26',
      type: 'unicast',
      gateway: '192.0.2.9',
      ifName: 'tunl0',
      onlink: true,
      protocol: 84,
      table: 254,
    });
    // A blackhole carries no nexthop even if the caller left one in.
    expect(fromKernelRoute({ dst: '10.0.0.0/26', type: 'blackhole', ifName: 'x', protocol: 84, table: 9 })).toEqual({ dst: '10.0.0.0/26', type: 'blackhole', protocol: 84, table: 9 });
    expect(toKernelRoute({ dst: '1.0.0.0/8', type: 'local', table: 255, protocol: 2, scope: 'host', tos: 0, onlink: false })).toBeNull();
  });
});
