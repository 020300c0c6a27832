import { ipAddress } from '../fields.js';
import type { KindDefinition } from '../kind-definition.js';
import { list, obj, refine, required, str, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type HostEndpoint, type HostEndpointSpec } from '../types.js';
import { endpointPorts, profileNames } from './endpoint-common.js';

const fields = obj<HostEndpointSpec>({
  node: required(str({ nonEmpty: true })),
  interfaceName: str({ nonEmpty: true, maxLength: 15 }),
  expectedIPs: list(ipAddress, { unique: true }),
  profiles: profileNames,
  ports: endpointPorts,
});

function crossChecks(spec: HostEndpointSpec, ctx: Ctx): void {
  if (spec.interfaceName === undefined && (spec.expectedIPs?.length ?? 0) === 0) {
    ctx.at('interfaceName').error('set interfaceName (or "*" for all interfaces) and/or expectedIPs: a host endpoint needs one of them');
  }
}

export const hostEndpointKind: KindDefinition<HostEndpoint> = {
  info: {
    kind: 'HostEndpoint',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'hostendpoints',
    namespaced: false,
    shortNames: ['hostendpoint', 'hostendpoints', 'hep', 'heps'],
  },
  checkSpec: (spec, ctx) => refine(fields, crossChecks)(spec, ctx) ?? ({} as HostEndpointSpec),
  withDefaults: (spec) => ({ ...spec }),
};
