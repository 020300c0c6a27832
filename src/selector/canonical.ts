import type { SelectorNode } from './ast.js';

const VALUE_OPS = {
  eq: '==',
  ne: '!=',
  contains: 'contains',
  startsWith: 'starts with',
  endsWith: 'ends with',
} as const;

/**
 * The canonical text of a selector, in Calico's style: strings in double quotes (single
 * quotes when the value itself holds a double quote), one space around binary operators,
 * every `&&`/`||` group wrapped in parentheses, `!` written directly before its operand,
 * set members sorted and joined with ", ". Two selectors that parse to the same AST have
 * the same canonical text, and `parse(canonical(ast))` equals `ast`.
 */
export function canonical(node: SelectorNode): string {
  switch (node.type) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return `${node.label} ${VALUE_OPS[node.type]} ${quote(node.value)}`;
    case 'in':
    case 'notIn':
      return `${node.label} ${node.type === 'in' ? 'in' : 'not in'} {${node.values.map(quote).join(', ')}}`;
    case 'not':
      return `!${canonical(node.operand)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map(canonical).join(node.type === 'and' ? ' && ' : ' || ')})`;
  }
}

function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}
