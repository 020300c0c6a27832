import type { KindDefinition } from '../kind-definition.js';
import { obj } from '../schema.js';
import { CALICO_API_VERSION, type NetworkPolicy, type NetworkPolicySpec } from '../types.js';
import { policyDefaults, policyFields, policyNameProblem } from './policy-common.js';

const fields = obj<NetworkPolicySpec>(policyFields);

export const networkPolicyKind: KindDefinition<NetworkPolicy> = {
  info: {
    kind: 'NetworkPolicy',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'networkpolicies',
    namespaced: true,
    shortNames: ['networkpolicy', 'networkpolicies', 'policy', 'policies', 'netpol', 'netpols', 'np', 'cnp'],
  },
  specOptional: true,
  checkSpec: (spec, ctx) => fields(spec, ctx) ?? {},
  nameProblem: (name, spec) => policyNameProblem(name, spec.tier),
  withDefaults: (spec) => policyDefaults(spec),
};
