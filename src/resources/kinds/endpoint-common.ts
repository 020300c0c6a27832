import { dnsSubdomainProblem, namedPortProblem, protocol, protocolHasPorts } from '../fields.js';
import { int, list, obj, refine, required, str, type Check } from '../schema.js';
import type { EndpointPort } from '../types.js';

/** Profile names may hold dots (`kns.default`, `ksa.ns.sa`): DNS-1123 subdomains. */
export const profileNames = list(str({ test: dnsSubdomainProblem }), { unique: true });

/** A named port on an endpoint, the target of named ports in rules. */
export const endpointPort: Check<EndpointPort> = refine(
  obj<EndpointPort>({
    name: required(str({ test: namedPortProblem })),
    protocol: required(protocol),
    port: required(int({ min: 1, max: 65535 })),
  }),
  (p, ctx) => {
    if (p.protocol !== undefined && !protocolHasPorts(p.protocol)) {
      ctx.at('protocol').error(`protocol ${p.protocol} has no ports; use TCP, UDP, SCTP or UDPLite`);
    }
  },
);

export const endpointPorts = list(endpointPort);
