import { describe, expect, it } from 'vitest';

import type { RawBpfObject } from './binding.js';
import { errnoName, NativeError } from './errors.js';
import { fakeMapHandle, forbiddenBinding, NativeCalled } from './fake-binding.js';
import { Interfaces } from './interfaces.js';
import { BpfMap } from './map.js';
import { BpfObject } from './object.js';
import { Tc } from './tc.js';
import { encodeGlobal } from './validate.js';

/** Runs fn, expects a NativeError with these fields, and returns it. */
function expectNativeError(fn: () => unknown, want: { op: string; code: string; message?: RegExp }): NativeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(NativeError);
  const e = caught as NativeError;
  expect(e.op).toBe(want.op);
  expect(e.code).toBe(want.code);
  expect(errnoName(e.errno)).toBe(want.code);
  if (want.message) expect(e.message).toMatch(want.message);
  return e;
}

describe('NativeError', () => {
  it('derives code from errno', () => {
    const e = new NativeError('bpf_map_update_elem', 7, 'full');
    expect(e.code).toBe('E2BIG');
    expect(e.name).toBe('NativeError');
    expect(e.errno).toBe(7);
  });
});

describe('BpfMap argument checks (no native call)', () => {
  const map = new BpfMap(fakeMapHandle({ name: 'counters', keySize: 8, valueSize: 32 }), 4);
  const percpu = new BpfMap(fakeMapHandle({ name: 'pc', keySize: 4, valueSize: 12, perCpu: true }), 4);

  it('refuses a key of the wrong size', () => {
    expectNativeError(() => map.lookup(Buffer.alloc(4)), { op: 'bpf_map_lookup_elem', code: 'EINVAL', message: /key must be 8 bytes, got 4/ });
    expectNativeError(() => map.delete(Buffer.alloc(9)), { op: 'bpf_map_delete_elem', code: 'EINVAL' });
  });

  it('refuses a key that is not a Buffer', () => {
    expectNativeError(() => map.lookup('abc' as unknown as Buffer), { op: 'bpf_map_lookup_elem', code: 'EINVAL', message: /Buffer of 8 bytes/ });
  });

  it('refuses a value of the wrong size', () => {
    expectNativeError(() => map.update(Buffer.alloc(8), Buffer.alloc(31)), {
      op: 'bpf_map_update_elem',
      code: 'EINVAL',
      message: /value must be 32 bytes, got 31/,
    });
  });

  it('refuses an unknown update flag', () => {
    expectNativeError(() => map.update(Buffer.alloc(8), Buffer.alloc(32), { flag: 'sometimes' as never }), {
      op: 'bpf_map_update_elem',
      code: 'EINVAL',
      message: /'any', 'noexist' or 'exist'/,
    });
  });

  it('wants one value per CPU for per-CPU maps', () => {
    expectNativeError(() => percpu.update(Buffer.alloc(4), Buffer.alloc(12)), {
      op: 'bpf_map_update_elem',
      code: 'EINVAL',
      message: /array of 4 Buffers/,
    });
    expectNativeError(() => percpu.update(Buffer.alloc(4), [Buffer.alloc(12), Buffer.alloc(12), Buffer.alloc(12), Buffer.alloc(11)]), {
      op: 'bpf_map_update_elem',
      code: 'EINVAL',
      message: /value\[3\] must be 12 bytes/,
    });
    expectNativeError(() => percpu.lookup(Buffer.alloc(4)), { op: 'bpf_map_lookup_elem', code: 'EINVAL', message: /lookupPerCpu/ });
    expectNativeError(() => map.lookupPerCpu(Buffer.alloc(8)), { op: 'bpf_map_lookup_elem', code: 'EINVAL', message: /not per-CPU/ });
  });

  it('checks every entry of a batch', () => {
    expectNativeError(() => map.updateBatch([]), { op: 'bpf_map_update_batch', code: 'EINVAL' });
    expectNativeError(() => map.updateBatch([{ key: Buffer.alloc(8), value: Buffer.alloc(32) }, { key: Buffer.alloc(7), value: Buffer.alloc(32) }]), {
      op: 'bpf_map_update_batch',
      code: 'EINVAL',
      message: /entries\[1\]\.key/,
    });
    expectNativeError(() => map.deleteBatch([Buffer.alloc(3)]), { op: 'bpf_map_delete_batch', code: 'EINVAL' });
    expectNativeError(() => map.lookupBatch({ batchSize: 0 }), { op: 'bpf_map_lookup_batch', code: 'EINVAL' });
  });

  it('packs per-CPU values with an 8-byte stride and splits them back', () => {
    let written: Buffer | undefined;
    const handle = fakeMapHandle(
      { keySize: 4, valueSize: 12, perCpu: true },
      {
        update: (_k, v) => {
          written = v;
        },
        lookup: () => written ?? null,
      },
    );
    const m = new BpfMap(handle, 2);
    m.update(Buffer.alloc(4), [Buffer.alloc(12, 1), Buffer.alloc(12, 2)]);
    expect(written?.length).toBe(32);
    expect(written?.subarray(12, 16)).toEqual(Buffer.alloc(4));
    expect(m.lookupPerCpu(Buffer.alloc(4))).toEqual([Buffer.alloc(12, 1), Buffer.alloc(12, 2)]);
  });

  it('says EBADF after close', () => {
    const m = new BpfMap(fakeMapHandle({}, { close: () => undefined }), 1);
    m.close();
    expectNativeError(() => m.lookup(Buffer.alloc(8)), { op: 'bpf_map_lookup_elem', code: 'EBADF', message: /closed/ });
  });

  it('refuses an empty pin path', () => {
    expectNativeError(() => BpfMap.openPinned('', forbiddenBinding()), { op: 'bpf_obj_get', code: 'EINVAL' });
  });
});

describe('BpfObject argument checks', () => {
  it('refuses an empty path without opening anything', () => {
    expectNativeError(() => BpfObject.open('', {}, forbiddenBinding()), { op: 'bpf_object__open_file', code: 'EINVAL' });
  });

  /** A raw object whose load must not be reached. */
  function fakeObjectClass(closed: { value: boolean }) {
    return class {
      path = '/x/counters.bpf.o';
      name = 'counters';
      loaded = false;
      rodataVariables() {
        return [{ name: 'drop_ipv4_proto', offset: 0, size: 1 }];
      }
      load(): void {
        throw new NativeCalled('load');
      }
      close() {
        closed.value = true;
      }
    } as unknown as new () => RawBpfObject;
  }

  it('refuses an unknown global before load, and closes the opened object', () => {
    const closed = { value: false };
    const binding = forbiddenBinding({ BpfObject: fakeObjectClass(closed) });
    expectNativeError(() => BpfObject.open('/x/counters.bpf.o', { globals: { nope: 1 } }, binding), {
      op: 'bpf_map__set_initial_value',
      code: 'ENOENT',
      message: /no const volatile global 'nope'; it has: drop_ipv4_proto/,
    });
    expect(closed.value).toBe(true);
  });

  it('refuses a global value that does not fit', () => {
    const binding = forbiddenBinding({ BpfObject: fakeObjectClass({ value: false }) });
    expectNativeError(() => BpfObject.open('/x/counters.bpf.o', { globals: { drop_ipv4_proto: 256 } }, binding), {
      op: 'bpf_map__set_initial_value',
      code: 'ERANGE',
    });
    expectNativeError(() => BpfObject.open('/x/counters.bpf.o', { globals: { drop_ipv4_proto: Buffer.alloc(2) } }, binding), {
      op: 'bpf_map__set_initial_value',
      code: 'EINVAL',
    });
  });

  it('finds programs by name and refuses an empty test run', () => {
    const binding = forbiddenBinding({
      BpfObject: class {
        path = '/x/o.bpf.o';
        name = 'o';
        loaded = true;
        rodataVariables() {
          return [];
        }
        load() {}
        programs() {
          return [{ name: 'count_ingress', section: 'tc', type: 'sched_cls', fd: 30, id: 5 }];
        }
        maps() {
          return [];
        }
        close() {}
      } as unknown as new () => RawBpfObject,
    });
    const obj = BpfObject.open('/x/o.bpf.o', {}, binding);
    expectNativeError(() => obj.program('missing'), { op: 'bpf_object__find_program_by_name', code: 'ENOENT', message: /it has: count_ingress/ });
    expectNativeError(() => obj.map('missing'), { op: 'bpf_object__find_map_by_name', code: 'ENOENT' });
    const prog = obj.program('count_ingress');
    expectNativeError(() => prog.testRun({ data: Buffer.alloc(0) }), { op: 'bpf_prog_test_run_opts', code: 'EINVAL', message: /empty/ });
    expectNativeError(() => prog.testRun({ data: Buffer.alloc(20), repeat: 0 }), { op: 'bpf_prog_test_run_opts', code: 'EINVAL' });
    obj.close();
    expectNativeError(() => prog.testRun({ data: Buffer.alloc(20) }), { op: 'bpf_prog_test_run_opts', code: 'EBADF' });
  });
});

describe('encodeGlobal', () => {
  it('encodes numbers, bigints and booleans in the global size', () => {
    expect(encodeGlobal('op', 'x', 17, 1)).toEqual(Buffer.from([17]));
    expect(encodeGlobal('op', 'x', true, 4).length).toBe(4);
    expect(encodeGlobal('op', 'x', -1, 2)).toEqual(Buffer.from([0xff, 0xff]));
    expect(encodeGlobal('op', 'x', 2n ** 64n - 1n, 8)).toEqual(Buffer.alloc(8, 0xff));
  });
  it('refuses values that do not fit and odd sizes', () => {
    expect(() => encodeGlobal('op', 'x', 70000, 2)).toThrow(NativeError);
    expect(() => encodeGlobal('op', 'x', 1.5, 4)).toThrow(/integer/);
    expect(() => encodeGlobal('op', 'x', 1, 3)).toThrow(/Buffer/);
  });
});

describe('Tc and Interfaces argument checks (no native call)', () => {
  const tc = new Tc(forbiddenBinding());
  const ifs = new Interfaces(forbiddenBinding());
  const prog = { fd: 10 };

  it('refuses a bad direction', () => {
    expectNativeError(() => tc.attach({ ifindex: 3, direction: 'sideways' as never }, prog), { op: 'bpf_tc_attach', code: 'EINVAL', message: /'ingress' or 'egress'/ });
  });
  it('refuses a target without an interface', () => {
    expectNativeError(() => tc.attach({ direction: 'ingress' }, prog), { op: 'bpf_tc_attach', code: 'EINVAL', message: /ifindex or an interface/ });
  });
  it('refuses out-of-range handles and priorities', () => {
    expectNativeError(() => tc.attach({ ifindex: 3, direction: 'ingress' }, prog, { priority: 70000 }), { op: 'bpf_tc_attach', code: 'EINVAL' });
    expectNativeError(() => tc.detach({ ifindex: 3, direction: 'egress', handle: 0, priority: 1 }), { op: 'bpf_tc_detach', code: 'EINVAL' });
    expectNativeError(() => tc.query({ ifindex: 0, direction: 'egress', handle: 1, priority: 1 }), { op: 'bpf_tc_query', code: 'EINVAL' });
  });
  it('wants replace to name the filter', () => {
    expectNativeError(() => tc.attach({ ifindex: 3, direction: 'ingress' }, prog, { replace: true }), { op: 'bpf_tc_attach', code: 'EINVAL', message: /replace/ });
  });
  it('refuses a relative namespace path and bad interface names', () => {
    expectNativeError(() => ifs.index('eth0', { netns: 'run/netns/x' }), { op: 'if_nametoindex', code: 'EINVAL', message: /absolute/ });
    expectNativeError(() => ifs.index('a-name-longer-than-15'), { op: 'if_nametoindex', code: 'EINVAL' });
    expectNativeError(() => ifs.index('bad/name'), { op: 'if_nametoindex', code: 'EINVAL' });
    expectNativeError(() => tc.list({ interface: '', direction: 'ingress' }), { op: 'RTM_GETTFILTER', code: 'EINVAL' });
  });
  it('resolves an interface name in the same namespace before attaching', () => {
    const calls: unknown[] = [];
    const t = new Tc(
      forbiddenBinding({
        ifIndex: (name, opts) => {
          calls.push(['ifIndex', name, opts]);
          return 12;
        },
        tcAttach: (ifindex, fd, opts) => {
          calls.push(['tcAttach', ifindex, fd, opts]);
          return { handle: 1, priority: 1, progId: 77 };
        },
      }),
    );
    const a = t.attach({ interface: 'veth0', direction: 'egress', netns: '/run/netns/x' }, prog);
    expect(a).toEqual({ ifindex: 12, direction: 'egress', netns: '/run/netns/x', handle: 1, priority: 1, progId: 77 });
    expect(calls).toEqual([
      ['ifIndex', 'veth0', { netns: '/run/netns/x' }],
      ['tcAttach', 12, 10, { direction: 'egress', netns: '/run/netns/x' }],
    ]);
  });
});
