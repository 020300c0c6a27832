import { maskedCIDR, selector } from '../fields.js';
import { cidrsOverlap, parseCIDR, type CIDR } from '../../net/ip-address.js';
import type { KindDefinition } from '../kind-definition.js';
import { bool, int, isPlainObject, list, obj, required, str, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type IPPool, type IPPoolSpec } from '../types.js';

const ENCAP_MODES = ['Never', 'Always', 'CrossSubnet'] as const;
const LINK_LOCAL_V4 = parseCIDR('169.254.0.0/16') as CIDR;
const LINK_LOCAL_V6 = parseCIDR('fe80::/10') as CIDR;

const fields = obj<IPPoolSpec>({
  cidr: required(maskedCIDR),
  vxlanMode: str({ oneOf: ENCAP_MODES }),
  ipipMode: str({ oneOf: ENCAP_MODES }),
  natOutgoing: bool(),
  disabled: bool(),
  disableBGPExport: bool(),
  blockSize: int(),
  nodeSelector: selector,
  allowedUses: list(str({ oneOf: ['Workload', 'Tunnel', 'LoadBalancer'] }), { unique: true }),
  assignmentMode: str({ oneOf: ['Automatic', 'Manual'] }),
});

/**
 * `rawCidr` is the CIDR as written: an unmasked CIDR is reported by the field check but its
 * IP version still decides which blockSize range and encapsulations apply.
 */
function crossChecks(spec: IPPoolSpec, ctx: Ctx, rawCidr: unknown): void {
  const cidr = typeof rawCidr === 'string' ? parseCIDR(rawCidr) : undefined;
  const encapOn = (m: string | undefined): boolean => m === 'Always' || m === 'CrossSubnet';
  if (encapOn(spec.ipipMode) && encapOn(spec.vxlanMode)) {
    ctx.at('ipipMode').error('ipipMode and vxlanMode cannot both be enabled on the same pool; set one of them to Never');
  }
  if (!cidr) return;
  if (cidr.version === 6 && encapOn(spec.ipipMode)) {
    ctx.at('ipipMode').error(`IPIP is not supported on an IPv6 pool; set ipipMode to Never (or use vxlanMode)`);
  }
  if (cidr.version === 4 && cidrsOverlap(cidr, LINK_LOCAL_V4)) {
    ctx.at('cidr').error(`${String(rawCidr)} overlaps the IPv4 link-local range 169.254.0.0/16, which Calico reserves`);
  }
  if (cidr.version === 6 && cidrsOverlap(cidr, LINK_LOCAL_V6)) {
    ctx.at('cidr').error(`${String(rawCidr)} overlaps the IPv6 link-local range fe80::/10`);
  }
  const [min, max] = cidr.version === 4 ? [20, 32] : [116, 128];
  const blockSize = spec.blockSize ?? (cidr.version === 4 ? 26 : 122);
  if (spec.blockSize !== undefined && (spec.blockSize < min || spec.blockSize > max)) {
    ctx.at('blockSize').error(`${spec.blockSize} is out of range for an IPv${cidr.version} pool; allowed: ${min} to ${max}`);
  } else if (blockSize < cidr.prefix && !spec.disabled) {
    // As Calico: only an enabled pool must hold at least one whole block.
    ctx.at('blockSize').error(`a /${blockSize} block does not fit in the /${cidr.prefix} pool ${String(rawCidr)}; use a blockSize of at least ${cidr.prefix} or a larger pool`);
  }
}

export const ipPoolKind: KindDefinition<IPPool> = {
  info: {
    kind: 'IPPool',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'ippools',
    namespaced: false,
    shortNames: ['ippool', 'ippools', 'ipp', 'pool', 'pools'],
  },
  checkSpec(spec, ctx) {
    const checked = fields(spec, ctx);
    if (checked) crossChecks(checked, ctx, isPlainObject(spec) ? spec.cidr : undefined);
    return checked ?? ({} as IPPoolSpec);
  },
  withDefaults(spec) {
    const v6 = spec.cidr?.includes(':');
    return {
      ...spec,
      vxlanMode: spec.vxlanMode ?? 'Never',
      ipipMode: spec.ipipMode ?? 'Never',
      natOutgoing: spec.natOutgoing ?? false,
      disabled: spec.disabled ?? false,
      blockSize: spec.blockSize ?? (v6 ? 122 : 26),
      nodeSelector: spec.nodeSelector ?? 'all()',
      allowedUses: spec.allowedUses ?? ['Workload', 'Tunnel'],
    };
  },
};
