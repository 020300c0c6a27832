/**
 * Where a node's BPF maps are pinned. One directory per node, because in the lab several
 * agents share one kernel (and so one bpffs). Node names are made safe for bpffs, which
 * refuses '.' in names (FQDN node names are common).
 */
import { join } from 'node:path';

export const PIN_ROOT = '/sys/fs/bpf/tabby';

export function pinDirFor(node: string, root: string = PIN_ROOT): string {
  return join(root, node.replace(/[^A-Za-z0-9_-]/g, '_'));
}
