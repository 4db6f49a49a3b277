// fast-check generators shared by the selector property tests: random trees over a small
// alphabet of keys and values (so that random labels often match), random label sets, and a
// renderer that writes a tree with random spacing, quoting and redundant parentheses.
import fc from 'fast-check';
import type { SelectorNode } from '../../../src/selector/ast.js';
import type { Labels } from '../../../src/selector/evaluate.js';

export const KEYS = ['a', 'b', 'app.kubernetes.io/name', 'x_y-z.1'] as const;
// Includes the empty string and values holding one kind of quote each.
export const VALUES = ['', 'x', 'y', 'xy', 'yx', "it's", 'say "hi"'] as const;

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);

export const selectorNode: fc.Arbitrary<SelectorNode> = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'medium', maxDepth: 6, withCrossShrink: true },
    fc.constant<SelectorNode>({ kind: 'all' }),
    fc.constant<SelectorNode>({ kind: 'global' }),
    key.map((k): SelectorNode => ({ kind: 'has', key: k })),
    fc
      .tuple(fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith'), key, value)
      .map(([kind, k, v]): SelectorNode => ({ kind, key: k, value: v })),
    fc
      .tuple(fc.constantFrom('in', 'notIn'), key, fc.array(value, { maxLength: 4 }))
      .map(([kind, k, values]): SelectorNode => ({ kind, key: k, values })),
    tie('node').map((operand): SelectorNode => ({ kind: 'not', operand })),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((operands): SelectorNode => ({ kind: 'and', operands })),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((operands): SelectorNode => ({ kind: 'or', operands })),
  ),
})).node;

export const labels: fc.Arbitrary<Labels> = fc
  .array(fc.tuple(key, value), { maxLength: KEYS.length })
  .map((pairs) => Object.fromEntries(pairs));

export const labelSets: fc.Arbitrary<Labels[]> = fc.array(labels, { minLength: 1, maxLength: 12 });

/** A tree written as a user might: random whitespace, either quote, optional extra parentheses. */
export const renderedSelector: fc.Arbitrary<{ node: SelectorNode; text: string }> = fc
  .tuple(selectorNode, fc.array(fc.nat(), { minLength: 1, maxLength: 200 }))
  .map(([node, choices]) => ({ node, text: render(node, choices) }));

function render(root: SelectorNode, choices: readonly number[]): string {
  let next = 0;
  const pick = (n: number): number => choices[next++ % choices.length]! % n;
  const SPACES = ['', ' ', '  ', '\t', '\n'];
  const optionalSpace = (): string => SPACES[pick(SPACES.length)]!;
  const space = (): string => ' ' + optionalSpace();
  const quote = (v: string): string => {
    const q = v.includes('"') ? "'" : v.includes("'") ? '"' : pick(2) === 0 ? "'" : '"';
    return q + v + q;
  };
  const maybeParens = (text: string): string => (pick(4) === 0 ? `(${optionalSpace()}${text}${optionalSpace()})` : text);
  const operator = (op: string): string => `${optionalSpace()}${op}${optionalSpace()}`;

  const go = (node: SelectorNode): string => {
    switch (node.kind) {
      case 'all':
        return maybeParens(`all(${optionalSpace()})`);
      case 'global':
        return maybeParens(`global(${optionalSpace()})`);
      case 'has':
        return maybeParens(`has(${optionalSpace()}${node.key}${optionalSpace()})`);
      case 'eq':
        return maybeParens(`${node.key}${operator('==')}${quote(node.value)}`);
      case 'ne':
        return maybeParens(`${node.key}${operator('!=')}${quote(node.value)}`);
      case 'contains':
        return maybeParens(`${node.key}${space()}contains${optionalSpace()}${quote(node.value)}`);
      case 'startsWith':
        return maybeParens(`${node.key}${space()}starts${space()}with${optionalSpace()}${quote(node.value)}`);
      case 'endsWith':
        return maybeParens(`${node.key}${space()}ends${space()}with${optionalSpace()}${quote(node.value)}`);
      case 'in':
      case 'notIn': {
        const op = node.kind === 'in' ? 'in' : `not${space()}in`;
        const items = node.values.map((v) => optionalSpace() + quote(v) + optionalSpace());
        const trailingComma = items.length > 0 && pick(3) === 0 ? ',' : '';
        return maybeParens(`${node.key}${space()}${op}${optionalSpace()}{${items.join(',')}${trailingComma}}`);
      }
      case 'not': {
        const operand = go(node.operand);
        const needsParens = node.operand.kind === 'and' || node.operand.kind === 'or';
        return `!${optionalSpace()}${needsParens ? `(${operand})` : operand}`;
      }
      case 'and':
        return maybeParens(
          node.operands.map((o) => (o.kind === 'or' ? `(${go(o)})` : go(o))).join(operator('&&')),
        );
      case 'or':
        return maybeParens(node.operands.map(go).join(operator('||')));
    }
  };
  return optionalSpace() + go(root) + optionalSpace();
}
