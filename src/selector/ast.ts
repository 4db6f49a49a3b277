/**
 * The syntax tree of a label selector. Plain readonly data: the parser builds it,
 * `compile` turns it into a matcher, `normalize`/`canonical` rewrite and print it.
 */

/** `all()`, and the empty selector: matches everything. */
export interface AllNode {
  readonly kind: 'all';
}

/** `global()`: matches only non-namespaced entities (HostEndpoints, GlobalNetworkSets). */
export interface GlobalNode {
  readonly kind: 'global';
}

/** `has(key)`: the label is present, with any value. */
export interface HasNode {
  readonly kind: 'has';
  readonly key: string;
}

/**
 * `key == 'v'`, `key != 'v'`, `key contains 'v'`, `key starts with 'v'`, `key ends with 'v'`.
 * Only `ne` matches when the label is absent.
 */
export interface CompareNode {
  readonly kind: CompareKind;
  readonly key: string;
  readonly value: string;
}
export type CompareKind = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';

/** `key in {'a', 'b'}` and `key not in {...}`; `notIn` matches when the label is absent. */
export interface SetNode {
  readonly kind: SetKind;
  readonly key: string;
  readonly values: readonly string[];
}
export type SetKind = 'in' | 'notIn';

export interface NotNode {
  readonly kind: 'not';
  readonly operand: SelectorNode;
}

/** Two or more operands, all of which must match. */
export interface AndNode {
  readonly kind: 'and';
  readonly operands: readonly SelectorNode[];
}

/** Two or more operands, one of which must match. */
export interface OrNode {
  readonly kind: 'or';
  readonly operands: readonly SelectorNode[];
}

export type SelectorNode = AllNode | GlobalNode | HasNode | CompareNode | SetNode | NotNode | AndNode | OrNode;

export const ALL: AllNode = Object.freeze({ kind: 'all' });
export const GLOBAL: GlobalNode = Object.freeze({ kind: 'global' });

/**
 * What a label key may be made of: Calico's `[a-zA-Z0-9_./-]`, which covers Kubernetes keys
 * (`prefix/name`, with dots, dashes and underscores). Calico accepts any run of these, up to
 * 512 characters; so do we, so that every selector Calico accepts is accepted here.
 */
export const MAX_LABEL_KEY_LENGTH = 512;

export function isLabelKeyChar(c: string): boolean {
  return (
    (c >= 'a' && c <= 'z') ||
    (c >= 'A' && c <= 'Z') ||
    (c >= '0' && c <= '9') ||
    c === '_' ||
    c === '.' ||
    c === '/' ||
    c === '-'
  );
}
