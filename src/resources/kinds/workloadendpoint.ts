import { cidrOrIP, ipAddress, macAddress, protocol, protocolHasPorts } from '../fields.js';
import { bitsOf, cidrContains, parseCIDROrIP, parseIP } from '../../net/ip-address.js';
import type { KindDefinition } from '../kind-definition.js';
import { int, list, obj, refine, required, str, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type WorkloadEndpoint, type WorkloadEndpointSpec } from '../types.js';
import { profileNames } from './endpoint-common.js';

type WepPort = NonNullable<WorkloadEndpointSpec['ports']>[number];

const wepPort = refine(
  obj<WepPort>({
    name: str(),
    protocol: required(protocol),
    port: required(int({ min: 1, max: 65535 })),
    hostPort: int({ min: 0, max: 65535 }),
    hostIP: ipAddress,
  }),
  (p, ctx) => {
    if (p.protocol !== undefined && !protocolHasPorts(p.protocol)) ctx.at('protocol').error(`protocol ${p.protocol} has no ports`);
    if (!p.name && !p.hostPort) ctx.at('name').error('is required unless hostPort is set');
  },
);

const gateway = (version: 4 | 6) =>
  str({ test: (s) => (parseIP(s)?.version === version ? undefined : `${JSON.stringify(s)} is not an IPv${version} address`) });

const fields = obj<WorkloadEndpointSpec>({
  orchestrator: str(),
  workload: str(),
  node: required(str({ nonEmpty: true })),
  containerID: str(),
  pod: str(),
  endpoint: required(str({ nonEmpty: true })),
  serviceAccountName: str(),
  ipNetworks: list(
    str({
      test: (s) => {
        const c = parseCIDROrIP(s);
        if (!c) return `${JSON.stringify(s)} is not a valid address such as 10.0.0.5/32`;
        if (c.prefix !== bitsOf(c.version)) return `${s} holds more than one address; workload networks are single addresses (/32 or /128)`;
        return undefined;
      },
    }),
    { unique: true },
  ),
  ipNATs: list(obj({ internalIP: required(ipAddress), externalIP: required(ipAddress) })),
  ipv4Gateway: gateway(4),
  ipv6Gateway: gateway(6),
  profiles: profileNames,
  interfaceName: required(str({ nonEmpty: true, maxLength: 15 })),
  mac: macAddress,
  ports: list(wepPort),
  allowSpoofedSourcePrefixes: list(cidrOrIP),
});

function crossChecks(spec: WorkloadEndpointSpec, ctx: Ctx): void {
  const nets = (spec.ipNetworks ?? []).map(parseCIDROrIP).filter((c) => c !== undefined);
  (spec.ipNATs ?? []).forEach((nat, i) => {
    const inner = parseCIDROrIP(nat.internalIP ?? '');
    if (inner && !nets.some((n) => cidrContains(n, inner))) {
      ctx.at('ipNATs', i, 'internalIP').error(`${nat.internalIP} is not one of the endpoint's ipNetworks`);
    }
  });
}

export const workloadEndpointKind: KindDefinition<WorkloadEndpoint> = {
  info: {
    kind: 'WorkloadEndpoint',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'workloadendpoints',
    namespaced: true,
    shortNames: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'],
  },
  checkSpec: (spec, ctx) => refine(fields, crossChecks)(spec, ctx) ?? ({} as WorkloadEndpointSpec),
  withDefaults: (spec) => ({ ...spec }),
};
