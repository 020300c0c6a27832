/**
 * The messages that turn one desired state into the next: an Update for every entry that is
 * new or changed, an explicit Remove for every entry that is gone, nothing for the rest.
 */
import type { DataplaneMessage } from '../dataplane/messages.js';
import type { DesiredState } from './desired-state.js';

/** Structural equality of plain JSON-like values (key order does not matter). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function diffMap<K, V extends DataplaneMessage>(prev: Map<K, V>, next: Map<K, V>, remove: (key: K, old: V) => DataplaneMessage, out: DataplaneMessage[]): void {
  for (const [k, v] of next) {
    const old = prev.get(k);
    if (!old || !sameValue(old, v)) out.push(v);
  }
  for (const [k, old] of prev) if (!next.has(k)) out.push(remove(k, old));
}

export function diffDesiredState(prev: DesiredState, next: DesiredState): DataplaneMessage[] {
  const out = diffAllButRoutes(prev, next);
  diffMap(prev.routes, next.routes, (dst) => ({ type: 'RouteRemove', dst }), out);
  return out;
}

/** The messages for hosts, pools and endpoints only (routes are diffed by the caller). */
export function diffAllButRoutes(prev: DesiredState, next: DesiredState): DataplaneMessage[] {
  const out: DataplaneMessage[] = [];
  diffMap(prev.hosts, next.hosts, (hostname) => ({ type: 'HostMetadataRemove', hostname }), out);
  diffMap(prev.pools, next.pools, (id) => ({ type: 'IPPoolRemove', id }), out);
  diffMap(prev.endpoints, next.endpoints, (_k, old) => ({ type: 'WorkloadEndpointRemove', id: old.id }), out);
  return out;
}
