import { asNumber, duration, maskedCIDR } from '../fields.js';
import type { KindDefinition } from '../kind-definition.js';
import { bool, int, list, obj, refine, required, str, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type BGPConfiguration, type BGPConfigurationSpec, type ObjectMeta } from '../types.js';
import { secretSource } from './bgp-common.js';

const cidrEntry = obj({ cidr: required(maskedCIDR) });

/** Calico's community value: `aa:nn` (standard) or `aa:nn:mm` (large). */
const COMMUNITY = /^(\d+):(\d+)(:(\d+))?$/;
const communityValue = str({
  test: (s) => {
    const m = COMMUNITY.exec(s);
    const parts = m ? [m[1], m[2], m[4]].filter((x): x is string => x !== undefined).map(Number) : [];
    const limit = m?.[4] !== undefined ? 4294967295 : 65535;
    if (!m || parts.some((p) => p > limit)) {
      return `${JSON.stringify(s)} is not a BGP community; use aa:nn (each 0-65535) or aa:nn:mm (each 0-4294967295)`;
    }
    return undefined;
  },
});

const fields = obj<BGPConfigurationSpec>({
  logSeverityScreen: str({ oneOf: ['Debug', 'Info', 'Warning', 'Error', 'Fatal'] }),
  nodeToNodeMeshEnabled: bool(),
  asNumber,
  listenPort: int({ min: 1, max: 65535 }),
  bindMode: str({ oneOf: ['None', 'NodeIP'] }),
  serviceClusterIPs: list(cidrEntry),
  serviceExternalIPs: list(cidrEntry),
  serviceLoadBalancerIPs: list(cidrEntry),
  communities: list(obj({ name: required(str({ nonEmpty: true })), value: required(communityValue) })),
  prefixAdvertisements: list(obj({ cidr: required(maskedCIDR), communities: list(str({ nonEmpty: true })) })),
  ignoredInterfaces: list(str({ nonEmpty: true })),
  nodeMeshMaxRestartTime: duration,
  nodeMeshPassword: secretSource,
});

/** Per-node configurations are named `node.<nodename>`; the cluster-wide one is `default`. */
function isNodeConfig(name: string): boolean {
  return name.startsWith('node.');
}

function crossChecks(meta: ObjectMeta) {
  return (spec: BGPConfigurationSpec, ctx: Ctx): void => {
    if (isNodeConfig(meta.name)) {
      for (const f of ['nodeToNodeMeshEnabled', 'asNumber', 'serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs', 'communities', 'prefixAdvertisements', 'nodeMeshPassword', 'nodeMeshMaxRestartTime'] as const) {
        if (spec[f] !== undefined) ctx.at(f).error(`can only be set in the cluster-wide BGPConfiguration named "default", not in the per-node ${JSON.stringify(meta.name)}`);
      }
    }
    const known = new Set((spec.communities ?? []).map((c) => c.name));
    (spec.prefixAdvertisements ?? []).forEach((p, i) =>
      (p.communities ?? []).forEach((c, j) => {
        if (!COMMUNITY.test(c) && !known.has(c)) {
          ctx.at('prefixAdvertisements', i, 'communities', j).error(`${JSON.stringify(c)} is neither a community value (aa:nn) nor the name of one defined in spec.communities`);
        }
      }),
    );
  };
}

export const bgpConfigurationKind: KindDefinition<BGPConfiguration> = {
  info: {
    kind: 'BGPConfiguration',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'bgpconfigurations',
    namespaced: false,
    shortNames: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  },
  specOptional: true,
  checkSpec: (spec, ctx, meta) => refine(fields, crossChecks(meta))(spec, ctx) ?? {},
  nameProblem: (name) =>
    name === 'default' || (isNodeConfig(name) && name.length > 'node.'.length)
      ? undefined
      : `a BGPConfiguration is named "default" (cluster-wide) or "node.<nodename>" (one node), not ${JSON.stringify(name)}`,
  /**
   * Only the cluster-wide "default" gets defaults: a per-node configuration inherits from it,
   * so filling values there would silently override the cluster's.
   */
  withDefaults(spec, meta) {
    if (meta.name !== 'default') return { ...spec };
    return {
      ...spec,
      logSeverityScreen: spec.logSeverityScreen ?? 'Info',
      nodeToNodeMeshEnabled: spec.nodeToNodeMeshEnabled ?? true,
      asNumber: spec.asNumber ?? 64512,
      listenPort: spec.listenPort ?? 179,
    };
  },
};
