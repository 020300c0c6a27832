/**
 * The selector AST. `and`/`or` are n-ary: `a && b && c` parses to one `and` with three
 * operands, while an explicitly parenthesised group stays its own node, so that
 * `parse(canonical(ast))` gives back exactly `ast`. `in`/`notIn` value lists are sorted and
 * de-duplicated at parse time (a set has no order), which keeps the canonical form stable.
 */
export type SelectorNode =
  | { type: 'all' }
  | { type: 'global' }
  | { type: 'has'; label: string }
  | { type: ValueOp; label: string; value: string }
  | { type: SetOp; label: string; values: string[] }
  | { type: 'not'; operand: SelectorNode }
  | { type: 'and' | 'or'; operands: SelectorNode[] };

/** Comparisons of one label against one string. */
export type ValueOp = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';
/** Comparisons of one label against a set of strings. */
export type SetOp = 'in' | 'notIn';

export type Labels = Readonly<Record<string, string>>;

export interface MatchOptions {
  /**
   * True when the thing being matched is not namespaced (a host endpoint, a global network
   * set). `global()` matches only then; used by namespaceSelector to reach global objects.
   */
  global?: boolean;
}
