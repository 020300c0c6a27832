// Bad input, each with a typed NativeError: op, errno, code and a message a person can act
// on. Some are refused by the TypeScript checks, some by the kernel through the addon.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { counterKey, counterValue } from '../../src/dataplane/bpf/codecs/counters.js';
import { BpfMap, BpfObject, errnoName, Interfaces, loadBinding, NativeError, Tc } from '../../src/native/index.js';
import { currentNetns, mustRun } from '../support/netns.js';
import { isRoot, needsRoot } from '../support/root.js';
import { countersObject, ensureBpffs, newPinDir, removePinDir, sweepStalePins } from './support.js';

function caught(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NativeError);
    return err as NativeError;
  }
  throw new Error('expected a NativeError, nothing was thrown');
}

function expectError(fn: () => unknown, want: { op: string; code: string; message: RegExp }): NativeError {
  const e = caught(fn);
  expect({ op: e.op, code: e.code }).toEqual({ op: want.op, code: want.code });
  expect(errnoName(e.errno)).toBe(want.code);
  expect(e.message).toMatch(want.message);
  return e;
}

describe.skipIf(!isRoot)(needsRoot('typed errors from the native layer'), () => {
  let obj: BpfObject;
  let dir: string;
  let hostNetns: string;
  const textFile = join(tmpdir(), `tby${process.pid}-not-bpf.txt`);

  beforeAll(() => {
    ensureBpffs();
    sweepStalePins();
    hostNetns = currentNetns();
    dir = newPinDir();
    obj = BpfObject.open(countersObject(), { pinRoot: dir });
    writeFileSync(textFile, 'this is a text file, not a BPF object\n');
  });

  afterAll(() => {
    obj?.unpinMaps();
    obj?.close();
    if (dir) removePinDir(dir);
  });

  it('object file missing', () => {
    expectError(() => BpfObject.open('/nonexistent/tabby/missing.bpf.o'), {
      op: 'bpf_object__open_file',
      code: 'ENOENT',
      message: /cannot open BPF object \/nonexistent\/tabby\/missing\.bpf\.o.*does not exist.*npm run build/s,
    });
  });

  it('a file that is not BPF', () => {
    const e = expectError(() => BpfObject.open(textFile), {
      op: 'bpf_object__open_file',
      code: 'ENOEXEC',
      message: /not a BPF ELF object/,
    });
    expect(e.message).toMatch(/libbpf said:\n.*not a proper ELF object/);
  });

  it('unknown const volatile global', () => {
    expectError(() => BpfObject.open(countersObject(), { pinRoot: dir, globals: { drop_ipv6_proto: 1 } }), {
      op: 'bpf_map__set_initial_value',
      code: 'ENOENT',
      message: /no const volatile global 'drop_ipv6_proto'; it has: drop_ipv4_proto/,
    });
  });

  it('program name unknown', () => {
    expectError(() => obj.program('count_sideways'), {
      op: 'bpf_object__find_program_by_name',
      code: 'ENOENT',
      message: /no program 'count_sideways'; it has: count_ingress, count_egress/,
    });
  });

  it('map name unknown', () => {
    expectError(() => obj.map('routes'), {
      op: 'bpf_object__find_map_by_name',
      code: 'ENOENT',
      message: /no map 'routes'; it has: counters/,
    });
  });

  it('interface missing', () => {
    expectError(() => new Interfaces().index('tbynosuchif'), {
      op: 'if_nametoindex',
      code: 'ENODEV',
      message: /interface 'tbynosuchif' not found.*ip link/,
    });
    expectError(() => new Tc().attach({ ifindex: 999_999, direction: 'ingress' }, obj.program('count_ingress')), {
      op: 'bpf_tc_hook_create',
      code: 'ENODEV',
      message: /ifindex 999999 ingress.*no interface has this index/,
    });
  });

  it('namespace path missing, or not a namespace', () => {
    expectError(() => new Interfaces().index('lo', { netns: '/run/netns/tby-no-such-netns' }), {
      op: 'setns',
      code: 'ENOENT',
      message: /network namespace \/run\/netns\/tby-no-such-netns cannot be opened.*does not exist/,
    });
    expectError(() => new Tc().list({ ifindex: 1, direction: 'egress', netns: '/proc/999999999/ns/net' }), {
      op: 'setns',
      code: 'ENOENT',
      message: /\/proc\/999999999\/ns\/net/,
    });
    expectError(() => new Interfaces().index('lo', { netns: textFile }), {
      op: 'setns',
      code: 'EINVAL',
      message: /not a network namespace file/,
    });
    // Every failure above left the JS thread in its own namespace.
    expect(currentNetns()).toBe(hostNetns);
  });

  it('key of the wrong size', () => {
    expectError(() => obj.map('counters').lookupPerCpu(Buffer.alloc(4)), {
      op: 'bpf_map_lookup_elem',
      code: 'EINVAL',
      message: /map 'counters': key must be 8 bytes, got 4/,
    });
  });

  it('value of the wrong size', () => {
    const map = obj.map('counters');
    const key = counterKey.encode({ ifindex: 1, direction: 0 });
    expectError(() => map.update(key, Array.from({ length: map.cpus }, () => Buffer.alloc(counterValue.size - 1))), {
      op: 'bpf_map_update_elem',
      code: 'EINVAL',
      message: /value\[0\] must be 32 bytes, got 31/,
    });
  });

  it('the native layer checks sizes too (no TypeScript in between)', () => {
    const raw = loadBinding().mapOpenPinned(join(dir, 'counters'));
    try {
      expectError(() => raw.lookup(Buffer.alloc(3)), { op: 'bpf_map_lookup_elem', code: 'EINVAL', message: /key must be a Buffer of 8 bytes/ });
      expectError(() => raw.update(Buffer.alloc(8), Buffer.alloc(32)), { op: 'bpf_map_update_elem', code: 'EINVAL', message: /value must be a Buffer of \d+ bytes/ });
    } finally {
      raw.close();
    }
  });

  it('test run with empty data', () => {
    expectError(() => obj.program('count_ingress').testRun({ data: Buffer.alloc(0) }), {
      op: 'bpf_prog_test_run_opts',
      code: 'EINVAL',
      message: /test run data must be at least 1 bytes, got 0 \(empty\)/,
    });
    // The addon refuses it as well, and the kernel refuses a packet shorter than Ethernet.
    const fd = obj.program('count_ingress').fd;
    expectError(() => loadBinding().progTestRun(fd, { data: Buffer.alloc(0) }), { op: 'bpf_prog_test_run_opts', code: 'EINVAL', message: /non-empty/ });
    expectError(() => obj.program('count_ingress').testRun({ data: Buffer.alloc(5) }), {
      op: 'bpf_prog_test_run_opts',
      code: 'EINVAL',
      message: /Ethernet header/,
    });
  });

  it('update flags: NOEXIST on an existing key, EXIST on a missing one', () => {
    const map = obj.map('counters');
    const key = counterKey.encode({ ifindex: 4242, direction: 1 });
    const zero = Array.from({ length: map.cpus }, () => Buffer.alloc(counterValue.size));
    expectError(() => map.update(key, zero, { flag: 'exist' }), { op: 'bpf_map_update_elem', code: 'ENOENT', message: /flags say EXIST/ });
    map.update(key, zero, { flag: 'noexist' });
    expectError(() => map.update(key, zero, { flag: 'noexist' }), { op: 'bpf_map_update_elem', code: 'EEXIST', message: /flags say NOEXIST/ });
    expect(map.delete(key)).toBe(true);
    expect(map.delete(key)).toBe(false);
  });

  it('nothing pinned at a path', () => {
    expectError(() => BpfMap.openPinned(join(dir, 'nothing-here')), {
      op: 'bpf_obj_get',
      code: 'ENOENT',
      message: /cannot open pinned map .*nothing-here.*nothing is pinned there/,
    });
  });

  it('a pinned map of another layout under the same name', () => {
    const other = newPinDir();
    try {
      mkdirSync(other);
      mustRun(['bpftool', 'map', 'create', join(other, 'counters'), 'type', 'percpu_hash', 'key', '8', 'value', '16', 'entries', '4', 'name', 'counters']);
      const e = expectError(() => BpfObject.open(countersObject(), { pinRoot: other }), {
        op: 'bpf_object__load',
        code: 'EINVAL',
        message: /cannot load BPF object .*counters\.bpf\.o.*pinned map with the same name may have a different type or size/s,
      });
      expect(e.message).toMatch(/libbpf said:[\s\S]*counters/);
    } finally {
      removePinDir(other);
    }
  });

  it('a program pinned where a map is expected', () => {
    const progPin = join(dir, 'prog');
    obj.program('count_ingress').pin(progPin);
    try {
      expectError(() => BpfMap.openPinned(progPin), { op: 'bpf_obj_get_info_by_fd', code: 'EINVAL', message: /is not a BPF map \(it is a prog\)/ });
    } finally {
      loadBinding().objUnpin(progPin);
    }
  });
});
