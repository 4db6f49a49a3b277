import { expect } from 'chai';
import type { EvaluationContext, Labels } from '../../../src/selector/evaluate.js';
import { compile, evaluate } from '../../../src/selector/evaluate.js';
import { parseSelectorAst } from '../../../src/selector/parser.js';
import { parseSelector } from '../../../src/selector/selector.js';

// Calico's semantics, case by case: [selector, labels, expected, context?]
const DB = { role: 'db', tier: 'backend' };
const WEB = { role: 'web', tier: 'frontend', 'app.kubernetes.io/name': 'shop' };
const NONE = {};

const cases: Array<[string, Labels, boolean, EvaluationContext?]> = [
  // empty selector and all()
  ['', NONE, true],
  ['', DB, true],
  ['all()', NONE, true],
  ['all()', WEB, true],
  // ==
  ["role == 'db'", DB, true],
  ["role == 'db'", WEB, false],
  ["role == 'db'", NONE, false],
  ['role == "db"', DB, true],
  ["role == ''", { role: '' }, true],
  ["role == ''", NONE, false],
  ["role == 'DB'", DB, false],
  ["role == 'd'", DB, false],
  // != matches an entity without the label
  ["role != 'db'", DB, false],
  ["role != 'db'", WEB, true],
  ["role != 'db'", NONE, true],
  ["role != ''", { role: '' }, false],
  // in / not in
  ["role in {'db', 'web'}", DB, true],
  ["role in {'db', 'web'}", WEB, true],
  ["role in {'db', 'web'}", { role: 'cache' }, false],
  ["role in {'db', 'web'}", NONE, false],
  ['role in {}', DB, false],
  ["role not in {'db', 'web'}", DB, false],
  ["role not in {'db', 'web'}", { role: 'cache' }, true],
  ["role not in {'db', 'web'}", NONE, true],
  ['role not in {}', NONE, true],
  ['role not in {}', DB, true],
  // has / !has
  ['has(role)', DB, true],
  ['has(role)', NONE, false],
  ['has(role)', { role: '' }, true],
  ['!has(role)', DB, false],
  ['!has(role)', NONE, true],
  ['has(app.kubernetes.io/name)', WEB, true],
  ['has(app.kubernetes.io/name)', DB, false],
  // only own properties are labels
  ['has(constructor)', NONE, false],
  ["toString != 'x'", NONE, true],
  // contains / starts with / ends with need the label present
  ["tier contains 'end'", DB, true],
  ["tier contains 'end'", WEB, true],
  ["tier contains 'xyz'", DB, false],
  ["tier contains ''", DB, true],
  ["tier contains ''", NONE, false],
  ["tier starts with 'back'", DB, true],
  ["tier starts with 'back'", WEB, false],
  ["tier starts with 'back'", NONE, false],
  ["tier starts with 'backend'", DB, true],
  ["tier ends with 'end'", DB, true],
  ["tier ends with 'front'", WEB, false],
  ["tier ends with 'end'", NONE, false],
  ["app.kubernetes.io/name ends with 'op'", WEB, true],
  // global() only matches non-namespaced entities
  ['global()', NONE, false],
  ['global()', NONE, false, { isGlobal: false }],
  ['global()', NONE, true, { isGlobal: true }],
  ['!global()', DB, true],
  ['!global()', DB, false, { isGlobal: true }],
  ["global() && role == 'db'", DB, true, { isGlobal: true }],
  ["global() && role == 'db'", DB, false],
  // !
  ["!role == 'db'", DB, false],
  ["!role == 'db'", WEB, true],
  ["!(role == 'db')", NONE, true],
  ['!!has(role)', DB, true],
  ['!!!has(role)', DB, false],
  ['!all()', DB, false],
  // && and ||
  ["role == 'db' && tier == 'backend'", DB, true],
  ["role == 'db' && tier == 'frontend'", DB, false],
  ["role == 'db' || role == 'web'", WEB, true],
  ["role == 'db' || role == 'web'", NONE, false],
  ["has(role) && has(tier) && tier != 'frontend'", DB, true],
  ["has(role) && has(tier) && tier != 'frontend'", WEB, false],
  ["role == 'x' || role == 'y' || has(tier)", WEB, true],
  // precedence: ! binds tightest, then &&, then ||
  ["role == 'web' || role == 'db' && tier == 'frontend'", WEB, true], // web || (db && frontend)
  ["role == 'web' || role == 'db' && tier == 'frontend'", DB, false],
  ["(role == 'web' || role == 'db') && tier == 'frontend'", DB, false],
  ["(role == 'web' || role == 'db') && tier == 'frontend'", WEB, true],
  ["role == 'db' && tier == 'frontend' || has(app.kubernetes.io/name)", WEB, true], // (db && frontend) || has
  ["role == 'db' && (tier == 'frontend' || has(app.kubernetes.io/name))", WEB, false],
  ["!has(role) || role == 'db'", NONE, true], // (!has) || db
  ["!has(role) || role == 'db'", WEB, false],
  ["!(has(role) || role == 'db')", NONE, true],
  ["!has(tier) && role == 'db'", DB, false], // (!has) && db
  ["!(has(tier) && role == 'x')", DB, true],
  ["!role == 'db' && tier == 'frontend'", WEB, true], // (!(role == db)) && frontend
  ["!(role == 'db' && tier == 'frontend')", WEB, true],
  ["!(role == 'web' && tier == 'frontend')", WEB, false],
  // whitespace tolerance
  ["  role=='db'&&tier  ==  'backend'  ", DB, true],
  ["role\tin\t{'db'}\n&&\nhas(tier)", DB, true],
];

describe('selector evaluation', () => {
  it('has a table large enough to cover every operator', () => {
    expect(cases.length).to.be.at.least(60);
  });

  for (const [text, labels, expected, ctx] of cases) {
    const where = ctx === undefined ? '' : ` with ${JSON.stringify(ctx)}`;
    it(`${JSON.stringify(text)} on ${JSON.stringify(labels)}${where} is ${expected}`, () => {
      expect(parseSelector(text).matches(labels, ctx)).to.equal(expected);
      expect(evaluate(parseSelectorAst(text), labels, ctx)).to.equal(expected);
    });
  }

  it('compiles once and is reused across label sets', () => {
    const match = compile(parseSelectorAst("role in {'db', 'web'} && !has(x)"));
    expect([DB, WEB, { role: 'db', x: '' }, NONE].map((l) => match(l))).to.deep.equal([true, true, false, false]);
  });
});
