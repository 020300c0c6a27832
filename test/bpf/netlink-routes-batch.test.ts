// Batched route writes (netlinkBatchAsync: one socket, several messages per sendto, on a
// libuv worker) inside a namespace this test makes, checked with `ip route`: thousands of
// routes in one batch, a batch mixing good and bad ops that reports exactly the bad ones,
// replace changing a gateway, NetlinkRouteKernel.writeRoutes, and the addon's own checks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkRouteKernel } from '../../src/dataplane/linux/netlink-route-kernel.js';
import { TABBY_ROUTE_PROTOCOL } from '../../src/dataplane/legacy/route-kernel.js';
import { NativeError } from '../../src/native/errors.js';
import { loadBinding } from '../../src/native/loader.js';
import { NLMSG, NLM_F, RTM } from '../../src/native/netlink-constants.js';
import { decodeError, decodeMessages, encodeMessage, type NlMessage } from '../../src/native/netlink-codec.js';
import { encodeRouteReplace } from '../../src/native/netlink-route-codec.js';
import { Netlink, type RouteWrite } from '../../src/native/netlink.js';
import type { RouteBatchOp } from '../../src/native/netlink-routes.js';
import { currentNetns, mustRun, NetnsLab, run, type Netns, type VethEnd } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';

describe.skipIf(!isRoot)(needsRoot('batched netlink route writes in a namespace'), () => {
  let lab: NetnsLab;
  let ns: Netns;
  let peerNs: Netns;
  let dev: VethEnd;
  const nl = isRoot ? new Netlink() : (undefined as unknown as Netlink);
  let hostNetns: string;

  beforeAll(() => {
    hostNetns = currentNetns();
    lab = new NetnsLab();
    ns = lab.netns();
    peerNs = lab.netns();
    [dev] = lab.veth({ netns: ns, address: '10.253.0.1/24' }, { netns: peerNs, address: '10.253.0.2/24' });
  });

  afterAll(() => {
    lab?.cleanup();
    expect(lab?.leftovers() ?? []).toEqual([]);
  });

  afterEach(() => {
    if (ns) run(['ip', '-4', 'route', 'flush', 'table', 'all', 'proto', '84'], { netns: ns.name });
  });

  function ipRoutes(args: string[]): string[] {
    return mustRun(['ip', '-4', 'route', 'show', ...args], { netns: ns.name })
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  /** 20.a.b.0/24 for i = a*256 + b: thousands of distinct, valid destinations. */
  function dst(i: number): string {
    return `20.${(i >> 8) & 255}.${i & 255}.0/24`;
  }

  it('writes 5,000 routes in one batch (several chunks on one socket), then deletes them in another', async () => {
    const opts = { netns: ns.path };
    const ops: RouteBatchOp[] = [];
    for (let i = 0; i < 5000; i++) ops.push({ op: 'replace', route: { dst: dst(i), gateway: '10.253.0.2', ifName: dev.name, protocol: TABBY_ROUTE_PROTOCOL } });
    const results = await nl.routes.writeBatch(ops, opts);
    expect(results.filter((r) => r !== undefined)).toEqual([]);
    const lines = ipRoutes(['proto', '84']);
    expect(lines).toHaveLength(5000);
    expect(lines).toContain(`20.19.135.0/24 via 10.253.0.2 dev ${dev.name}`);
    expect(currentNetns()).toBe(hostNetns);

    const deleted = await nl.routes.writeBatch(
      ops.map(({ route }) => ({ op: 'delete', route: { dst: route.dst, protocol: TABBY_ROUTE_PROTOCOL } })),
      opts,
    );
    expect(deleted.filter((r) => r !== undefined)).toEqual([]);
    expect(ipRoutes(['proto', '84'])).toEqual([]);
  });

  it('keeps op order across the slices it hands over ahead of the kernel (a later op rewrites an earlier one)', async () => {
    const opts = { netns: ns.path };
    mustRun(['ip', 'addr', 'add', '10.254.0.1/24', 'dev', dev.name], { netns: ns.name });
    try {
      // 2 x 12,000 ops: four slices, the second gateway's ops in the later ones.
      const n = 12_000;
      const ops: RouteBatchOp[] = [];
      for (let i = 0; i < n; i++) ops.push({ op: 'create', route: { dst: dst(i), gateway: '10.253.0.2', protocol: TABBY_ROUTE_PROTOCOL } });
      for (let i = 0; i < n; i++) ops.push({ op: 'replace', route: { dst: dst(i), gateway: '10.254.0.7', protocol: TABBY_ROUTE_PROTOCOL } });
      const results = await nl.routes.writeBatch(ops, opts);
      expect(results.filter((r) => r !== undefined)).toEqual([]);
      const lines = ipRoutes(['proto', '84']);
      expect(lines).toHaveLength(n);
      expect(lines.filter((l) => !l.includes('via 10.254.0.7 '))).toEqual([]);
    } finally {
      run(['ip', 'addr', 'del', '10.254.0.1/24', 'dev', dev.name], { netns: ns.name });
    }
  });

  it('runs batches submitted back to back in submission order (the addon queues them)', async () => {
    const opts = { netns: ns.path };
    const creates: RouteBatchOp[] = [];
    for (let i = 0; i < 6000; i++) creates.push({ op: 'create', route: { dst: dst(i), gateway: '10.253.0.2', protocol: TABBY_ROUTE_PROTOCOL } });
    const deletes: RouteBatchOp[] = creates.map(({ route }) => ({ op: 'delete', route: { dst: route.dst, protocol: TABBY_ROUTE_PROTOCOL } }));
    for (let round = 0; round < 5; round++) {
      // Not awaited in between: both are with the addon at once, on two pool threads. Run
      // concurrently, the deletes would overtake creates and leave routes behind.
      const [created, deleted] = await Promise.all([nl.routes.writeBatch(creates, opts), nl.routes.writeBatch(deletes, opts)]);
      expect(created.filter((r) => r !== undefined)).toEqual([]);
      expect(deleted.filter((r) => r !== undefined)).toEqual([]);
      expect(ipRoutes(['proto', '84'])).toEqual([]);
    }
  });

  it('reports exactly the bad ops of a mixed batch and applies the rest', async () => {
    const opts = { netns: ns.path };
    // A slot held by someone else: create must not take it.
    mustRun(['ip', 'route', 'add', '10.80.9.0/24', 'via', '10.253.0.2', 'proto', 'static'], { netns: ns.name });
    try {
      const ops: RouteBatchOp[] = [
        { op: 'replace', route: { dst: '10.80.0.0/24', gateway: '10.253.0.2', protocol: 84 } },
        { op: 'replace', route: { dst: '10.80.1.0/24', gateway: '198.51.100.1', protocol: 84 } }, // gateway on no network
        { op: 'create', route: { dst: '10.80.2.0/24', type: 'blackhole', protocol: 84 } },
        { op: 'create', route: { dst: '10.80.9.0/24', type: 'blackhole', protocol: 84 } }, // slot taken
        { op: 'replace', route: { dst: '10.80.3.0/24', ifName: `${lab.prefix}nodev`, protocol: 84 } }, // no such device
        { op: 'delete', route: { dst: '10.80.4.0/24', protocol: 84 } }, // nothing there
        { op: 'replace', route: { dst: '10.80.5.0/24', ifName: dev.name, protocol: 84 } },
      ];
      const results = await nl.routes.writeBatch(ops, opts);
      expect(results.map((r) => r?.code)).toEqual([undefined, 'ENETUNREACH', undefined, 'EEXIST', 'ENODEV', undefined, undefined]);
      for (const r of results) if (r) expect(r).toBeInstanceOf(NativeError);
      expect(results[1]).toMatchObject({ op: 'RTM_NEWROUTE', errno: 101 });
      expect(results[1]?.message).toMatch(/^replace route 10\.80\.1\.0\/24 via 198\.51\.100\.1 proto 84 in network namespace .*: network is unreachable \(ENETUNREACH\); the kernel said: /);
      expect(results[3]).toMatchObject({ op: 'RTM_NEWROUTE', errno: 17 });
      expect(results[4]?.message).toContain(`interface ${lab.prefix}nodev does not exist in network namespace ${ns.path}`);
      expect(ipRoutes(['proto', '84'])).toEqual(['10.80.0.0/24 via 10.253.0.2 dev ' + dev.name, 'blackhole 10.80.2.0/24', `10.80.5.0/24 dev ${dev.name} scope link`]);
      // The foreign route is untouched.
      expect(ipRoutes(['proto', 'static'])).toEqual([`10.80.9.0/24 via 10.253.0.2 dev ${dev.name}`]);
    } finally {
      run(['ip', 'route', 'del', '10.80.9.0/24', 'proto', 'static'], { netns: ns.name });
    }
  });

  it('replace in a batch really changes the gateway', async () => {
    const opts = { netns: ns.path };
    mustRun(['ip', 'addr', 'add', '10.254.0.1/24', 'dev', dev.name], { netns: ns.name });
    try {
      const route = (gateway: string): RouteWrite => ({ dst: '10.81.0.0/24', gateway, protocol: 84 });
      expect(await nl.routes.writeBatch([{ op: 'replace', route: route('10.253.0.2') }], opts)).toEqual([undefined]);
      expect(ipRoutes(['proto', '84'])).toEqual([`10.81.0.0/24 via 10.253.0.2 dev ${dev.name}`]);
      expect(await nl.routes.writeBatch([{ op: 'replace', route: route('10.254.0.7') }], opts)).toEqual([undefined]);
      expect(ipRoutes(['proto', '84'])).toEqual([`10.81.0.0/24 via 10.254.0.7 dev ${dev.name}`]);
    } finally {
      run(['ip', 'addr', 'del', '10.254.0.1/24', 'dev', dev.name], { netns: ns.name });
    }
  });

  it('implements RouteKernel.writeRoutes: create claims a free slot, deletes match dst and protocol', async () => {
    const kernel = new NetlinkRouteKernel({ netns: ns.path });
    const results = await kernel.writeRoutes([
      { op: 'create', route: { dst: '10.82.0.0/26', type: 'blackhole', protocol: TABBY_ROUTE_PROTOCOL } },
      { op: 'replace', route: { dst: '10.82.1.0/26', type: 'unicast', ifName: dev.name, protocol: TABBY_ROUTE_PROTOCOL } },
      { op: 'create', route: { dst: '10.82.0.0/26', type: 'blackhole', protocol: TABBY_ROUTE_PROTOCOL } },
    ]);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeUndefined();
    expect(results[2]).toMatchObject({ errno: 17 });
    expect(await kernel.listRoutes({ protocol: 84 })).toEqual([
      { dst: '10.82.0.0/26', type: 'blackhole', scope: 'universe', protocol: 84, table: 254 },
      { dst: '10.82.1.0/26', type: 'unicast', ifName: dev.name, ifindex: lab.ifindexOf(dev), scope: 'link', protocol: 84, table: 254 },
    ]);
    // The delete carries a gateway that does not match: it still removes our route in the slot.
    const gone = await kernel.writeRoutes([
      { op: 'delete', route: { dst: '10.82.0.0/26', type: 'blackhole', protocol: 84 } },
      { op: 'delete', route: { dst: '10.82.1.0/26', type: 'unicast', gateway: '10.253.0.99', protocol: 84 } },
      { op: 'delete', route: { dst: '10.82.1.0/26', type: 'unicast', protocol: 84 } },
    ]);
    expect(gone).toEqual([undefined, undefined, undefined]);
    expect(await kernel.listRoutes({ protocol: 84 })).toEqual([]);
  });

  it('the addon refuses a malformed batch before sending anything, naming the message', async () => {
    const binding = loadBinding();
    const msg = (seq: number, flags = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE, type: number = RTM.NEWROUTE) =>
      encodeMessage({ type, flags, seq, ...encodeRouteReplace({ dst: '10.83.0.0/24', type: 'blackhole', protocol: 84 }) });
    const opts = { netns: ns.path };
    // netlinkBatchAsync checks synchronously: the throw happens before any promise exists.
    const sync = (bytes: Buffer): NativeError => {
      try {
        void binding.netlinkBatchAsync(bytes, opts);
      } catch (err) {
        return err as NativeError;
      }
      throw new Error('the addon accepted a malformed batch');
    };
    expect(sync(Buffer.alloc(0))).toMatchObject({ code: 'EINVAL', message: expect.stringContaining('empty') });
    const truncated = Buffer.concat([msg(1), msg(2).subarray(0, 20)]);
    expect(sync(truncated)).toMatchObject({ code: 'EINVAL', message: expect.stringContaining('message #1 (at byte ') });
    expect(sync(Buffer.concat([msg(1), msg(2, NLM_F.REQUEST | NLM_F.CREATE)])).message).toMatch(/message #1 .*NLM_F_ACK/);
    expect(sync(Buffer.concat([msg(1), msg(1)])).message).toMatch(/message #1 .*repeats sequence number 1 of message #0/);
    expect(sync(Buffer.concat([msg(5), msg(6), msg(5)])).message).toMatch(/message #2 .*repeats sequence number 5 of message #0/);
    expect(sync(Buffer.concat([msg(1), msg(2), msg(4)])).message).toMatch(/message #2 .*has sequence number 4, not 3; a batch's messages are numbered consecutively/);
    expect(sync(msg(1, NLM_F.REQUEST | NLM_F.ACK | NLM_F.DUMP, RTM.GETROUTE)).message).toMatch(/message #0 .*is a dump/);
    // None of it reached the kernel.
    expect(ipRoutes(['proto', '84'])).toEqual([]);
    // A well-formed batch goes through, and REPLACE|EXCL on a NEW message is no dump. Only
    // what failed is answered: the create of the slot the first message just filled.
    const reply = await binding.netlinkBatchAsync(Buffer.concat([msg(1), msg(2, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL)]), opts);
    const replies = decodeMessages(reply);
    expect(replies.map((m) => [m.type, m.seq])).toEqual([[NLMSG.ERROR, 2]]);
    expect(decodeError(replies[0] as NlMessage).errno).toBe(17);
    expect(ipRoutes(['proto', '84'])).toEqual(['blackhole 10.83.0.0/24']);
    // Numbering may wrap past 2^32 - 1, like the kernel's u32; a batch that succeeds gets an empty reply.
    const wrapped = await binding.netlinkBatchAsync(Buffer.concat([msg(0xffffffff), msg(0), msg(1)]), opts);
    expect(wrapped.length).toBe(0);
  });

  it('fails as a whole for a namespace that does not exist, and stays in its own namespace', async () => {
    const missing = `/run/netns/${lab.prefix}missing`;
    const err = await nl.routes.writeBatch([{ op: 'replace', route: { dst: '10.84.0.0/24', type: 'blackhole', protocol: 84 } }], { netns: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ op: 'setns', code: 'ENOENT' });
    expect(currentNetns()).toBe(hostNetns);
  });
});
