/**
 * Evaluates an IPPool's `nodeSelector` against this node's labels (read from its Node
 * resource on each call: IPAM caches pools, and labels change rarely), so pools can be
 * restricted to racks or zones as in Calico.
 */
import type { ResourceClient } from '../client/resources.js';
import type { NodeMatcher } from '../ipam/allocator.js';
import { kindInfo } from '../resources/index.js';
import { parseSelector } from '../selector/index.js';

export function nodeSelectorMatcher(client: ResourceClient): NodeMatcher {
  return async (selector, node) => {
    const s = selector.trim();
    if (s === '' || s === 'all()') return true;
    const res = await client.get(kindInfo('Node'), node);
    return parseSelector(s).matches(res?.metadata.labels ?? {});
  };
}
