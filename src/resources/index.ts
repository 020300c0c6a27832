/**
 * Resources: the projectcalico.org/v3 kinds tabby stores (plus Kubernetes NetworkPolicy and
 * Namespace), their strict validation with Calico's rules and defaults, and their YAML,
 * JSON and stored (etcd) forms. See docs/design/resources.md.
 *
 * - `parseDocuments(text, source)` never throws for bad input: it returns the valid
 *   resources and every issue; `assertValid` throws `ResourceValidationError` if any.
 * - `validateResource(obj)` throws `ResourceValidationError` listing every problem.
 * - Everything returned is defaulted (`withDefaults`).
 */
export * from './types.js';
export { ResourceValidationError, UnknownKindError, formatIssue, type ValidationIssue } from './errors.js';
export type { KindInfo } from './kind-definition.js';
export { kindInfo, kindInfoOf, allKinds } from './registry.js';
export { parseDocuments, assertValid, type ParsedDocuments } from './documents.js';
export { validateResource, withDefaults, resourceRef, DEFAULT_NAMESPACE } from './validate.js';
export { toStored, fromStored, toYAML, toJSON, storageKeyParts, type StorageKeyParts } from './serialize.js';
export { parsePeerIP } from './kinds/bgppeer.js';
