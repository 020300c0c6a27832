/**
 * Kubernetes networking.k8s.io/v1 NetworkPolicy, validated as the API server would (the
 * subset of rules that catch real mistakes): label selectors, peers, ports, ipBlock.
 */
import { labelKeyProblem, labelValue, namedPortProblem } from '../fields.js';
import { cidrContains, parseCIDR } from '../../net/ip-address.js';
import type { KindDefinition } from '../kind-definition.js';
import { byType, int, list, obj, refine, required, str, stringMap, type Check, type Ctx } from '../schema.js';
import {
  K8S_NETWORKING_API_VERSION,
  type K8sLabelSelector,
  type K8sNetworkPolicy,
  type K8sNetworkPolicyPeer,
  type K8sNetworkPolicyPort,
  type K8sNetworkPolicySpec,
} from '../types.js';

type Expression = NonNullable<K8sLabelSelector['matchExpressions']>[number];

const expression = refine(
  obj<Expression>({
    key: required(str({ test: labelKeyProblem })),
    operator: required(str({ oneOf: ['In', 'NotIn', 'Exists', 'DoesNotExist'] })),
    values: list(labelValue),
  }),
  (e, ctx) => {
    const n = e.values?.length ?? 0;
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) ctx.at('values').error(`must not be empty for operator ${e.operator}`);
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) ctx.at('values').error(`must be empty for operator ${e.operator}`);
  },
);

export const labelSelector: Check<K8sLabelSelector> = obj<K8sLabelSelector>({
  matchLabels: stringMap(labelValue, labelKeyProblem),
  matchExpressions: list(expression),
});

const ipBlock = refine(
  obj<{ cidr: string; except?: string[] }>({ cidr: required(str()), except: list(str()) }),
  (b, ctx) => {
    // Kubernetes accepts an unmasked ipBlock cidr; only the syntax is checked here.
    const outer = b.cidr === undefined ? undefined : parseCIDR(b.cidr);
    if (b.cidr !== undefined && !outer) ctx.at('cidr').error(`${JSON.stringify(b.cidr)} is not a valid CIDR such as 10.0.0.0/16`);
    (b.except ?? []).forEach((e, i) => {
      const inner = parseCIDR(e);
      if (!inner) ctx.at('except', i).error(`${JSON.stringify(e)} is not a valid CIDR`);
      else if (outer && (!cidrContains(outer, inner) || inner.prefix === outer.prefix)) {
        ctx.at('except', i).error(`${e} must be strictly inside ${b.cidr}`);
      }
    });
  },
);

const peer = refine(
  obj<K8sNetworkPolicyPeer>({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock }),
  (p, ctx) => {
    if (p.ipBlock !== undefined && (p.podSelector !== undefined || p.namespaceSelector !== undefined)) {
      ctx.at('ipBlock').error('cannot be combined with podSelector or namespaceSelector in the same peer; use separate peers');
    } else if (p.ipBlock === undefined && p.podSelector === undefined && p.namespaceSelector === undefined) {
      ctx.error('a peer needs podSelector, namespaceSelector or ipBlock');
    }
  },
);

const k8sPortValue = byType<number | string>(
  {
    number: (v, ctx) => int({ min: 1, max: 65535 })(v, ctx),
    string: (v, ctx) => {
      const problem = namedPortProblem(v as string);
      return problem ? ctx.error(problem) : (v as string);
    },
  },
  'a port number 1-65535 or a port name',
);

const port = refine(
  obj<K8sNetworkPolicyPort>({
    protocol: str({ oneOf: ['TCP', 'UDP', 'SCTP'] }),
    port: k8sPortValue,
    endPort: int({ min: 1, max: 65535 }),
  }),
  (p, ctx) => {
    if (p.endPort === undefined) return;
    if (typeof p.port !== 'number') ctx.at('endPort').error('needs a numeric port (endPort cannot be used with a named port or without port)');
    else if (p.endPort < p.port) ctx.at('endPort').error(`must be at least port (${p.port})`);
  },
);

const fields = obj<K8sNetworkPolicySpec>({
  podSelector: required(labelSelector),
  policyTypes: list(str({ oneOf: ['Ingress', 'Egress'] }), { unique: true }),
  ingress: list(obj({ from: list(peer), ports: list(port) })),
  egress: list(obj({ to: list(peer), ports: list(port) })),
});

export const k8sNetworkPolicyKind: KindDefinition<K8sNetworkPolicy> = {
  info: {
    kind: 'NetworkPolicy',
    apiVersion: K8S_NETWORKING_API_VERSION,
    group: 'networking.k8s.io',
    plural: 'networkpolicies',
    namespaced: true,
    shortNames: ['networkpolicies.networking.k8s.io', 'k8snetworkpolicy', 'k8snetworkpolicies', 'knp', 'knps'],
  },
  checkSpec: (spec: unknown, ctx: Ctx) => fields(spec, ctx) ?? ({} as K8sNetworkPolicySpec),
  /** As Kubernetes: Ingress always, plus Egress when there are egress rules; ports default to TCP. */
  withDefaults(spec) {
    const withTcp = <R extends { ports?: K8sNetworkPolicyPort[] }>(r: R): R =>
      r.ports ? { ...r, ports: r.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })) } : r;
    return {
      ...spec,
      policyTypes: spec.policyTypes ?? ((spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress']),
      ...(spec.ingress ? { ingress: spec.ingress.map(withTcp) } : {}),
      ...(spec.egress ? { egress: spec.egress.map(withTcp) } : {}),
    };
  },
};

