import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical, parseSelector, parseSelectorAst, SelectorSyntaxError, type SelectorNode } from './index.js';

const labels = { app: 'web', tier: 'front-end', 'projectcalico.org/namespace': 'prod', 'k8s.io/role': "it's", env: '' };
const m = (sel: string, l: Record<string, string> = labels, opts?: { global?: boolean }): boolean =>
  parseSelector(sel).matches(l, opts);

describe('selector evaluation', () => {
  it.each([
    ["app == 'web'", true],
    ['app == "db"', false],
    ['missing == "x"', false],
    ["app != 'db'", true],
    ["app != 'web'", false],
    ["missing != 'x'", true],
    ["app in {'db', 'web'}", true],
    ["app in {'db'}", false],
    ['app in {}', false],
    ["missing in {'x'}", false],
    ["app not in {'db'}", true],
    ["app not in {'web', 'db'}", false],
    ["missing not in {'x'}", true],
    ['has(app)', true],
    ['has(missing)', false],
    ['has(env)', true],
    ['env == ""', true],
    ['!has(missing)', true],
    ['!has(app)', false],
    ["tier contains 'nt-e'", true],
    ["tier contains 'x'", false],
    ["missing contains ''", false],
    ["tier starts with 'front'", true],
    ["tier starts with 'end'", false],
    ["tier ends with 'end'", true],
    ["tier ends with 'front'", false],
    ["projectcalico.org/namespace == 'prod'", true],
    ['k8s.io/role == "it\'s"', true],
    ['all()', true],
    ['', true],
    ['   ', true],
    ["app == 'web' && tier == 'front-end'", true],
    ["app == 'web' && tier == 'x'", false],
    ["app == 'x' || tier == 'front-end'", true],
    ["app == 'x' || tier == 'y'", false],
    ["(app == 'web')", true],
    ["!(app == 'web' && has(tier))", false],
  ])('%s -> %s', (sel, want) => {
    expect(m(sel)).toBe(want);
  });

  it('does not read inherited properties as labels', () => {
    expect(m('has(constructor)', {})).toBe(false);
    expect(m("toString == 'x'", {})).toBe(false);
  });

  it('global() matches only non-namespaced objects', () => {
    expect(m('global()', {})).toBe(false);
    expect(m('global()', {}, { global: true })).toBe(true);
    expect(m('!global()', {}, { global: false })).toBe(true);
  });
});

describe('precedence', () => {
  // Each case distinguishes the intended grouping from the other one.
  it('&& binds tighter than ||', () => {
    // a || (b && c) is true; (a || b) && c would be false.
    expect(m("app == 'web' || has(x) && has(y)")).toBe(true);
    expect(canonical(parseSelectorAst('has(a) || has(b) && has(c)'))).toBe('(has(a) || (has(b) && has(c)))');
  });
  it('! binds tighter than &&', () => {
    // (!has(x)) && has(app) is true; !(has(x) && has(app)) is also true, so use has(app) first:
    // (!has(app)) && has(x) is false, !(has(app) && has(x)) is true.
    expect(m('!has(app) && has(x)')).toBe(false);
    expect(canonical(parseSelectorAst('!has(a) && has(b)'))).toBe('(!has(a) && has(b))');
  });
  it('! binds tighter than ||', () => {
    expect(m('!has(app) || has(app)')).toBe(true);
    expect(canonical(parseSelectorAst('!has(a) || has(b)'))).toBe('(!has(a) || has(b))');
  });
  it('parentheses override', () => {
    expect(m("(app == 'web' || has(x)) && has(y)")).toBe(false);
    expect(m("!(has(app) || has(x))")).toBe(false);
  });
  it('double negation', () => {
    expect(m('!!has(app)')).toBe(true);
  });
});

describe('quoting', () => {
  it('accepts both quote kinds with the same meaning', () => {
    expect(parseSelector("a == 'x'").toString()).toBe(parseSelector('a == "x"').toString());
  });
  it('lets each quote kind hold the other', () => {
    expect(m(`q == 'say "hi"'`, { q: 'say "hi"' })).toBe(true);
    expect(m(`q == "it's"`, { q: "it's" })).toBe(true);
    expect(parseSelector(`q == 'say "hi"'`).toString()).toBe(`q == 'say "hi"'`);
    expect(parseSelector(`q == "it's"`).toString()).toBe(`q == "it's"`);
  });
  it('treats a backslash as an ordinary character (Calico strings have no escapes)', () => {
    expect(m(String.raw`q == "a\b"`, { q: String.raw`a\b` })).toBe(true);
  });
  it('allows operators and spaces inside strings', () => {
    expect(m("q == 'a && b || !c'", { q: 'a && b || !c' })).toBe(true);
  });
});

describe('canonical form', () => {
  it.each([
    ["a=='x'", 'a == "x"'],
    ["a  !=  'x'", 'a != "x"'],
    ["a in {'z','x','z'}", 'a in {"x", "z"}'],
    ["a not in {'b'}", 'a not in {"b"}'],
    ["a contains 'x'", 'a contains "x"'],
    ["a starts   with 'x'", 'a starts with "x"'],
    ["a ends with 'x'", 'a ends with "x"'],
    ['has( a )', 'has(a)'],
    ['', 'all()'],
    ['all( )', 'all()'],
    ['global()', 'global()'],
    ["a == 'x' && b == 'y' && c == 'z'", '(a == "x" && b == "y" && c == "z")'],
    ["(a == 'x' && b == 'y') && c == 'z'", '((a == "x" && b == "y") && c == "z")'],
    ['! has(a)', '!has(a)'],
  ])('%s -> %s', (input, want) => {
    expect(parseSelector(input).toString()).toBe(want);
  });

  const label = fc.stringMatching(/^[A-Za-z0-9_./-]{1,12}$/);
  const value = fc.string({ maxLength: 8 }).filter((s) => !(s.includes('"') && s.includes("'")));
  const values = fc.uniqueArray(value, { maxLength: 4 }).map((vs) => [...vs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  const leaf: fc.Arbitrary<SelectorNode> = fc.oneof(
    fc.constant<SelectorNode>({ type: 'all' }),
    fc.constant<SelectorNode>({ type: 'global' }),
    label.map((l): SelectorNode => ({ type: 'has', label: l })),
    fc
      .tuple(fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith' as const), label, value)
      .map(([type, l, v]): SelectorNode => ({ type, label: l, value: v })),
    fc.tuple(fc.constantFrom('in', 'notIn' as const), label, values).map(([type, l, vs]): SelectorNode => ({ type, label: l, values: vs })),
  );
  const tree = fc.letrec<{ node: SelectorNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      tie('node').map((operand): SelectorNode => ({ type: 'not', operand })),
      fc
        .tuple(fc.constantFrom('and', 'or' as const), fc.array(tie('node'), { minLength: 2, maxLength: 3 }))
        .map(([type, operands]): SelectorNode => ({ type, operands })),
    ),
  })).node;

  it('round-trips: parse(canonical(ast)) equals ast', () => {
    fc.assert(
      fc.property(tree, (ast) => {
        const text = canonical(ast);
        expect(parseSelectorAst(text)).toEqual(ast);
        expect(canonical(parseSelectorAst(text))).toBe(text);
      }),
      { numRuns: 500, seed: 4242 },
    );
  });
});

describe('syntax errors', () => {
  it.each([
    ['x == ', 5, 'expected a quoted string'],
    ['x == y', 5, 'expected a quoted string'],
    ["x = 'a'", 2, "unexpected '='"],
    ["x == 'a", 5, 'unterminated string'],
    ['x == "a', 5, 'unterminated string'],
    ['a == "x" &&', 11, 'expected a label'],
    ['a == "x" ||', 11, 'expected a label'],
    ['(a == "x"', 9, "expected ')'"],
    ['a == "x")', 8, "unexpected ')'"],
    ['has(a', 5, "expected ')'"],
    ['has()', 4, 'expected a label name'],
    ['all(x)', 4, "expected ')'"],
    ["a in {'x' 'y'}", 10, "expected ',' or '}'"],
    ["a in {'x',}", 10, 'expected a quoted string'],
    ["a in 'x'", 5, "expected '{'"],
    ["a starts 'x'", 9, "expected 'with'"],
    ["a not 'x'", 6, "expected 'in'"],
    ['a', 1, 'expected an operator'],
    ['a b', 2, 'expected an operator'],
    ['a & b', 2, "did you mean '&&'"],
    ['a | b', 2, "did you mean '||'"],
    ['a == "x" b == "y"', 9, "unexpected 'b'"],
    ['#', 0, 'unexpected character'],
    ["a == 'x' && || b", 12, 'expected a label'],
    ['!', 1, 'expected a label'],
    ['()', 1, 'expected a label'],
    ['a == "x" == "y"', 9, "unexpected '=='"],
  ])('%j fails at %i', (input, position, fragment) => {
    let err: unknown;
    try {
      parseSelector(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorSyntaxError);
    const e = err as SelectorSyntaxError;
    expect(e.position).toBe(position);
    expect(e.message).toContain(fragment);
    expect(e.message).toContain(`at position ${position}`);
    expect(e.message.startsWith(`selector ${JSON.stringify(input)} : `)).toBe(true);
    expect(e.code).toBe('SELECTOR_SYNTAX');
  });

  it('formats the message as documented', () => {
    expect(() => parseSelector('x == ')).toThrow('selector "x == " : expected a quoted string at position 5');
  });

  it('refuses over-long label names', () => {
    expect(() => parseSelector(`${'a'.repeat(513)} == 'x'`)).toThrow(SelectorSyntaxError);
    expect(parseSelector(`${'a'.repeat(512)} == 'x'`).matches({ ['a'.repeat(512)]: 'x' })).toBe(true);
  });
});

describe('robustness', () => {
  it('only ever throws SelectorSyntaxError, with a position inside the text', () => {
    const alphabet = fc.constantFrom(...'ab =!&|(){},\'" \tinotcsewhlgb.-/_#'.split(''));
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.array(alphabet, { maxLength: 40 }).map((cs) => cs.join('')));
    fc.assert(
      fc.property(text, (t) => {
        try {
          const sel = parseSelector(t);
          // Whatever parses must survive its own canonical form.
          expect(parseSelector(sel.toString()).toString()).toBe(sel.toString());
        } catch (e) {
          expect(e).toBeInstanceOf(SelectorSyntaxError);
          const pos = (e as SelectorSyntaxError).position;
          expect(pos).toBeGreaterThanOrEqual(0);
          expect(pos).toBeLessThanOrEqual(t.length);
        }
      }),
      { numRuns: 3000, seed: 99 },
    );
  });
});
