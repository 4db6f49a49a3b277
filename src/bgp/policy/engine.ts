/**
 * Runs a compiled rule list over one route. The hot path allocates nothing when no rule
 * changes the route: rules are closures over numbers worked out at compile time, verdicts
 * are shared objects (one reject, one accept per attribute object), and `set` results are
 * memoized per input attribute object, so that a million routes sharing one interned
 * attribute set and passing the same `set` come out sharing one new attribute set too.
 */
import type { PathAttributes } from '../wire/attributes/types.js';
import { RuleAction, type CompiledRule, type Modifier, type PolicyInput, type PolicyVerdict, type Predicate, type RoutePolicy } from './types.js';

/** What happens to a route that no terminal rule decided. */
export type FallThrough = 'accept' | 'reject';

const REJECTED: PolicyVerdict = Object.freeze({ accept: false as const });

/** One frozen accept verdict per attribute object, shared by every policy and route. */
const acceptVerdicts = new WeakMap<PathAttributes, PolicyVerdict>();

export function acceptVerdict(attrs: PathAttributes): PolicyVerdict {
  let v = acceptVerdicts.get(attrs);
  if (v === undefined) {
    v = Object.freeze({ accept: true as const, attrs });
    acceptVerdicts.set(attrs, v);
  }
  return v;
}

export function rejectVerdict(): PolicyVerdict {
  return REJECTED;
}

/** All of the predicates (an empty list matches everything: null). */
export function allOf(predicates: readonly Predicate[]): Predicate | null {
  if (predicates.length === 0) return null;
  if (predicates.length === 1) return predicates[0]!;
  const list = predicates.slice();
  return (input, attrs) => {
    for (let i = 0; i < list.length; i++) if (!list[i]!(input, attrs)) return false;
    return true;
  };
}

/** The modifiers applied in order, memoized per input attribute object (null: none). */
export function chain(modifiers: readonly Modifier[]): Modifier | null {
  if (modifiers.length === 0) return null;
  const list = modifiers.slice();
  const memo = new WeakMap<PathAttributes, PathAttributes>();
  return (attrs) => {
    let out = memo.get(attrs);
    if (out === undefined) {
      out = attrs;
      for (const m of list) out = m(out);
      memo.set(attrs, out);
    }
    return out;
  };
}

export class RuleListPolicy implements RoutePolicy {
  readonly acceptAllUnchanged: boolean;
  readonly rejectAll: boolean;
  private readonly rules: readonly CompiledRule[];
  private readonly fallThroughAccept: boolean;

  constructor(
    readonly name: string,
    rules: readonly CompiledRule[],
    readonly fallThrough: FallThrough,
  ) {
    this.rules = rules.slice();
    this.fallThroughAccept = fallThrough === 'accept';
    this.acceptAllUnchanged = acceptsAllUnchanged(this.rules, this.fallThroughAccept);
    this.rejectAll = rejectsAll(this.rules, this.fallThroughAccept);
  }

  evaluate(input: PolicyInput): PolicyVerdict {
    let attrs = input.attrs;
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.match !== null && !rule.match(input, attrs)) continue;
      if (rule.modify !== null) attrs = rule.modify(attrs);
      if (rule.action === RuleAction.NEXT) continue;
      return rule.action === RuleAction.ACCEPT ? acceptVerdict(attrs) : REJECTED;
    }
    return this.fallThroughAccept ? acceptVerdict(attrs) : REJECTED;
  }
}

/**
 * True only when provably every route is accepted untouched: no rule before the first
 * catch-all accept (or the end, when that accepts) can reject or modify. Conservative: a
 * rule whose match never fires still counts.
 */
function acceptsAllUnchanged(rules: readonly CompiledRule[], fallThroughAccept: boolean): boolean {
  for (const r of rules) {
    if (r.modify !== null || r.action === RuleAction.REJECT) return false;
    if (r.match === null && r.action === RuleAction.ACCEPT) return true;
  }
  return fallThroughAccept;
}

/** True only when provably every route is refused. */
function rejectsAll(rules: readonly CompiledRule[], fallThroughAccept: boolean): boolean {
  for (const r of rules) {
    if (r.action === RuleAction.ACCEPT) return false;
    if (r.match === null && r.action === RuleAction.REJECT) return true;
  }
  return !fallThroughAccept;
}
