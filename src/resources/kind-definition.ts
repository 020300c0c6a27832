import type { Ctx } from './schema.js';
import type { ObjectMeta, Resource } from './types.js';

/** What the registry knows about a kind. */
export interface KindInfo {
  kind: string;
  apiVersion: string;
  /**
   * API group used in the storage key: `/calico/resources/v3/<group>/<plural>/[<ns>/]<name>`.
   * `projectcalico.org` for Calico kinds (Calico's own layout), `networking.k8s.io` for
   * Kubernetes NetworkPolicy and `core` for Namespace, so the two NetworkPolicy kinds never
   * share keys.
   */
  group: string;
  plural: string;
  namespaced: boolean;
  /** Names the CLI accepts for the kind (lowercase), including the plural. */
  shortNames: string[];
}

/** One kind's schema: strict spec check (with its cross-field rules), name rule, defaults. */
export interface KindDefinition<R extends Resource = Resource> {
  info: KindInfo;
  /** True when a document may leave `spec` out (it then reads as `{}`). */
  specOptional?: boolean;
  /** Checks `spec`, reporting through `ctx` (already at path `spec`); returns what passed. */
  checkSpec(spec: unknown, ctx: Ctx, meta: ObjectMeta): R['spec'];
  /** Extra rule for `metadata.name` beyond the default DNS-1123 subdomain check. */
  nameProblem?(name: string, spec: R['spec']): string | undefined;
  /** Returns the spec with Calico's defaults filled in (never mutates its input). */
  withDefaults(spec: R['spec'], meta: ObjectMeta): R['spec'];
}
