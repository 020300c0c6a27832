import { SelectorSyntaxError } from './errors.js';

/**
 * Tokens carry their start offset so the parser can point at the exact character that is
 * wrong. Words (label names and the operator keywords `in`, `not`, `contains`, `starts`,
 * `ends`, `with`, `has`, `all`, `global`) are one token kind: which they are depends on where
 * they stand, and the parser knows that, not the lexer. This lets a label be called `in` or
 * `all`, as Calico allows.
 */
export type TokenKind =
  | 'word' | 'string' | 'lparen' | 'rparen' | 'lbrace' | 'rbrace' | 'comma'
  | 'eq' | 'ne' | 'not' | 'and' | 'or' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The word, or the string literal's content without quotes. */
  text: string;
  pos: number;
}

/** Characters allowed in a label key: letters, digits, `_`, `.`, `/`, `-` (as Calico). */
const WORD_CHAR = /[A-Za-z0-9_./-]/;
/** Calico caps a label key at 512 characters. */
export const MAX_LABEL_LENGTH = 512;

const PUNCT: Record<string, TokenKind> = {
  '(': 'lparen', ')': 'rparen', '{': 'lbrace', '}': 'rbrace', ',': 'comma',
};

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = input.length;
  while (true) {
    while (i < n && (input[i] === ' ' || input[i] === '\t' || input[i] === '\n' || input[i] === '\r')) i++;
    if (i >= n) {
      tokens.push({ kind: 'eof', text: '', pos: n });
      return tokens;
    }
    const c = input[i] as string;
    const punct = PUNCT[c];
    if (punct) {
      tokens.push({ kind: punct, text: c, pos: i });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      // Calico strings have no escapes: a double-quoted string may hold ' and a
      // single-quoted one may hold ", but a value cannot contain both kinds.
      const end = input.indexOf(c, i + 1);
      if (end === -1) throw new SelectorSyntaxError(input, i, `unterminated string (no closing ${c})`);
      tokens.push({ kind: 'string', text: input.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    const next = input[i + 1];
    if (c === '=') {
      if (next !== '=') throw new SelectorSyntaxError(input, i, "unexpected '=' (equality is '==')");
      tokens.push({ kind: 'eq', text: '==', pos: i });
      i += 2;
      continue;
    }
    if (c === '!') {
      if (next === '=') {
        tokens.push({ kind: 'ne', text: '!=', pos: i });
        i += 2;
      } else {
        tokens.push({ kind: 'not', text: '!', pos: i });
        i++;
      }
      continue;
    }
    if (c === '&' || c === '|') {
      if (next !== c) throw new SelectorSyntaxError(input, i, `unexpected '${c}' (did you mean '${c}${c}'?)`);
      tokens.push({ kind: c === '&' ? 'and' : 'or', text: c + c, pos: i });
      i += 2;
      continue;
    }
    if (WORD_CHAR.test(c)) {
      const start = i;
      while (i < n && WORD_CHAR.test(input[i] as string)) i++;
      if (i - start > MAX_LABEL_LENGTH) {
        throw new SelectorSyntaxError(input, start, `label is longer than ${MAX_LABEL_LENGTH} characters`);
      }
      tokens.push({ kind: 'word', text: input.slice(start, i), pos: start });
      continue;
    }
    throw new SelectorSyntaxError(input, i, `unexpected character ${JSON.stringify(c)}`);
  }
}
