/**
 * Can this kernel run the BPF dataplane? The agent asks once at start for `--dataplane
 * auto` (and to fail early and clearly for `--dataplane bpf`). Checks, in order, each with
 * a stable reason code (exported as a metric label) and a message that says how to fix it:
 *
 *   no-btf        /sys/kernel/btf/vmlinux is missing (kernel built without CONFIG_DEBUG_INFO_BTF)
 *   no-bpffs      the pin directory is not on a bpf filesystem and mounting one failed
 *   no-addon      the native addon is not built (npm run build)
 *   load-failed   the bpf syscall or the verifier refused the real dataplane object
 *   tc-failed     a no-op program could not be attached with tc (no clsact / cls_bpf)
 *
 * The load check loads the very object the dataplane will run, into a throwaway pin
 * directory, so "ok" means the verifier of this kernel accepts our programs. The tc check
 * attaches `tabby_probe` (returns TC_ACT_OK: traffic is unaffected) on `lo` of the given
 * namespace at a handle of its own, then removes it, and removes the clsact qdisc if the
 * probe created it. Pass `tc: false` to skip it.
 */
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { BpfObject, bpfObjectPath, Tc } from '../../native/index.js';
import { mountBpffs } from '../../native/mount.js';
import { DATAPLANE_OBJECT, ipv4Global } from './native-kernel.js';
import { TC_HANDLE } from './kernel.js';

export type ProbeReason = 'no-btf' | 'no-bpffs' | 'no-addon' | 'load-failed' | 'tc-failed';
export type ProbeResult = { ok: true } | { ok: false; reason: ProbeReason; message: string };

export const DEFAULT_BPFFS = '/sys/fs/bpf';
const PROBE_HANDLE = TC_HANDLE + 1;
const PROBE_PRIORITY = 0xfffe;

/** What the probe touches, injectable for unit tests. */
export interface ProbeDeps {
  btfPath: string;
  /** Contents of /proc/mounts. */
  mounts(): string;
  /** Mounts a bpf filesystem at `dir`. */
  mount(dir: string): void;
  /**
   * Loads the dataplane object with its maps pinned in `pinRoot`, then unpins them; close()
   * unloads it and removes `pinRoot`. Throws what the load threw (after cleaning up).
   */
  load(pinRoot: string): LoadedProbe;
  /** Attaches `program` on `lo` (in `netns`), then removes it and anything it created. */
  tcRoundTrip(program: { fd: number }, netns: string | undefined): void;
}

export interface LoadedProbe {
  /** The `tabby_probe` program (returns TC_ACT_OK). */
  probeProgram: { fd: number };
  close(): void;
}

export interface ProbeOptions {
  /** The per-node pin directory the dataplane will use (must be on bpffs). */
  pinDir: string;
  /** Where to try tc: `lo` of this namespace ({}), of another ({ netns }), or false to skip. */
  tc?: { netns?: string } | false;
  deps?: Partial<ProbeDeps>;
}

/** The bpf mount point covering `dir`, or null (from /proc/mounts). */
export function bpffsMountFor(dir: string, mounts: string): string | null {
  let best: string | null = null;
  for (const line of mounts.split('\n')) {
    const [, mnt, type] = line.split(' ');
    if (type !== 'bpf' || mnt === undefined) continue;
    if ((dir === mnt || dir.startsWith(mnt.endsWith('/') ? mnt : `${mnt}/`)) && (best === null || mnt.length > best.length)) best = mnt;
  }
  return best;
}

/**
 * Makes sure `dir` is on a bpf filesystem, mounting one at /sys/fs/bpf when none is mounted
 * there (a fresh machine). Throws with the command to run when that is not enough.
 * Mounting is mount(2) through the addon (the agent never runs mount(8)).
 */
export function ensureBpffs(dir: string = DEFAULT_BPFFS, deps: Pick<ProbeDeps, 'mounts' | 'mount'> = defaultDeps()): void {
  if (bpffsMountFor(dir, deps.mounts()) !== null) return;
  if (dir !== DEFAULT_BPFFS && !dir.startsWith(`${DEFAULT_BPFFS}/`)) {
    throw new Error(`${dir} is not on a bpf filesystem; mount one there (mount -t bpf bpf ${dir}) or use a pin directory under ${DEFAULT_BPFFS}`);
  }
  deps.mount(DEFAULT_BPFFS);
  if (bpffsMountFor(dir, deps.mounts()) === null) throw new Error(`mounted bpffs at ${DEFAULT_BPFFS} but ${dir} is still not on it`);
}

export function probeBpfSupport(opts: ProbeOptions): ProbeResult {
  const deps: ProbeDeps = { ...defaultDeps(), ...opts.deps };
  if (!existsSync(deps.btfPath)) {
    return { ok: false, reason: 'no-btf', message: `${deps.btfPath} is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF); use --dataplane legacy` };
  }
  try {
    ensureBpffs(opts.pinDir, deps);
  } catch (err) {
    return { ok: false, reason: 'no-bpffs', message: `bpffs: ${(err as Error).message}` };
  }
  // bpffs refuses names with a dot; the pid keeps concurrent probes (lab nodes) apart.
  const probeDir = join(dirname(opts.pinDir), `tabby-probe-${process.pid}`);
  let loaded: LoadedProbe;
  try {
    loaded = deps.load(probeDir);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_DLOPEN_FAILED' || /tabby_native\.node/.test(e.message ?? '')) {
      return { ok: false, reason: 'no-addon', message: `the native addon is not built (${e.message}); run npm run build` };
    }
    return { ok: false, reason: 'load-failed', message: `loading the bpf dataplane failed: ${e.message}` };
  }
  try {
    if (opts.tc !== false) deps.tcRoundTrip(loaded.probeProgram, opts.tc?.netns);
  } catch (err) {
    return { ok: false, reason: 'tc-failed', message: `attaching a tc program failed (is sch_clsact/cls_bpf available?): ${(err as Error).message}` };
  } finally {
    loaded.close();
  }
  return { ok: true };
}

function defaultDeps(): ProbeDeps {
  return {
    btfPath: '/sys/kernel/btf/vmlinux',
    mounts: () => readFileSync('/proc/mounts', 'utf8'),
    mount: (dir) => mountBpffs(dir),
    load: (pinRoot) => {
      const removeDir = () => existsSync(pinRoot) && rmdirSync(pinRoot);
      let obj: BpfObject | null = null;
      try {
        obj = BpfObject.open(bpfObjectPath(DATAPLANE_OBJECT), { pinRoot, globals: { node_ipv4: ipv4Global('0.0.0.0'), uplink_ifindex: 0 } });
        obj.unpinMaps();
        removeDir();
      } catch (err) {
        obj?.close();
        removeDir();
        throw err;
      }
      const o = obj;
      return { probeProgram: o.program('tabby_probe'), close: () => o.close() };
    },
    tcRoundTrip: (program, netns) => {
      const tc = new Tc();
      const where = { interface: 'lo', ...(netns ? { netns } : {}) };
      const created = tc.createHook(where);
      try {
        const a = tc.attach({ ...where, direction: 'ingress' }, program, { handle: PROBE_HANDLE, priority: PROBE_PRIORITY });
        tc.detach(a);
      } finally {
        if (created) tc.destroyHook(where);
      }
    },
  };
}
