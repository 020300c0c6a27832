import type { SelectorNode, ValueOp } from './ast.js';
import { SelectorSyntaxError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

/**
 * Recursive descent over the token list. Precedence, loosest first: `||`, `&&`, `!`.
 *
 *   or      := and ( '||' and )*
 *   and     := unary ( '&&' unary )*
 *   unary   := '!' unary | primary
 *   primary := '(' or ')' | 'has' '(' label ')' | 'all' '(' ')' | 'global' '(' ')'
 *            | label ( '==' str | '!=' str | 'contains' str | 'starts' 'with' str
 *                    | 'ends' 'with' str | 'in' set | 'not' 'in' set )
 *   set     := '{' [ str ( ',' str )* ] '}'
 *
 * An empty (or all-blank) selector means `all()`.
 */
export function parseSelectorAst(text: string): SelectorNode {
  const tokens = tokenize(text);
  if (tokens[0]?.kind === 'eof') return { type: 'all' };
  const p = new Parser(text, tokens);
  const node = p.parseOr();
  const rest = p.peek();
  if (rest.kind !== 'eof') {
    p.fail(rest, `unexpected ${describe(rest)} after a complete expression (expected '&&', '||' or the end)`);
  }
  return node;
}

const OPERATORS_HINT = "an operator (==, !=, in, not in, contains, starts with, ends with)";

class Parser {
  private i = 0;

  constructor(private readonly text: string, private readonly tokens: Token[]) {}

  peek(offset = 0): Token {
    // The last token is always eof, so clamp to it.
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  fail(at: Token, reason: string): never {
    throw new SelectorSyntaxError(this.text, at.pos, reason);
  }

  parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.next();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? (operands[0] as SelectorNode) : { type: 'or', operands };
  }

  private parseAnd(): SelectorNode {
    const operands = [this.parseUnary()];
    while (this.peek().kind === 'and') {
      this.next();
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? (operands[0] as SelectorNode) : { type: 'and', operands };
  }

  private parseUnary(): SelectorNode {
    if (this.peek().kind === 'not') {
      this.next();
      return { type: 'not', operand: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): SelectorNode {
    const t = this.next();
    if (t.kind === 'lparen') {
      const inner = this.parseOr();
      this.expect('rparen', "expected ')'");
      return inner;
    }
    if (t.kind !== 'word') {
      this.fail(t, `expected a label, '(', '!', has(), all() or global() but found ${describe(t)}`);
    }
    if (this.peek().kind === 'lparen' && (t.text === 'has' || t.text === 'all' || t.text === 'global')) {
      this.next();
      if (t.text === 'has') {
        const label = this.expect('word', 'expected a label name inside has()');
        this.expect('rparen', "expected ')' to close has(");
        return { type: 'has', label: label.text };
      }
      this.expect('rparen', `expected ')' (${t.text}() takes no arguments)`);
      return { type: t.text === 'all' ? 'all' : 'global' };
    }
    return this.parseComparison(t.text);
  }

  private parseComparison(label: string): SelectorNode {
    const op = this.next();
    const value = (type: ValueOp): SelectorNode => ({ type, label, value: this.expectString() });
    if (op.kind === 'eq') return value('eq');
    if (op.kind === 'ne') return value('ne');
    if (op.kind === 'word') {
      switch (op.text) {
        case 'contains':
          return value('contains');
        case 'starts':
          this.expectWord('with', "expected 'with' after 'starts'");
          return value('startsWith');
        case 'ends':
          this.expectWord('with', "expected 'with' after 'ends'");
          return value('endsWith');
        case 'in':
          return { type: 'in', label, values: this.parseSet() };
        case 'not':
          this.expectWord('in', "expected 'in' after 'not'");
          return { type: 'notIn', label, values: this.parseSet() };
      }
    }
    return this.fail(op, `expected ${OPERATORS_HINT} after label ${JSON.stringify(label)} but found ${describe(op)}`);
  }

  private parseSet(): string[] {
    this.expect('lbrace', "expected '{' to start a set of quoted strings");
    const values = new Set<string>();
    if (this.peek().kind === 'rbrace') {
      this.next();
      return [];
    }
    while (true) {
      values.add(this.expectString());
      const t = this.next();
      if (t.kind === 'rbrace') break;
      if (t.kind !== 'comma') this.fail(t, `expected ',' or '}' in a set but found ${describe(t)}`);
    }
    return [...values].sort(compareStrings);
  }

  private expectString(): string {
    const t = this.next();
    if (t.kind !== 'string') this.fail(t, 'expected a quoted string');
    return t.text;
  }

  private expect(kind: Token['kind'], reason: string): Token {
    const t = this.next();
    if (t.kind !== kind) this.fail(t, `${reason} but found ${describe(t)}`);
    return t;
  }

  private expectWord(word: string, reason: string): void {
    const t = this.next();
    if (t.kind !== 'word' || t.text !== word) this.fail(t, `${reason} but found ${describe(t)}`);
  }
}

/** Code-unit order, so the result never depends on the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the selector';
    case 'word':
      return `'${t.text}'`;
    case 'string':
      return `the string ${JSON.stringify(t.text)}`;
    default:
      return `'${t.text}'`;
  }
}
