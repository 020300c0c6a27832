// Links and addresses over our own rtnetlink, in namespaces this test makes: a veth pair born
// across two namespaces, get/list with kind and MAC, up/down, MAC, MTU, rename, move to a
// namespace (by path and by fd), IPv4 addresses, delete; plus /proc/sys access per namespace.
import { closeSync, openSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Sysctl, SysctlError } from '../../src/dataplane/linux/sysctl.js';
import { NativeError } from '../../src/native/errors.js';
import { Netlink } from '../../src/native/netlink.js';
import { currentNetns, mustRun, NetnsLab, type Netns } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';

let counter = 0;

describe.skipIf(!isRoot)(needsRoot('netlink links and addresses in namespaces'), () => {
  let lab: NetnsLab;
  let a: Netns;
  let b: Netns;
  let c: Netns;
  const nl = isRoot ? new Netlink() : (undefined as unknown as Netlink);
  let hostNetns: string;

  beforeAll(() => {
    hostNetns = currentNetns();
    lab = new NetnsLab();
    a = lab.netns();
    b = lab.netns();
    c = lab.netns();
  });

  afterAll(() => {
    lab?.cleanup();
    expect(lab?.leftovers() ?? []).toEqual([]);
  });

  /** Unique link names inside this test's namespaces (the namespaces go away with the lab). */
  function names(): [string, string] {
    counter += 1;
    return [`tby${process.pid}l${counter}a`.slice(-15), `tby${process.pid}l${counter}b`.slice(-15)];
  }

  function ipLink(ns: Netns, name: string): string {
    return mustRun(['ip', '-o', 'link', 'show', 'dev', name], { netns: ns.name });
  }

  it('creates a veth whose peer is born in another namespace, and reads both ends back', () => {
    const [x, y] = names();
    const pair = nl.links.createVeth({ name: x, peerName: y, peerNetns: b.path, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400 }, { netns: a.path });
    expect(pair.link).toMatchObject({ name: x, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400, kind: 'veth', up: false });
    expect(pair.peer).toMatchObject({ name: y, mtu: 1400, kind: 'veth' });
    expect(pair.peer.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(ipLink(a, x)).toContain('link/ether ee:ee:ee:ee:ee:ee');
    expect(ipLink(b, y)).toContain(`link/ether ${pair.peer.mac}`);
    // The peer never appeared in a.
    expect(nl.links.get(y, { netns: a.path })).toBeNull();
    expect(nl.links.get(pair.link.ifindex, { netns: a.path })?.name).toBe(x);
    expect(nl.links.list({ netns: a.path }).map((l) => l.name).sort()).toEqual([x, 'lo'].sort());
    expect(nl.links.delete(x, { netns: a.path })).toBe(true);
    expect(nl.links.get(y, { netns: b.path })).toBeNull();
    expect(nl.links.delete(x, { netns: a.path })).toBe(false);
    expect(currentNetns()).toBe(hostNetns);
  });

  it('deletes on a libuv worker thread, in the namespace asked, with the same results and errors as the blocking call', async () => {
    const [x, y] = names();
    nl.links.createVeth({ name: x, peerName: y, peerNetns: b.path }, { netns: a.path });
    expect(await nl.links.deleteAsync(x, { netns: a.path })).toBe(true);
    expect(nl.links.get(x, { netns: a.path })).toBeNull();
    expect(nl.links.get(y, { netns: b.path })).toBeNull();
    expect(await nl.links.deleteAsync(x, { netns: a.path })).toBe(false);
    await expect(nl.links.deleteAsync(x, { netns: `/run/netns/${lab.prefix}gone` })).rejects.toMatchObject({ op: 'setns', code: 'ENOENT' });
    // The worker thread went back home: a plain request from here sees this namespace, and so does the JS thread.
    expect(currentNetns()).toBe(hostNetns);
  });

  it('sets up/down, MAC and MTU, renames and moves links between namespaces', () => {
    const [x, y] = names();
    nl.links.createVeth({ name: x, peerName: y }, { netns: a.path });
    const opts = { netns: a.path };
    nl.links.setUp(x, true, opts);
    nl.links.setUp(y, true, opts);
    expect(nl.links.get(x, opts)).toMatchObject({ up: true, lowerUp: true });
    expect(ipLink(a, x)).toMatch(/<[^>]*\bUP\b[^>]*LOWER_UP/);
    nl.links.setMac(x, '02:00:00:00:00:2a', opts);
    nl.links.setMtu(x, 9000, opts);
    expect(nl.links.get(x, opts)).toMatchObject({ mac: '02:00:00:00:00:2a', mtu: 9000 });

    nl.links.setUp(x, false, opts);
    const renamed = `${x.slice(0, 13)}rn`;
    nl.links.rename(x, renamed, opts);
    expect(nl.links.get(x, opts)).toBeNull();
    expect(nl.links.get(renamed, opts)).toMatchObject({ up: false, mac: '02:00:00:00:00:2a' });

    nl.links.moveToNetns(renamed, b.path, opts);
    expect(nl.links.get(renamed, opts)).toBeNull();
    expect(ipLink(b, renamed)).toContain(renamed);

    const fd = openSync(c.path, 'r');
    try {
      nl.links.moveToNetns(y, { fd }, opts);
    } finally {
      closeSync(fd);
    }
    expect(nl.links.get(y, { netns: c.path })).toMatchObject({ name: y, kind: 'veth' });
    expect(nl.links.delete(renamed, { netns: b.path })).toBe(true);
    expect(nl.links.get(y, { netns: c.path })).toBeNull();
  });

  it('adds, lists and deletes IPv4 addresses; adding twice is fine, deleting twice says false', () => {
    const [x, y] = names();
    nl.links.createVeth({ name: x, peerName: y }, { netns: a.path });
    const opts = { netns: a.path };
    nl.addresses.add(x, '10.253.0.5/32', opts);
    nl.addresses.add(x, '10.253.1.1/24', opts);
    nl.addresses.add(x, '10.253.1.1/24', opts);
    expect(nl.addresses.list({ ...opts, link: x }).map((ad) => ad.cidr).sort()).toEqual(['10.253.0.5/32', '10.253.1.1/24']);
    expect(mustRun(['ip', '-4', '-o', 'addr', 'show', 'dev', x], { netns: a.name })).toMatch(/10\.253\.0\.5\/32/);
    expect(nl.addresses.delete(x, '10.253.0.5/32', opts)).toBe(true);
    expect(nl.addresses.delete(x, '10.253.0.5/32', opts)).toBe(false);
    expect(nl.addresses.list({ ...opts, link: x }).map((ad) => ad.cidr)).toEqual(['10.253.1.1/24']);
    nl.links.delete(x, opts);
  });

  it('throws typed errors: missing interface, name taken, missing namespace', () => {
    const opts = { netns: a.path };
    const errorOf = (fn: () => unknown): NativeError => {
      try {
        fn();
      } catch (err) {
        return err as NativeError;
      }
      throw new Error('expected a failure');
    };
    const missing = errorOf(() => nl.links.setUp('tbynosuchlink', true, opts));
    expect(missing).toBeInstanceOf(NativeError);
    expect(missing).toMatchObject({ op: 'RTM_SETLINK', code: 'ENODEV', errno: 19 });
    expect(errorOf(() => nl.addresses.add('tbynosuchlink', '10.0.0.1/32', opts))).toMatchObject({ code: 'ENODEV' });

    const [x, y] = names();
    nl.links.createVeth({ name: x, peerName: y }, opts);
    const taken = errorOf(() => nl.links.createVeth({ name: x, peerName: `${y.slice(0, 13)}zz` }, opts));
    expect(taken).toMatchObject({ op: 'RTM_NEWLINK', code: 'EEXIST' });
    expect(taken.message).toMatch(/already exists/);
    nl.links.delete(x, opts);

    const ns = `/run/netns/${lab.prefix}gone`;
    expect(errorOf(() => nl.links.createVeth({ name: x, peerName: y, peerNetns: ns }, opts))).toMatchObject({ code: 'ENOENT' });
    expect(nl.links.get(x, opts)).toBeNull();
    expect(errorOf(() => nl.links.list({ netns: ns }))).toMatchObject({ op: 'setns', code: 'ENOENT' });
  });

  it('reads and writes /proc/sys per namespace, without touching its own', () => {
    const inA = new Sysctl({ netns: a.path });
    const here = new Sysctl();
    const before = here.read('net.ipv4.ip_forward');
    inA.write('net.ipv4.ip_forward', before === '1' ? 0 : 1);
    expect(inA.read(['net', 'ipv4', 'ip_forward'])).toBe(before === '1' ? '0' : '1');
    expect(mustRun(['cat', '/proc/sys/net/ipv4/ip_forward'], { netns: a.name }).trim()).toBe(before === '1' ? '0' : '1');
    expect(here.read('/proc/sys/net/ipv4/ip_forward')).toBe(before);
    expect(currentNetns()).toBe(hostNetns);

    let caught: unknown;
    try {
      inA.write(['net', 'ipv4', 'conf', 'tbynosuchlink', 'proxy_arp'], 1);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SysctlError);
    expect(caught).toMatchObject({ code: 'SYSCTL_FAILED', op: 'write', errno: 2 });
    expect((caught as Error).message).toMatch(/no such setting/);
    expect(() => here.read('net.ipv4.../../etc')).toThrow(SysctlError);
  });
});
