/**
 * The RIB's per-prefix storage, shaped for full tables. One Map goes from PrefixId to
 * either the prefix's only path (the common case: nothing else is allocated per prefix,
 * and that path is the best one) or a MultiPath holding each source's path and the last
 * decision. Paths are SharedPaths: every prefix of one UPDATE (and of later UPDATEs with
 * the same attributes from the same peer session) points at one object, counted so that
 * the intern pool forgets it once no prefix uses it.
 */
import type { PathAttributes, Prefix } from '../wire/index.js';
import type { PrefixId } from './prefix-key.js';
import { PrefixMap } from './prefix-map.js';
import type { DecisionStep, PathSource } from './types.js';

export interface SharedPath {
  readonly source: PathSource;
  /** One path per source per prefix: the peer id, or LOCAL_SID. */
  readonly sid: string;
  readonly attributes: PathAttributes;
  readonly stale: boolean;
  readonly afi: number;
  /** attributesKey(attributes), computed once: equal keys mean the same route. */
  readonly key: string;
  /** Prefixes pointing here. */
  refs: number;
  /** The intern pool holding this path under `poolKey`, if any. */
  readonly pool?: Map<string, SharedPath>;
  readonly poolKey?: string;
}

/** The source id of our own (originated) paths; peer ids are addresses, never this. */
export const LOCAL_SID = ' local';

/** A prefix with paths from several sources; best/reason are the last decision's. */
export class MultiPath {
  constructor(
    public paths: SharedPath[],
    public best: SharedPath,
    public reason: DecisionStep,
  ) {}
}

export type TableEntry = SharedPath | MultiPath;

/**
 * Each prefix an apply() call changed, in order, with its entry before the first change
 * (null when it had none), its entry after that change and, when the caller had one, its
 * Prefix object (reused in the changes instead of building another). When a prefix is
 * changed again `repeated` is set: the recorded `after` may then be out of date. MultiPath.best/reason are only written by the
 * decision, so an old MultiPath still tells what the best path was.
 *
 * A prefix the table does not hold cannot have been noted before unless a removal in this
 * call deleted its entry; so while nothing was deleted, new prefixes (all of a full feed)
 * skip the duplicate check, and the set of noted prefixes is only built once a note needs it.
 */
export class Touched {
  /** Smi-keyed like the table: far cheaper than a Map keyed by heap numbers. */
  #seen: PrefixMap<true> | undefined;
  #deleted = false;
  readonly ids: PrefixId[] = [];
  readonly before: Array<TableEntry | null> = [];
  readonly after: Array<TableEntry | undefined> = [];
  repeated = false;
  readonly prefixes: Array<Prefix | undefined> = [];

  get size(): number {
    return this.ids.length;
  }

  note(id: PrefixId, before: TableEntry | null, after: TableEntry | undefined, prefix: Prefix | undefined): void {
    if (before !== null || this.#deleted) {
      let seen = this.#seen;
      if (!seen) {
        this.#seen = seen = new PrefixMap<true>();
        for (const x of this.ids) seen.set(x, true);
      }
      if (seen.has(id)) {
        this.repeated = true;
        return;
      }
      seen.set(id, true);
    } else {
      this.#seen?.set(id, true);
    }
    this.ids.push(id);
    this.before.push(before);
    this.after.push(after);
    this.prefixes.push(prefix);
  }

  /** The table dropped a prefix's entry: from now on a prefix it does not hold may have been noted. */
  deleted(): void {
    this.#deleted = true;
  }

  clear(): void {
    this.#seen = undefined;
    this.#deleted = false;
    this.repeated = false;
    this.ids.length = 0;
    this.before.length = 0;
    this.after.length = 0;
    this.prefixes.length = 0;
  }
}

export const bestOf = (e: TableEntry | null | undefined): SharedPath | undefined => (e instanceof MultiPath ? e.best : e ?? undefined);
export const reasonOf = (e: TableEntry): DecisionStep => (e instanceof MultiPath ? e.reason : 'only-path');

/** The path `sid` has in an entry. */
export function pathOf(e: TableEntry, sid: string): SharedPath | undefined {
  if (!(e instanceof MultiPath)) return e.sid === sid ? e : undefined;
  for (const p of e.paths) if (p.sid === sid) return p;
  return undefined;
}

function release(p: SharedPath): void {
  if (--p.refs === 0 && p.pool && p.pool.get(p.poolKey as string) === p) p.pool.delete(p.poolKey as string);
}

export class RouteTable {
  readonly #entries = new PrefixMap<TableEntry>();

  get size(): number {
    return this.#entries.size;
  }

  get(id: PrefixId): TableEntry | undefined {
    return this.#entries.get(id);
  }

  entries(): Iterable<[PrefixId, TableEntry]> {
    return this.#entries.entries();
  }

  /** Makes `path` its source's path to `id`; returns the path it replaced. */
  set(id: PrefixId, path: SharedPath, touched: Touched, prefix?: Prefix): SharedPath | undefined {
    const cur = this.#entries.get(id);
    path.refs++;
    if (cur === undefined) {
      this.#entries.set(id, path);
      touched.note(id, null, path, prefix);
      return undefined;
    }
    if (cur instanceof MultiPath) {
      touched.note(id, cur, cur, prefix);
      const i = cur.paths.findIndex((p) => p.sid === path.sid);
      if (i < 0) {
        cur.paths.push(path);
        return undefined;
      }
      const old = cur.paths[i]!;
      cur.paths[i] = path;
      release(old);
      return old;
    }
    if (cur.sid === path.sid) {
      this.#entries.set(id, path);
      touched.note(id, cur, path, prefix);
      release(cur);
      return cur;
    }
    // A second source: best/reason are placeholders until the decision runs.
    const multi = new MultiPath([cur, path], cur, 'only-path');
    this.#entries.set(id, multi);
    touched.note(id, cur, multi, prefix);
    return undefined;
  }

  /** Removes the path of `sid` to `id`; returns it (undefined when there was none). */
  remove(id: PrefixId, sid: string, touched: Touched, prefix?: Prefix): SharedPath | undefined {
    const cur = this.#entries.get(id);
    if (cur === undefined) return undefined;
    let old: SharedPath;
    if (cur instanceof MultiPath) {
      const i = cur.paths.findIndex((p) => p.sid === sid);
      if (i < 0) return undefined;
      old = cur.paths[i]!;
      cur.paths.splice(i, 1);
      if (cur.paths.length === 1) {
        this.#entries.set(id, cur.paths[0]!);
        touched.note(id, cur, cur.paths[0], prefix);
      } else {
        touched.note(id, cur, cur, prefix);
      }
    } else {
      if (cur.sid !== sid) return undefined;
      old = cur;
      this.#entries.delete(id);
      touched.note(id, cur, undefined, prefix);
      touched.deleted();
    }
    release(old);
    return old;
  }
}
