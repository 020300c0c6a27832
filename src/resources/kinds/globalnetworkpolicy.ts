import type { KindDefinition } from '../kind-definition.js';
import { selector } from '../fields.js';
import { bool, obj, refine, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type GlobalNetworkPolicy, type GlobalNetworkPolicySpec } from '../types.js';
import { policyDefaults, policyFields, policyNameProblem } from './policy-common.js';

const fields = obj<GlobalNetworkPolicySpec>({
  ...policyFields,
  namespaceSelector: selector,
  doNotTrack: bool(),
  preDNAT: bool(),
  applyOnForward: bool(),
});

function crossChecks(spec: GlobalNetworkPolicySpec, ctx: Ctx): void {
  if (spec.doNotTrack && spec.preDNAT) ctx.at('preDNAT').error('preDNAT and doNotTrack cannot both be true');
  if (spec.preDNAT && (spec.egress?.length ?? 0) > 0) ctx.at('egress').error('a preDNAT policy cannot have egress rules');
  if (spec.preDNAT && spec.types?.includes('Egress')) ctx.at('types').error("a preDNAT policy cannot have type 'Egress'");
  if ((spec.doNotTrack || spec.preDNAT) && !spec.applyOnForward) {
    ctx.at('applyOnForward').error('must be true when preDNAT or doNotTrack is true');
  }
}

export const globalNetworkPolicyKind: KindDefinition<GlobalNetworkPolicy> = {
  info: {
    kind: 'GlobalNetworkPolicy',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'globalnetworkpolicies',
    namespaced: false,
    shortNames: ['globalnetworkpolicy', 'globalnetworkpolicies', 'gnp', 'gnps', 'cgnp'],
  },
  specOptional: true,
  checkSpec: (spec, ctx) => refine(fields, crossChecks)(spec, ctx) ?? {},
  nameProblem: (name, spec) => policyNameProblem(name, spec.tier),
  withDefaults: (spec) => policyDefaults(spec),
};
