import { createHash } from 'node:crypto';
import { ALL } from './ast.js';
import type { SelectorNode } from './ast.js';

/**
 * One spelling per meaning, so that selectors that are written differently but select the
 * same things share one ipset. `normalize` rewrites a tree with rules that never change what
 * it matches; `printSelector` prints a tree in one style; `canonical` is both.
 *
 * The rules, applied bottom-up:
 * - sets are sorted and de-duplicated; `k in {'v'}` is `k == 'v'`, `k not in {'v'}` is `k != 'v'`;
 * - `!!x` is `x`; `!(k == 'v')` is `k != 'v'` (both match when `k` is absent), and likewise
 *   `!=` / `==`, `in` / `not in`;
 * - nested `&&` (and `||`) are flattened; their operands are sorted by their printed form and
 *   duplicates dropped (the operators are commutative, associative and idempotent here,
 *   because evaluation has no side effects);
 * - `all()` is dropped from `&&` and makes a whole `||` into `all()`.
 *
 * It is not a full boolean minimiser: `a == 'x' || a != 'x'` stays as it is.
 */
export function normalize(node: SelectorNode): SelectorNode {
  switch (node.kind) {
    case 'in':
    case 'notIn': {
      const values = [...new Set(node.values)].sort(compareStrings);
      if (values.length === 1) return { kind: node.kind === 'in' ? 'eq' : 'ne', key: node.key, value: values[0]! };
      return { kind: node.kind, key: node.key, values };
    }
    case 'not':
      return negate(normalize(node.operand));
    case 'and':
    case 'or':
      return normalizeJunction(node.kind, node.operands);
    default:
      return node;
  }
}

/** The negation of an already normalized node, itself normalized. */
function negate(operand: SelectorNode): SelectorNode {
  switch (operand.kind) {
    case 'not':
      return operand.operand;
    case 'eq':
      return { ...operand, kind: 'ne' };
    case 'ne':
      return { ...operand, kind: 'eq' };
    case 'in':
      return { ...operand, kind: 'notIn' };
    case 'notIn':
      return { ...operand, kind: 'in' };
    default:
      return { kind: 'not', operand };
  }
}

function normalizeJunction(kind: 'and' | 'or', operands: readonly SelectorNode[]): SelectorNode {
  const byText = new Map<string, SelectorNode>();
  const add = (node: SelectorNode): void => {
    byText.set(printSelector(node), node);
  };
  for (const operand of operands) {
    const n = normalize(operand);
    if (n.kind === 'all') {
      if (kind === 'or') return ALL;
      continue; // x && all() is x
    }
    if (n.kind === kind) n.operands.forEach(add);
    else add(n);
  }
  const sorted = [...byText.keys()].sort(compareStrings).map((text) => byText.get(text)!);
  if (sorted.length === 0) return ALL; // only all()s were and-ed
  if (sorted.length === 1) return sorted[0]!;
  return { kind, operands: sorted };
}

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Prints a tree as a selector that parses back to the same tree, in one style: double quotes
 * (single ones when the value holds a double quote), single spaces around operators, and
 * parentheses only where precedence needs them. It does not normalize; see `canonical`.
 */
export function printSelector(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.key})`;
    case 'eq':
      return `${node.key} == ${quote(node.value)}`;
    case 'ne':
      return `${node.key} != ${quote(node.value)}`;
    case 'contains':
      return `${node.key} contains ${quote(node.value)}`;
    case 'startsWith':
      return `${node.key} starts with ${quote(node.value)}`;
    case 'endsWith':
      return `${node.key} ends with ${quote(node.value)}`;
    case 'in':
    case 'notIn':
      return `${node.key} ${node.kind === 'in' ? 'in' : 'not in'} {${node.values.map(quote).join(', ')}}`;
    case 'not': {
      // `!k == 'v'` would parse the same, but reads as if `!` applied to the key.
      const operand = printSelector(node.operand);
      const bare = node.operand.kind === 'has' || node.operand.kind === 'all' ||
        node.operand.kind === 'global' || node.operand.kind === 'not';
      return bare ? `!${operand}` : `!(${operand})`;
    }
    case 'and':
      // `||` binds looser than `&&`, so an `||` operand needs parentheses; a nested `&&` does
      // too, to keep the tree's shape when parsed back.
      return node.operands
        .map((operand) => (operand.kind === 'or' || operand.kind === 'and' ? `(${printSelector(operand)})` : printSelector(operand)))
        .join(' && ');
    case 'or':
      return node.operands
        .map((operand) => (operand.kind === 'or' ? `(${printSelector(operand)})` : printSelector(operand)))
        .join(' || ');
  }
}

/**
 * Calico's strings have no escapes, so a value is quoted with whichever quote it does not
 * hold. The parser never produces a value holding both; a hand-built tree may, and that is a bug.
 */
function quote(value: string): string {
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw new Error(`selector value ${JSON.stringify(value)} holds both quote characters and cannot be written`);
}

/** The canonical text of a selector: equal texts select the same things. */
export function canonical(node: SelectorNode): string {
  return printSelector(normalize(node));
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A short, stable name for a canonical selector: the first 16 characters (80 bits) of the
 * lowercase base32 (RFC 4648 alphabet) SHA-256 of its text. Lowercase letters and digits
 * only, so it fits ipset and iptables chain names (at most 31 characters) with a prefix.
 */
export function canonicalHash(canonicalText: string): string {
  const digest = createHash('sha256').update(canonicalText, 'utf8').digest();
  let out = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >> bits) & 31];
    }
    if (out.length === 16) break;
    buffer &= (1 << bits) - 1;
  }
  return out;
}
