import { dnsLabelProblem } from '../fields.js';
import type { KindDefinition } from '../kind-definition.js';
import { list, obj, str } from '../schema.js';
import { K8S_CORE_API_VERSION, type Namespace, type NamespaceSpec } from '../types.js';

const fields = obj<NamespaceSpec>({ finalizers: list(str({ nonEmpty: true })) });

/** Kubernetes v1 Namespace: only its name and labels matter here (namespaceSelector). */
export const namespaceKind: KindDefinition<Namespace> = {
  info: {
    kind: 'Namespace',
    apiVersion: K8S_CORE_API_VERSION,
    group: 'core',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['namespace', 'namespaces', 'ns'],
  },
  specOptional: true,
  checkSpec: (spec, ctx) => fields(spec, ctx) ?? {},
  nameProblem: dnsLabelProblem,
  withDefaults: (spec) => ({ ...spec }),
};
