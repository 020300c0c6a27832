import { asNumber, duration, ipAddress, selector } from '../fields.js';
import { parseIP } from '../../net/ip-address.js';
import type { KindDefinition } from '../kind-definition.js';
import { bool, int, list, obj, refine, str, type Ctx } from '../schema.js';
import { CALICO_API_VERSION, type BGPPeer, type BGPPeerSpec } from '../types.js';
import { secretSource } from './bgp-common.js';

/** "10.0.0.1", "fd00::1", "10.0.0.1:1179" or "[fd00::1]:1179". */
export function parsePeerIP(s: string): { ip: string; port?: number } | undefined {
  const v6port = /^\[([^\]]+)\]:([0-9]+)$/.exec(s);
  const v4port = /^([0-9.]+):([0-9]+)$/.exec(s);
  const m = v6port ?? v4port;
  if (m) {
    const ip = m[1] as string;
    const port = Number(m[2]);
    if (!parseIP(ip) || port < 1 || port > 65535) return undefined;
    return { ip, port };
  }
  return parseIP(s) ? { ip: s } : undefined;
}

const peerIP = str({
  test: (s) =>
    parsePeerIP(s) ? undefined : `${JSON.stringify(s)} is not a peer address; use an IP, "<IPv4>:<port>" or "[<IPv6>]:<port>" (port 1-65535)`,
});

const fields = obj<BGPPeerSpec>({
  node: str({ nonEmpty: true }),
  nodeSelector: selector,
  peerIP,
  peerSelector: selector,
  asNumber,
  password: secretSource,
  sourceAddress: str({ oneOf: ['UseNodeIP', 'None'] }),
  keepaliveTime: duration,
  maxRestartTime: duration,
  keepOriginalNextHop: bool(),
  numAllowedLocalASNumbers: int({ min: 0, max: 10 }),
  ttlSecurity: int({ min: 0, max: 255 }),
  reachableBy: ipAddress,
  filters: list(str({ nonEmpty: true }), { unique: true }),
});

function crossChecks(spec: BGPPeerSpec, ctx: Ctx): void {
  if (spec.node !== undefined && spec.nodeSelector !== undefined) {
    ctx.at('node').error('node and nodeSelector cannot both be set: node picks one node, nodeSelector picks a set; keep one');
  }
  if (spec.peerIP !== undefined && spec.peerSelector !== undefined) {
    ctx.at('peerIP').error('peerIP and peerSelector cannot both be set: peerSelector peers with the selected Calico nodes at their own addresses');
  }
  if (spec.asNumber !== undefined && spec.peerSelector !== undefined) {
    ctx.at('asNumber').error('asNumber must be empty when peerSelector is set (the selected nodes\' own AS numbers are used)');
  }
  if (spec.peerSelector === undefined) {
    if (spec.peerIP === undefined) ctx.at('peerIP').error('is required unless peerSelector is set');
    if (spec.asNumber === undefined) ctx.at('asNumber').error('is required unless peerSelector is set');
  }
  if (spec.reachableBy !== undefined && spec.peerIP !== undefined) {
    const peer = parsePeerIP(spec.peerIP);
    if (peer && parseIP(peer.ip)?.version !== parseIP(spec.reachableBy)?.version) {
      ctx.at('reachableBy').error('must be the same IP version as peerIP');
    }
  }
}

export const bgpPeerKind: KindDefinition<BGPPeer> = {
  info: {
    kind: 'BGPPeer',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'bgppeers',
    namespaced: false,
    shortNames: ['bgppeer', 'bgppeers', 'bgpp', 'peer', 'peers'],
  },
  checkSpec: (spec, ctx) => refine(fields, crossChecks)(spec, ctx) ?? ({} as BGPPeerSpec),
  withDefaults: (spec) => ({ ...spec }),
};
