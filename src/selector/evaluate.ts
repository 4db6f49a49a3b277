import type { SelectorNode } from './ast.js';

/** An entity's labels. Only own properties count, so `has(constructor)` is false for `{}`. */
export type Labels = Readonly<Record<string, string>>;

/** Facts about the entity being matched that are not labels. */
export interface EvaluationContext {
  /**
   * True for entities outside any namespace (HostEndpoints, GlobalNetworkSets); `global()`
   * matches only these. Absent means false.
   */
  readonly isGlobal?: boolean;
}

export type Matcher = (labels: Labels, ctx?: EvaluationContext) => boolean;

const hasOwn = Object.hasOwn;

function labelValue(labels: Labels, key: string): string | undefined {
  return hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * Turns a tree into a closure once, so matching a selector against many label sets walks no
 * tree and allocates nothing. Semantics are Calico's: every test but `!=` and `not in`
 * needs the label present; `!=` and `not in` match an entity without the label.
 */
export function compile(node: SelectorNode): Matcher {
  switch (node.kind) {
    case 'all':
      return () => true;
    case 'global':
      return (_labels, ctx) => ctx?.isGlobal === true;
    case 'has': {
      const { key } = node;
      return (labels) => hasOwn(labels, key);
    }
    case 'eq': {
      const { key, value } = node;
      return (labels) => labelValue(labels, key) === value;
    }
    case 'ne': {
      const { key, value } = node;
      return (labels) => labelValue(labels, key) !== value;
    }
    case 'contains': {
      const { key, value } = node;
      return (labels) => labelValue(labels, key)?.includes(value) === true;
    }
    case 'startsWith': {
      const { key, value } = node;
      return (labels) => labelValue(labels, key)?.startsWith(value) === true;
    }
    case 'endsWith': {
      const { key, value } = node;
      return (labels) => labelValue(labels, key)?.endsWith(value) === true;
    }
    case 'in': {
      const { key } = node;
      const values = new Set(node.values);
      return (labels) => {
        const v = labelValue(labels, key);
        return v !== undefined && values.has(v);
      };
    }
    case 'notIn': {
      const { key } = node;
      const values = new Set(node.values);
      return (labels) => {
        const v = labelValue(labels, key);
        return v === undefined || !values.has(v);
      };
    }
    case 'not': {
      const operand = compile(node.operand);
      return (labels, ctx) => !operand(labels, ctx);
    }
    case 'and': {
      const operands = node.operands.map(compile);
      return (labels, ctx) => {
        for (const operand of operands) if (!operand(labels, ctx)) return false;
        return true;
      };
    }
    case 'or': {
      const operands = node.operands.map(compile);
      return (labels, ctx) => {
        for (const operand of operands) if (operand(labels, ctx)) return true;
        return false;
      };
    }
  }
}

/** One-off evaluation; to match one selector many times, `compile` it once instead. */
export function evaluate(node: SelectorNode, labels: Labels, ctx?: EvaluationContext): boolean {
  return compile(node)(labels, ctx);
}
