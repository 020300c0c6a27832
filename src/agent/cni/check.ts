/**
 * CNI CHECK: the attachment still looks the way ADD left it. Its WorkloadEndpoint exists
 * and belongs to this container (else 3, unknown container), its host interface exists,
 * the IPAM handle still holds exactly the endpoint's addresses, and every address of the
 * runtime's prevResult is one of them.
 */
import { CniCode, CniError } from '../../cni/errors.js';
import type { CniRequest } from '../../cni/protocol.js';
import { allocationsOf } from '../../ipam/block.js';
import { formatIPv4, ordinalToAddress, parseCidr } from '../../ipam/cidr.js';
import { kindInfo, type WorkloadEndpoint } from '../../resources/index.js';
import { attachmentOf } from './attachment.js';
import type { CniDeps } from './deps.js';
import { toCniError } from './error-codes.js';

function failed(what: string, fix: string): CniError {
  return new CniError(CniCode.AgentInternal, what, fix);
}

/** Addresses the handle holds, as a.b.c.d/32, read from the blocks its record lists. */
export async function addressesOfHandle(deps: Pick<CniDeps, 'ipam'>, handle: string): Promise<string[]> {
  const h = await deps.ipam.store.getHandle(handle);
  if (!h) return [];
  const out: string[] = [];
  for (const name of Object.keys(h.doc.block)) {
    const cidr = parseCidr(name);
    const b = await deps.ipam.store.getBlock(cidr);
    if (!b) continue;
    for (const x of allocationsOf(b.doc)) if (x.handle === handle) out.push(`${formatIPv4(ordinalToAddress(cidr, x.ordinal))}/32`);
  }
  return out.sort();
}

export async function cniCheck(req: CniRequest, deps: CniDeps): Promise<void> {
  const a = attachmentOf(req, deps.nodeName);
  let wep: WorkloadEndpoint | undefined;
  let have: string[];
  let link;
  try {
    wep = (await deps.client.get(kindInfo('WorkloadEndpoint'), a.wepName, a.wepNamespace)) as WorkloadEndpoint | undefined;
    have = await addressesOfHandle(deps, a.handle);
    link = wep ? await deps.wiring.hostInterface(wep.spec.interfaceName) : undefined;
  } catch (err) {
    throw toCniError(err, `CHECK ${a.containerId}`);
  }
  if (!wep || (wep.spec.containerID && wep.spec.containerID !== a.containerId)) {
    throw new CniError(CniCode.UnknownContainer, `CHECK: the agent has no attachment of container ${a.containerId} on network ${a.network}`, `no WorkloadEndpoint ${a.wepNamespace}/${a.wepName} for it; was ADD run on this node?`);
  }
  const iface = wep.spec.interfaceName;
  if (link?.name !== iface) {
    throw failed(`CHECK ${a.containerId}: host interface ${iface} is missing`, 'delete and re-create the pod (DEL then ADD)');
  }
  const want = [...(wep.spec.ipNetworks ?? [])].sort();
  if (want.join() !== have.join()) {
    throw failed(`CHECK ${a.containerId}: IPAM handle ${a.handle} holds [${have.join(', ')}] but the WorkloadEndpoint has [${want.join(', ')}]`, 'run "tabby ipam check"; re-create the pod to repair');
  }
  for (const ip of req.prevResult?.ips ?? []) {
    if (!want.includes(ip.address)) {
      throw failed(`CHECK ${a.containerId}: prevResult address ${ip.address} is not the workload's (${want.join(', ')})`, 'the runtime holds a stale result; re-create the pod');
    }
  }
}
