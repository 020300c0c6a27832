import { asNumber, hostCIDR, ipv4Address, macAddress, cidrOrIP } from '../fields.js';
import { parseIP } from '../../net/ip-address.js';
import type { KindDefinition } from '../kind-definition.js';
import { list, obj, refine, required, str, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type CalicoNode, type NodeSpec } from '../types.js';

const bgp = obj<NonNullable<NodeSpec['bgp']>>({
  asNumber,
  ipv4Address: hostCIDR(4),
  ipv6Address: hostCIDR(6),
  ipv4IPIPTunnelAddr: ipv4Address,
  routeReflectorClusterID: ipv4Address,
});

const fields = obj<NodeSpec>({
  bgp: refine(bgp, (b, ctx) => {
    if (Object.keys(b).length === 0) ctx.error('must not be empty: set ipv4Address and/or ipv6Address, or leave bgp out');
  }),
  ipv4VXLANTunnelAddr: ipv4Address,
  ipv6VXLANTunnelAddr: str({ test: (s) => (parseIP(s)?.version === 6 ? undefined : `${JSON.stringify(s)} is not a valid IPv6 address`) }),
  vxlanTunnelMACAddr: macAddress,
  orchRefs: list(obj({ nodeName: str(), orchestrator: required(str({ nonEmpty: true })) })),
  addresses: list(obj({ address: required(cidrOrIP), type: str({ oneOf: ['InternalIP', 'ExternalIP', 'CalicoNodeIP'] }) })),
});

export const nodeKind: KindDefinition<CalicoNode> = {
  info: {
    kind: 'Node',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['node', 'nodes', 'no'],
  },
  specOptional: true,
  checkSpec: (spec, ctx: Ctx) => fields(spec, ctx) ?? {},
  withDefaults: (spec) => ({ ...spec }),
};
