/**
 * Calico policy rules (shared by NetworkPolicy, GlobalNetworkPolicy and Profile): the strict
 * shape plus the rules that tie fields together (ports need a protocol with ports, ICMP
 * fields need an ICMP protocol, one IP version per rule, global() only alone in a
 * namespaceSelector).
 */
import { cidrOrIP, labelKeyProblem, port, protocol, protocolHasPorts, protocolNumber, selectorProblem, selector } from '../fields.js';
import { parseCIDROrIP } from '../../net/ip-address.js';
import { int, list, obj, refine, required, str, stringMap, type Check, type Ctx } from '../schema.js';
import type { EntityRule, ICMPFields, Rule } from '../types.js';

const namespaceSelector = str({
  test: (s) => {
    const problem = selectorProblem(s, { allowGlobal: true });
    if (problem) return problem;
    if (/global\(\)/.test(s) && !/^\s*global\(\s*\)\s*$/.test(s)) {
      return 'global() must be the whole namespaceSelector, not combined with other expressions';
    }
    return undefined;
  },
});

const entityRuleFields = obj<EntityRule>({
  nets: list(cidrOrIP),
  notNets: list(cidrOrIP),
  selector,
  notSelector: selector,
  namespaceSelector,
  ports: list(port),
  notPorts: list(port),
  serviceAccounts: obj({ names: list(str({ nonEmpty: true })), selector }),
  services: obj({ name: str(), namespace: str() }),
});

export const entityRule: Check<EntityRule> = refine(entityRuleFields, (e, ctx) => {
  if (e.services !== undefined) {
    if (!e.services.name) ctx.at('services', 'name').error('is required: name the service to match');
    const clash = (['namespaceSelector', 'selector', 'notSelector', 'serviceAccounts', 'nets', 'notNets'] as const).filter((f) => e[f] !== undefined);
    if (clash.length > 0) ctx.at('services').error(`cannot be combined with ${clash.join(', ')} in the same rule side`);
  }
});

const icmpFields = refine(
  obj<ICMPFields>({ type: int({ min: 0, max: 254 }), code: int({ min: 0, max: 255 }) }),
  (icmp, ctx) => {
    if (icmp.code !== undefined && icmp.type === undefined) ctx.at('code').error('an ICMP code needs an ICMP type as well');
  },
);

const ruleFields = obj<Rule>({
  action: required(str({ oneOf: ['Allow', 'Deny', 'Log', 'Pass'] })),
  ipVersion: (v, ctx) => (v === 4 || v === 6 ? v : ctx.error(`${JSON.stringify(v)} is not an IP version; allowed values: 4, 6`)),
  protocol,
  notProtocol: protocol,
  icmp: icmpFields,
  notICMP: icmpFields,
  source: entityRule,
  destination: entityRule,
  http: obj({
    methods: list(str({ nonEmpty: true }), { unique: true }),
    paths: list(
      refine(
        obj<{ exact?: string; prefix?: string }>({ exact: str(), prefix: str() }),
        (p, ctx) => {
          const v = p.exact ?? p.prefix;
          if (p.exact !== undefined && p.prefix !== undefined) ctx.error('set exact or prefix, not both');
          else if (v === undefined) ctx.error('set exact or prefix');
          else if (!v.startsWith('/') || /[? #]/.test(v)) ctx.error(`path ${JSON.stringify(v)} must start with '/' and not contain '?', '#' or spaces`);
        },
      ),
    ),
  }),
  metadata: obj({ annotations: stringMap(str(), labelKeyProblem) }),
});

function ruleCrossChecks(rule: Rule, ctx: Ctx): void {
  if (!protocolHasPorts(rule.protocol)) {
    const why = rule.protocol === undefined ? 'no protocol is set' : `protocol ${rule.protocol} has no ports`;
    for (const side of ['source', 'destination'] as const) {
      for (const f of ['ports', 'notPorts'] as const) {
        if (rule[side]?.[f]?.length) {
          ctx.at(side, f).error(`ports are only allowed with protocol TCP, UDP, SCTP or UDPLite, but ${why}; set protocol`);
        }
      }
    }
  }
  const isICMP = (p: Rule['protocol']): boolean => p !== undefined && (protocolNumber(p) === 1 || protocolNumber(p) === 58);
  for (const f of ['icmp', 'notICMP'] as const) {
    if (rule[f] !== undefined && !isICMP(rule.protocol)) ctx.at(f).error('ICMP fields need protocol ICMP or ICMPv6');
  }
  const icmpVersion = (p: Rule['protocol']): number | undefined =>
    p === undefined ? undefined : protocolNumber(p) === 1 ? 4 : protocolNumber(p) === 58 ? 6 : undefined;
  for (const f of ['protocol', 'notProtocol'] as const) {
    const v = icmpVersion(rule[f]);
    if (v !== undefined && rule.ipVersion !== undefined && rule.ipVersion !== v) {
      ctx.at('ipVersion').error(`must be ${v} with ${f} ${String(rule[f])}`);
    }
  }
  // One rule matches one IP family: its CIDRs must agree with each other and with ipVersion.
  let seen: number | undefined;
  for (const side of ['source', 'destination'] as const) {
    for (const f of ['nets', 'notNets'] as const) {
      for (const n of rule[side]?.[f] ?? []) {
        const version = parseCIDROrIP(n)?.version;
        if (version === undefined) continue;
        if (rule.ipVersion !== undefined && version !== rule.ipVersion) {
          ctx.at(side, f).error(`${n} is IPv${version} but the rule has ipVersion ${rule.ipVersion}`);
          return;
        }
        if (seen !== undefined && seen !== version) {
          ctx.at(side, f).error('the rule mixes IPv4 and IPv6 CIDRs; split it into one rule per IP version');
          return;
        }
        seen = version;
      }
    }
  }
}

export const rule: Check<Rule> = refine(ruleFields, ruleCrossChecks);
export const rules: Check<Rule[]> = list(rule);
