/** The WorkloadEndpoints of one node, read from the datastore (all namespaces). */
import type { ResourceClient } from '../../client/resources.js';
import { kindInfo, type WorkloadEndpoint } from '../../resources/index.js';

export async function localEndpoints(client: ResourceClient, nodeName: string): Promise<WorkloadEndpoint[]> {
  const all = await client.list(kindInfo('WorkloadEndpoint'));
  return all.filter((r): r is WorkloadEndpoint => r.kind === 'WorkloadEndpoint' && r.spec.node === nodeName);
}
