import { expect } from 'chai';
import fc from 'fast-check';
import type { SelectorNode } from '../../../src/selector/ast.js';
import { canonical, canonicalHash, printSelector } from '../../../src/selector/canonical.js';
import { compile } from '../../../src/selector/evaluate.js';
import { parseSelectorAst } from '../../../src/selector/parser.js';
import { parseSelector, selectorId } from '../../../src/selector/selector.js';
import { labelSets, renderedSelector, selectorNode } from './arbitraries.js';

const canon = (text: string): string => canonical(parseSelectorAst(text));

describe('selector canonical form', () => {
  const cases: Array<[string, string]> = [
    ['', 'all()'],
    ['  all( ) ', 'all()'],
    ["role=='db'", 'role == "db"'],
    [`role == 'say "hi"'`, `role == 'say "hi"'`],
    ["k in {'b', 'a', 'b'}", 'k in {"a", "b"}'],
    ["k in {'a', 'a'}", 'k == "a"'],
    ["k not in {'a'}", 'k != "a"'],
    ['k in {}', 'k in {}'],
    ["!(k == 'a')", 'k != "a"'],
    ["!(k != 'a')", 'k == "a"'],
    ["!(k in {'a', 'b'})", 'k not in {"a", "b"}'],
    ['!!has(a)', 'has(a)'],
    ['!!!has(a)', '!has(a)'],
    ["!(k contains 'a')", '!(k contains "a")'],
    ["b == '1' && a == '1'", 'a == "1" && b == "1"'],
    ["(c == '1' && b == '1') && a == '1'", 'a == "1" && b == "1" && c == "1"'],
    ["a == '1' || (b == '1' || a == '1')", 'a == "1" || b == "1"'],
    ["has(a) && has(a)", 'has(a)'],
    ["has(a) && all()", 'has(a)'],
    ['all() && all()', 'all()'],
    ["has(a) || all()", 'all()'],
    ["(has(b) || has(a)) && has(c)", '(has(a) || has(b)) && has(c)'],
    ["has(c) || (has(b) && has(a))", 'has(a) && has(b) || has(c)'],
    ["!(has(b) && has(a))", '!(has(a) && has(b))'],
    ["(((global())))", 'global()'],
  ];
  for (const [text, expected] of cases) {
    it(`writes ${JSON.stringify(text)} as ${JSON.stringify(expected)}`, () => {
      expect(canon(text)).to.equal(expected);
    });
  }

  it('is stable: canonical(parse(canonical(x))) is canonical(x)', () => {
    fc.assert(
      fc.property(selectorNode, (node) => {
        const once = canonical(node);
        expect(canon(once)).to.equal(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('means the same: parse(canonical(x)) matches exactly the label sets x matches', () => {
    fc.assert(
      fc.property(selectorNode, labelSets, fc.boolean(), (node, sets, isGlobal) => {
        const original = compile(node);
        const rewritten = compile(parseSelectorAst(canonical(node)));
        for (const labels of sets) {
          expect(rewritten(labels, { isGlobal }), JSON.stringify(labels)).to.equal(original(labels, { isGlobal }));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('does not depend on spacing, quoting, parentheses or the order of && and ||', () => {
    fc.assert(
      fc.property(renderedSelector, ({ node, text }) => {
        expect(canon(text), text).to.equal(canonical(node));
      }),
      { numRuns: 1000 },
    );
  });

  it('parses user-style text to a tree that matches what the original tree matches', () => {
    fc.assert(
      fc.property(renderedSelector, labelSets, fc.boolean(), ({ node, text }, sets, isGlobal) => {
        const parsed = compile(parseSelectorAst(text));
        const original = compile(node);
        for (const labels of sets) expect(parsed(labels, { isGlobal }), text).to.equal(original(labels, { isGlobal }));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses to print a value that holds both quote characters (the parser never makes one)', () => {
    const node: SelectorNode = { kind: 'eq', key: 'k', value: `a'b"c` };
    expect(() => printSelector(node)).to.throw(Error, 'holds both quote characters');
  });
});

describe('selector ids', () => {
  // Expected values computed independently: base32(sha256(text)).lower()[:16] in Python.
  it('are the first 16 base32 characters of the SHA-256 of the canonical text', () => {
    expect(canonicalHash('all()')).to.equal('ewudctcv7zrelfok');
    expect(canonicalHash('a == "x"')).to.equal('ujsrzkukxfbyjjlt');
  });

  it('are equal for equal selectors however they are written', () => {
    expect(selectorId("a=='x'")).to.equal(canonicalHash('a == "x"'));
    expect(selectorId("a in {'x'}")).to.equal(selectorId('a == "x"'));
    expect(selectorId('')).to.equal(selectorId('all()'));
    expect(parseSelector("b == 'y' && a == 'x'").id).to.equal(selectorId("a == 'x' && b == 'y'"));
  });

  it('differ for different selectors and fit an ipset name', () => {
    const ids = new Set<string>();
    fc.assert(
      fc.property(selectorNode, (node) => {
        const id = canonicalHash(canonical(node));
        expect(id).to.match(/^[a-z2-7]{16}$/);
        ids.add(`${canonical(node)}\u0000${id}`);
      }),
      { numRuns: 300 },
    );
    const byId = new Map<string, string>();
    for (const entry of ids) {
      const [text, id] = entry.split('\u0000') as [string, string];
      expect(byId.get(id) ?? text, `id ${id}`).to.equal(text);
      byId.set(id, text);
    }
  });

  it('throw a SelectorError for a selector that does not parse', () => {
    expect(() => selectorId("a == 'x' &&")).to.throw('position 11');
  });
});
