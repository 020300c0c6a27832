/** True when the process runs as root; the bpf and integration lanes need it. */
export const isRoot: boolean = typeof process.getuid === 'function' && process.getuid() === 0;

/** Use as `describe.skipIf(!isRoot)(needsRoot('what'), ...)` so a skipped lane says why. */
export function needsRoot(title: string): string {
  return isRoot ? title : `${title} (skipped: needs root)`;
}
