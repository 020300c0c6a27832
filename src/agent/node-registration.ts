/**
 * Registers this node: its Node resource gets the node's address (`spec.bgp.ipv4Address`
 * and a `CalicoNodeIP` entry in `spec.addresses`), which is what other nodes route this
 * node's blocks to. Everything else an operator set (labels, annotations, AS number, route
 * reflector cluster ID, other addresses) is left as it is. A lost compare-and-swap (another
 * writer, e.g. `tabby apply` at the same moment) is retried a few times.
 */
import type { ResourceClient } from '../client/resources.js';
import { ResourceConflictError } from '../client/errors.js';
import { CALICO_API_VERSION, kindInfo, type CalicoNode } from '../resources/index.js';

export interface RegisterNodeOptions {
  client: ResourceClient;
  nodeName: string;
  /** `a.b.c.d/len` */
  ipv4Cidr: string;
  maxAttempts?: number;
}

export type RegisterOutcome = 'created' | 'updated' | 'unchanged';

function withAddress(spec: CalicoNode['spec'], ipv4Cidr: string): CalicoNode['spec'] {
  const others = (spec.addresses ?? []).filter((a) => a.type !== 'CalicoNodeIP');
  return { ...spec, bgp: { ...(spec.bgp ?? {}), ipv4Address: ipv4Cidr }, addresses: [{ address: ipv4Cidr, type: 'CalicoNodeIP' }, ...others] };
}

export async function registerNode(opts: RegisterNodeOptions): Promise<RegisterOutcome> {
  const kind = kindInfo('Node');
  const attempts = opts.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = (await opts.client.get(kind, opts.nodeName)) as CalicoNode | undefined;
      if (!existing) {
        const node: CalicoNode = { apiVersion: CALICO_API_VERSION, kind: 'Node', metadata: { name: opts.nodeName }, spec: withAddress({}, opts.ipv4Cidr) };
        await opts.client.create(node);
        return 'created';
      }
      const spec = withAddress(existing.spec ?? {}, opts.ipv4Cidr);
      if (JSON.stringify(spec) === JSON.stringify(existing.spec ?? {})) return 'unchanged';
      await opts.client.replace({ ...existing, spec });
      return 'updated';
    } catch (err) {
      const retriable = err instanceof ResourceConflictError && (err.code === 'STALE' || err.code === 'ALREADY_EXISTS');
      if (!retriable || attempt >= attempts) throw err;
    }
  }
}
