/**
 * `tabby install-cni`: puts the plugin where a container runtime looks for it.
 *
 *  - `<bin-dir>/tabby-cni`: a copy of the compiled shim (build/Release/tabby-cni, see
 *    docs/design/cni.md "The shim") when it is built: it starts in a millisecond where Node
 *    takes over a hundred, and the agent runs the plugin logic. Without the shim (or with
 *    `shim: false`), a `#!/bin/sh` launcher that execs Node on the plugin's entry, with
 *    absolute paths to the node binary and the entry so the runtime's PATH and working
 *    directory do not matter; from a source checkout (the entry is .ts) it also loads tsx.
 *  - `<conf-dir>/10-tabby.conflist`: cniVersion 1.0.0, tabby-cni (ipam tabby-ipam,
 *    agent_socket) then portmap (capabilities portMappings), as Calico's conflist does.
 *
 * Each file is written to a temp name in the same directory and renamed over the target,
 * so a runtime never reads half a file; a file that already has the wanted content is not
 * touched (idempotent). `dryRun` returns what would be written without writing.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_AGENT_SOCKET } from '../cni/netconf.js';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_NETWORK_NAME = 'k8s-pod-network';
export const PLUGIN_NAME = 'tabby-cni';
export const CONFLIST_NAME = '10-tabby.conflist';

export interface InstallCniOptions {
  binDir?: string;
  confDir?: string;
  cniSocket?: string;
  networkName?: string;
  /** Absolute path of the plugin entry (dist/cni/main.js, or src/cni/main.ts in a checkout). */
  pluginEntry: string;
  /** Absolute path of node (process.execPath). */
  nodeBinary: string;
  /** Loader to --import when the entry is TypeScript (absolute path of tsx's loader). */
  tsLoader?: string;
  /**
   * The compiled shim to install: a path, `false` for the Node launcher, or undefined to
   * use this package's build/Release/tabby-cni when it exists.
   */
  shim?: string | false;
  dryRun?: boolean;
}

/** build/Release/tabby-cni of this package (from src/agent/ or dist/agent/), if built. */
export function builtShim(): string | undefined {
  const path = fileURLToPath(new URL('../../build/Release/tabby-cni', import.meta.url));
  return existsSync(path) ? path : undefined;
}

export interface PlannedFile {
  path: string;
  mode: number;
  /** The text written, or for a binary (the shim) a one-line description of it. */
  content: string;
  /** A binary's bytes, written instead of `content`. */
  bytes?: Buffer;
  /** What happened (or, for a dry run, would happen). */
  action: 'create' | 'update' | 'unchanged';
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

export function launcherScript(o: Pick<InstallCniOptions, 'pluginEntry' | 'nodeBinary' | 'tsLoader'>): string {
  const args = [o.nodeBinary];
  if (o.pluginEntry.endsWith('.ts')) {
    if (!o.tsLoader) throw new Error(`the plugin entry ${o.pluginEntry} is TypeScript and no loader was given; build tabby (npm run build:ts) or pass the tsx loader`);
    args.push('--import', o.tsLoader);
  }
  args.push(o.pluginEntry);
  return `#!/bin/sh\n# tabby-cni launcher written by 'tabby install-cni'; the plugin is a Node program.\nexec ${args.map(shellQuote).join(' ')} "$@"\n`;
}

export function conflist(o: Pick<InstallCniOptions, 'cniSocket' | 'networkName'>): string {
  const doc = {
    name: o.networkName ?? DEFAULT_NETWORK_NAME,
    cniVersion: '1.0.0',
    plugins: [
      { type: PLUGIN_NAME, ipam: { type: 'tabby-ipam' }, agent_socket: o.cniSocket ?? DEFAULT_AGENT_SOCKET },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    ],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function current(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeAtomically(f: PlannedFile): Promise<void> {
  await mkdir(dirname(f.path), { recursive: true, mode: 0o755 });
  const tmp = join(dirname(f.path), `.${PLUGIN_NAME}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, f.bytes ?? f.content, { mode: f.mode });
    await chmod(tmp, f.mode); // writeFile's mode is filtered by the umask
    await rename(tmp, f.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function installCni(o: InstallCniOptions): Promise<PlannedFile[]> {
  const binPath = join(o.binDir ?? DEFAULT_BIN_DIR, PLUGIN_NAME);
  const shim = o.shim === false ? undefined : (o.shim ?? builtShim());
  let plugin: Omit<PlannedFile, 'action'>;
  if (shim) {
    const bytes = await readFile(shim);
    plugin = { path: binPath, mode: 0o755, content: `(binary: a copy of ${shim}, ${bytes.length} bytes)\n`, bytes };
  } else {
    plugin = { path: binPath, mode: 0o755, content: launcherScript(o) };
  }
  const files: Array<Omit<PlannedFile, 'action'>> = [plugin, { path: join(o.confDir ?? DEFAULT_CONF_DIR, CONFLIST_NAME), mode: 0o644, content: conflist(o) }];
  const planned: PlannedFile[] = [];
  for (const f of files) {
    const have = await current(f.path);
    const action = have === undefined ? 'create' : have.equals(f.bytes ?? Buffer.from(f.content, 'utf8')) ? 'unchanged' : 'update';
    const p = { ...f, action } as PlannedFile;
    if (!o.dryRun && action !== 'unchanged') await writeAtomically(p);
    planned.push(p);
  }
  return planned;
}
