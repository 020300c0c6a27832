/** The BGP RIB: Adj-RIB-In, Loc-RIB with recorded decisions, Adj-RIB-Out; pure apply(event) -> changes. */
export * from './types.js';
export { Rib } from './rib.js';
export { selectBest, localPrefOf, neighbourAs, type Decision } from './decision.js';
export { exportRoute, mayExport, attributesKey } from './export-policy.js';
export { importUpdate, type ImportResult, type ImportedRoutes } from './import-policy.js';
export { prefixKey, prefixAfi, prefixId, prefixOfId, prefixIdKey, type PrefixId } from './prefix-key.js';
