/**
 * The kind registry: every kind tabby knows, looked up by (apiVersion, kind) when decoding
 * and by name or alias (`pool`, `gnp`, `hep`, ...) for the CLI.
 */
import { UnknownKindError } from './errors.js';
import type { KindDefinition, KindInfo } from './kind-definition.js';
import { bgpConfigurationKind } from './kinds/bgpconfiguration.js';
import { bgpPeerKind } from './kinds/bgppeer.js';
import { globalNetworkPolicyKind } from './kinds/globalnetworkpolicy.js';
import { hostEndpointKind } from './kinds/hostendpoint.js';
import { ipPoolKind } from './kinds/ippool.js';
import { k8sNetworkPolicyKind } from './kinds/k8s-networkpolicy.js';
import { namespaceKind } from './kinds/namespace.js';
import { networkPolicyKind } from './kinds/networkpolicy.js';
import { nodeKind } from './kinds/node.js';
import { profileKind } from './kinds/profile.js';
import { workloadEndpointKind } from './kinds/workloadendpoint.js';
import type { Resource } from './types.js';

export const KIND_DEFINITIONS: readonly KindDefinition[] = [
  ipPoolKind,
  bgpConfigurationKind,
  bgpPeerKind,
  nodeKind,
  networkPolicyKind,
  globalNetworkPolicyKind,
  hostEndpointKind,
  workloadEndpointKind,
  profileKind,
  k8sNetworkPolicyKind,
  namespaceKind,
] as unknown as readonly KindDefinition[];

/** Finds the definition for a document's apiVersion and kind. */
export function definitionFor(apiVersion: string, kind: string): KindDefinition | undefined {
  return KIND_DEFINITIONS.find((d) => d.info.apiVersion === apiVersion && d.info.kind === kind);
}

export function definitionOf(resource: Pick<Resource, 'apiVersion' | 'kind'>): KindDefinition {
  const d = definitionFor(resource.apiVersion, resource.kind);
  if (!d) throw new UnknownKindError(`${resource.apiVersion}/${resource.kind}`, knownKindNames());
  return d;
}

/** All definitions whose kind is `kind`, whatever their apiVersion (NetworkPolicy has two). */
export function definitionsNamed(kind: string): KindDefinition[] {
  return KIND_DEFINITIONS.filter((d) => d.info.kind === kind);
}

function knownKindNames(): string[] {
  return KIND_DEFINITIONS.map((d) => (d.info.group === 'projectcalico.org' ? d.info.kind : `${d.info.kind} (${d.info.apiVersion})`));
}

/**
 * Resolves a kind name or alias, case-insensitively: `IPPool`, `ippools`, `pool`, `gnp`, ...
 * A bare `NetworkPolicy`/`policy` means Calico's; Kubernetes' is `knp` or
 * `networkpolicies.networking.k8s.io`. Throws `UnknownKindError` listing the known kinds.
 */
export function kindInfo(kindOrAlias: string): KindInfo {
  const want = kindOrAlias.toLowerCase();
  const d =
    KIND_DEFINITIONS.find((k) => k.info.kind.toLowerCase() === want && k.info.group === 'projectcalico.org') ??
    KIND_DEFINITIONS.find((k) => k.info.kind.toLowerCase() === want || k.info.shortNames.includes(want));
  if (!d) throw new UnknownKindError(kindOrAlias, knownKindNames());
  return { ...d.info, shortNames: [...d.info.shortNames] };
}

/** The KindInfo of a resource, by its apiVersion and kind (tells the two NetworkPolicy kinds apart). */
export function kindInfoOf(resource: Pick<Resource, 'apiVersion' | 'kind'>): KindInfo {
  const { info } = definitionOf(resource);
  return { ...info, shortNames: [...info.shortNames] };
}

/** Every kind, for `tabby get` help and completion. */
export function allKinds(): KindInfo[] {
  return KIND_DEFINITIONS.map((d) => ({ ...d.info, shortNames: [...d.info.shortNames] }));
}
