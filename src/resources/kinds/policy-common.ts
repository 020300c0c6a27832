/**
 * What Calico's NetworkPolicy and GlobalNetworkPolicy share: the spec fields, the name rule
 * (tier prefix), and the defaults for `tier` and `types`.
 */
import { dnsLabelProblem, selector } from '../fields.js';
import { list, num, str, type Fields } from '../schema.js';
import type { PolicySpecCommon, PolicyType } from '../types.js';
import { rules } from './rule.js';

export const DEFAULT_TIER = 'default';

export const policyFields: Fields = {
  tier: str({ test: dnsLabelProblem }),
  order: num(),
  selector,
  types: list(str({ oneOf: ['Ingress', 'Egress'] }), { unique: true }),
  ingress: rules,
  egress: rules,
  serviceAccountSelector: selector,
  performanceHints: list(str({ oneOf: ['AssumeNeededOnEveryNode'] }), { unique: true }),
};

/**
 * A policy in tier T is named `T.<name>`; in the default tier the prefix is optional
 * (`default.<name>` or `<name>`). The part after the prefix is a DNS-1123 label.
 */
export function policyNameProblem(name: string, tier: string | undefined): string | undefined {
  const t = tier ?? DEFAULT_TIER;
  const dot = name.indexOf('.');
  if (dot < 0) {
    if (t !== DEFAULT_TIER) return `a policy in tier ${JSON.stringify(t)} must be named "${t}.<name>", not ${JSON.stringify(name)}`;
    return dnsLabelProblem(name);
  }
  const prefix = name.slice(0, dot);
  if (prefix !== t) {
    return `the name prefix ${JSON.stringify(prefix)} does not match the policy's tier ${JSON.stringify(t)}; name it "${t}.${name.slice(dot + 1)}"`;
  }
  if (name.length > 253) return `${JSON.stringify(name)} is ${name.length} characters long; a name has at most 253`;
  return dnsLabelProblem(name.slice(dot + 1));
}

/**
 * Calico's rule for unset `types`: Egress alone if there are egress rules but no ingress
 * rules, both if there are both, otherwise Ingress.
 */
export function defaultTypes(spec: PolicySpecCommon): PolicyType[] {
  const hasIngress = (spec.ingress?.length ?? 0) > 0;
  const hasEgress = (spec.egress?.length ?? 0) > 0;
  if (hasEgress && !hasIngress) return ['Egress'];
  if (hasEgress && hasIngress) return ['Ingress', 'Egress'];
  return ['Ingress'];
}

export function policyDefaults<S extends PolicySpecCommon>(spec: S): S {
  return { ...spec, tier: spec.tier ?? DEFAULT_TIER, types: spec.types ?? defaultTypes(spec) };
}
