import { expect } from 'chai';
import fc from 'fast-check';
import { UserError } from '../../../src/common/errors.js';
import type { SelectorNode } from '../../../src/selector/ast.js';
import { printSelector } from '../../../src/selector/canonical.js';
import { SelectorError } from '../../../src/selector/errors.js';
import { parseSelectorAst } from '../../../src/selector/parser.js';
import { validateSelector } from '../../../src/selector/selector.js';
import { tokenize } from '../../../src/selector/tokenizer.js';
import { selectorNode } from './arbitraries.js';

const eq = (key: string, value: string): SelectorNode => ({ kind: 'eq', key, value });

describe('selector tokenizer', () => {
  it('splits words, strings and operators with their positions', () => {
    const tokens = tokenize(`a.b/c-d_e=="v" && !has(x)||k in {'p',}`);
    expect(tokens.map((t) => [t.kind, t.value, t.start])).to.deep.equal([
      ['word', 'a.b/c-d_e', 0],
      ['==', '', 9],
      ['string', 'v', 11],
      ['&&', '', 15],
      ['!', '', 18],
      ['word', 'has', 19],
      ['(', '', 22],
      ['word', 'x', 23],
      [')', '', 24],
      ['||', '', 25],
      ['word', 'k', 27],
      ['word', 'in', 29],
      ['{', '', 32],
      ['string', 'p', 33],
      [',', '', 36],
      ['}', '', 37],
      ['end', '', 38],
    ]);
  });

  it('keeps strings verbatim: no escapes, the other quote and operators inside are text', () => {
    const [first, second] = tokenize(`'a "b" && c' "it's"`);
    expect(first).to.include({ kind: 'string', value: 'a "b" && c' });
    expect(second).to.include({ kind: 'string', value: "it's" });
  });
});

describe('selector parser', () => {
  const cases: Array<[string, SelectorNode]> = [
    ['', { kind: 'all' }],
    [' \t\n ', { kind: 'all' }],
    ['all()', { kind: 'all' }],
    ['all( )', { kind: 'all' }],
    ['global()', { kind: 'global' }],
    ['has(app.kubernetes.io/name)', { kind: 'has', key: 'app.kubernetes.io/name' }],
    ['has( a )', { kind: 'has', key: 'a' }],
    ["role == 'db'", eq('role', 'db')],
    ['role=="db"', eq('role', 'db')],
    ["role != ''", { kind: 'ne', key: 'role', value: '' }],
    ["k contains 'x'", { kind: 'contains', key: 'k', value: 'x' }],
    ["k starts with 'x'", { kind: 'startsWith', key: 'k', value: 'x' }],
    ["k ends  with\t'x'", { kind: 'endsWith', key: 'k', value: 'x' }],
    ["k in {'a', \"b\"}", { kind: 'in', key: 'k', values: ['a', 'b'] }],
    ['k in {}', { kind: 'in', key: 'k', values: [] }],
    ["k in {'a',}", { kind: 'in', key: 'k', values: ['a'] }],
    ["k not in {'a'}", { kind: 'notIn', key: 'k', values: ['a'] }],
    // Words that are keywords elsewhere are plain keys where a key is expected.
    ["in == 'x'", eq('in', 'x')],
    ["has == 'x'", eq('has', 'x')],
    ['has(all)', { kind: 'has', key: 'all' }],
    ["!a == 'x'", { kind: 'not', operand: eq('a', 'x') }],
    ['!!has(a)', { kind: 'not', operand: { kind: 'not', operand: { kind: 'has', key: 'a' } } }],
    [
      "a == '1' || b == '2' && c == '3'",
      { kind: 'or', operands: [eq('a', '1'), { kind: 'and', operands: [eq('b', '2'), eq('c', '3')] }] },
    ],
    [
      "(a == '1' || b == '2') && c == '3'",
      { kind: 'and', operands: [{ kind: 'or', operands: [eq('a', '1'), eq('b', '2')] }, eq('c', '3')] },
    ],
    [
      "!has(a) && b == '2' || !(c == '3')",
      {
        kind: 'or',
        operands: [
          { kind: 'and', operands: [{ kind: 'not', operand: { kind: 'has', key: 'a' } }, eq('b', '2')] },
          { kind: 'not', operand: eq('c', '3') },
        ],
      },
    ],
    ["a=='1'&&b=='2'&&c=='3'", { kind: 'and', operands: [eq('a', '1'), eq('b', '2'), eq('c', '3')] }],
    ["((a == '1'))", eq('a', '1')],
  ];
  for (const [text, ast] of cases) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(parseSelectorAst(text)).to.deep.equal(ast);
    });
  }

  it('accepts label keys up to 512 characters', () => {
    const key = 'k'.repeat(512);
    expect(parseSelectorAst(`has(${key})`)).to.deep.equal({ kind: 'has', key });
  });

  it('prints any tree as text that parses back to the same tree', () => {
    fc.assert(
      fc.property(selectorNode, (node) => {
        expect(parseSelectorAst(printSelector(node))).to.deep.equal(node);
      }),
      { numRuns: 500 },
    );
  });
});

describe('selector parse errors', () => {
  // [selector, 0-based position, detail]
  const cases: Array<[string, number, string]> = [
    ["role == 'db' &&", 15, "expected an expression after '&&', found the end of the selector"],
    ["role == 'db' ||", 15, "expected an expression after '||', found the end of the selector"],
    ["&& role == 'db'", 0, "expected an expression, found '&&'"],
    ['!', 1, "expected an expression after '!', found the end of the selector"],
    ['()', 1, "expected an expression after '(', found ')'"],
    ["role = 'db'", 5, "expected '==', found a single '='"],
    ["a == 'x' & b == 'y'", 9, "expected '&&', found a single '&'"],
    ["a == 'x' | b == 'y'", 9, "expected '||', found a single '|'"],
    ['role == db', 8, "expected a quoted string after '==', found 'db'"],
    ["role == 'db", 8, "unterminated string: no closing '"],
    ['role != "db', 8, 'unterminated string: no closing "'],
    ["(role == 'db'", 13, "expected ')' to close the '(' at position 0, found the end of the selector"],
    ["a == 'x' )", 9, "expected '&&', '||' or the end of the selector, found ')'"],
    ["a == 'x' b == 'y'", 9, "expected '&&', '||' or the end of the selector, found 'b'"],
    [
      'role',
      4,
      "expected an operator after 'role' (==, !=, in, not in, contains, starts with or ends with), found the end of the selector",
    ],
    [
      "role like 'x'",
      5,
      "expected an operator after 'role' (==, !=, in, not in, contains, starts with or ends with), found 'like'",
    ],
    ["a starts 'x'", 9, "expected 'with' after 'starts', found the string 'x'"],
    ["a ends on 'x'", 7, "expected 'with' after 'ends', found 'on'"],
    ["a not {'x'}", 6, "expected 'in' after 'not', found '{'"],
    ["a in 'x'", 5, "expected '{' to start a set after 'in', found the string 'x'"],
    ["a in {'x' 'y'}", 10, "expected ',' or '}' in the set, found the string 'y'"],
    ["a in {'x', b}", 11, "expected a quoted string or '}' after ',' in the set, found 'b'"],
    ["a not in {'x',", 14, "expected a quoted string or '}' after ',' in the set, found the end of the selector"],
    ['a in {,}', 6, "expected a quoted string or '}' in the set, found ','"],
    ['has()', 4, "expected a label key in has(), found ')'"],
    ['has(a', 5, "expected ')' after has(a, found the end of the selector"],
    ['has(a b)', 6, "expected ')' after has(a, found 'b'"],
    ['all(x)', 4, "expected ')' after 'all(', found 'x'"],
    ['global(', 7, "expected ')' after 'global(', found the end of the selector"],
    ['none()', 0, "unknown function 'none', expected has(), all() or global()"],
    ["a @ 'x'", 2, 'unexpected character "@"'],
    ["a == 'x' && b ~= 'y'", 14, 'unexpected character "~"'],
    [`has(${'k'.repeat(513)})`, 4, 'label key is 513 characters long, more than 512'],
  ];
  for (const [text, position, detail] of cases) {
    it(`rejects ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)} at position ${position}`, () => {
      let caught: unknown;
      try {
        parseSelectorAst(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(SelectorError);
      expect(caught).to.be.instanceOf(UserError);
      const err = caught as SelectorError;
      expect({ selector: err.selector, position: err.position, detail: err.detail }).to.deep.equal({
        selector: text,
        position,
        detail,
      });
      expect(err.message).to.equal(`selector ${JSON.stringify(text)}: position ${position}: ${detail}`);
      expect(validateSelector(text)).to.equal(err.message);
    });
  }

  it('writes the message on one line even when the selector spans several', () => {
    const message = validateSelector("a == 'x' &&\n");
    expect(message).to.equal(String.raw`selector "a == 'x' &&\n": position 12: expected an expression after '&&', found the end of the selector`);
  });

  it('validates good selectors as null', () => {
    expect(validateSelector("role == 'db' && !has(x)")).to.equal(null);
    expect(validateSelector('')).to.equal(null);
  });
});
