/**
 * Every name and path a lab uses, derived from its name alone, so that `lab down` can find
 * a crashed lab's leftovers without its state file: everything carries the `tby-<lab>-`
 * prefix, lives under /run/tabby-lab/<lab>/, or under /sys/fs/bpf/tabby/<lab>-<node>.
 */
import { join } from 'node:path';
import { LabError } from './errors.js';

const LAB_NAME_RE = /^[a-z0-9]{1,16}$/;
const MEMBER_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export const LAB_RUN_ROOT = '/run/tabby-lab';
export const LAB_PIN_ROOT = '/sys/fs/bpf/tabby';

/** Lab names have no dash, so `tby-<lab>-` never prefixes another lab's names. */
export function checkLabName(name: string): string {
  if (!LAB_NAME_RE.test(name)) {
    throw new LabError('LAB_USAGE', `lab name '${name}' is invalid: use 1-16 lower-case letters or digits (no dashes), e.g. --name tabby`);
  }
  return name;
}

/** Node and pod names: DNS-label-like, short enough for namespace and interface names. */
export function checkMemberName(kind: 'node' | 'pod', name: string): string {
  if (!MEMBER_NAME_RE.test(name)) {
    throw new LabError('LAB_USAGE', `${kind} name '${name}' is invalid: use lower-case letters, digits and inner dashes, at most 32 characters`);
  }
  return name;
}

export class LabNames {
  readonly prefix: string;
  readonly dir: string;

  constructor(readonly lab: string) {
    checkLabName(lab);
    this.prefix = `tby-${lab}-`;
    this.dir = join(LAB_RUN_ROOT, lab);
  }

  get underlayNetns(): string {
    return `${this.prefix}ul`;
  }

  nodeNetns(node: string): string {
    return `${this.prefix}${node}`;
  }

  podNetns(pod: string): string {
    return `${this.prefix}p-${pod}`;
  }

  /** The underlay-side end of a node's veth (inside the underlay namespace, so it cannot clash with the host). */
  underlayPort(nodeIndex: number): string {
    return `ul${nodeIndex}`;
  }

  get stateFile(): string {
    return join(this.dir, 'lab.json');
  }

  get lockFile(): string {
    return join(this.dir, 'lab.lock');
  }

  /** The agents' --bgp-secrets-dir: one for the lab, as a Secret is one for the cluster. */
  get bgpSecretsDir(): string {
    return join(this.dir, 'bgp-secrets');
  }

  get etcdDir(): string {
    return join(this.dir, 'etcd');
  }

  nodeDir(node: string): string {
    return join(this.dir, node);
  }

  pinDir(node: string, root: string = LAB_PIN_ROOT): string {
    return join(root, `${this.lab}-${node}`);
  }

  /** Pin directories of this lab's nodes are `<lab>-<node>` under the tabby bpffs root. */
  isPinDirOf(entry: string): boolean {
    return entry.startsWith(`${this.lab}-`);
  }
}

export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}
