import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The package root: the nearest directory above this file with a package.json and a
 * binding.gyp. Works from src/native/ (vitest, tsx) and from dist/native/ (after tsc).
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) {
      root = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`tabby: cannot find the package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Where node-gyp puts the addon. TABBY_NATIVE_ADDON overrides it. */
export function addonPath(): string {
  return process.env.TABBY_NATIVE_ADDON ?? join(packageRoot(), 'build', 'Release', 'tabby_native.node');
}

/** The compiled object of bpf/<name>.bpf.c. TABBY_BPF_DIR overrides build/bpf. */
export function bpfObjectPath(name: string): string {
  return join(process.env.TABBY_BPF_DIR ?? join(packageRoot(), 'build', 'bpf'), `${name}.bpf.o`);
}
