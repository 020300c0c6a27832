/**
 * The node command lines of tabby's own executables (the CLI, tabby-cni, the probe helper),
 * found next to this module: from dist/ they are .js files run by node, from a source
 * checkout (tsx, vitest) they are .ts files run with the tsx loader. Resolving from this
 * module rather than process.argv[1] makes it work the same from the CLI, tests and benches.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type EntryName = 'cli' | 'cni' | 'probe';

const RELATIVE: Record<EntryName, string> = {
  cli: '../cli/main',
  cni: '../cni/main',
  probe: './probe-agent',
};

/**
 * argv prefix that runs the entry, e.g. ['/usr/bin/node', '/x/dist/cni/main.js'].
 * `preferBuilt`: from a source checkout, use dist/'s build of the entry when it exists and
 * is not older than its source (starting node without the tsx loader is several times
 * faster; only right for entries that import nothing else that may have changed).
 */
export function entryCommand(name: EntryName, opts: { preferBuilt?: boolean } = {}): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const rel = RELATIVE[name];
  if (fromSource && opts.preferBuilt) {
    const built = fileURLToPath(new URL(`../../dist/lab/${rel}.js`, import.meta.url));
    const source = fileURLToPath(new URL(`${rel}.ts`, import.meta.url));
    if (existsSync(built) && statSync(built).mtimeMs >= statSync(source).mtimeMs) return [process.execPath, built];
  }
  if (!fromSource) return [process.execPath, fileURLToPath(new URL(`${rel}.js`, import.meta.url))];
  return [process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL(`${rel}.ts`, import.meta.url))];
}

/**
 * The tabby-cni command a container runtime would run: the compiled plugin
 * (build/Release/tabby-cni, see docs/design/cni.md) when it is built, else the node entry.
 */
export function cniPluginCommand(): string[] {
  const shim = fileURLToPath(new URL('../../build/Release/tabby-cni', import.meta.url));
  return existsSync(shim) ? [shim] : entryCommand('cni');
}
