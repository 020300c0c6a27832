// Fakes of the raw binding for unit tests (STYLE.md 4: inject the kernel): every native entry
// point throws unless a test gives it an implementation, so a test proves that validation
// happened before native code.
import type { RawBinding, RawMapHandle, RawMapInfo } from './binding.js';

export class NativeCalled extends Error {
  constructor(what: string) {
    super(`native code was called: ${what}`);
  }
}

export function forbiddenBinding(overrides: Partial<RawBinding> = {}): RawBinding {
  return new Proxy(overrides as RawBinding, {
    get(target, prop: string) {
      if (prop in target) return (target as unknown as Record<string, unknown>)[prop];
      return () => {
        throw new NativeCalled(prop);
      };
    },
  });
}

export function fakeMapHandle(info: Partial<RawMapInfo>, overrides: Partial<RawMapHandle> = {}): RawMapHandle {
  const full: RawMapInfo = {
    id: 7,
    name: 'fake',
    type: 'hash',
    typeId: 1,
    keySize: 8,
    valueSize: 32,
    maxEntries: 16,
    flags: 0,
    perCpu: false,
    fd: 99,
    ...info,
  };
  const handle: Partial<RawMapHandle> = { info: () => full, ...overrides };
  return new Proxy(handle as RawMapHandle, {
    get(target, prop: string) {
      if (prop === 'fd') return full.fd;
      if (prop in target) return (target as unknown as Record<string, unknown>)[prop];
      return () => {
        throw new NativeCalled(`MapHandle.${prop}`);
      };
    },
  });
}
