import type { SelectorNode } from './ast.js';
import { canonical, canonicalHash } from './canonical.js';
import { SelectorError } from './errors.js';
import { compile } from './evaluate.js';
import type { EvaluationContext, Labels, Matcher } from './evaluate.js';
import { parseSelectorAst } from './parser.js';

/** A parsed selector, compiled once, with its canonical text and id. Immutable. */
export class Selector {
  /** The canonical text (see canonical.ts): selectors with equal `canonical` select the same things. */
  readonly canonical: string;
  /** A short stable hash of `canonical`, for ipset and chain names. */
  readonly id: string;
  private readonly matcher: Matcher;

  constructor(
    /** The text as the user wrote it. */
    readonly text: string,
    readonly ast: SelectorNode,
  ) {
    this.canonical = canonical(ast);
    this.id = canonicalHash(this.canonical);
    this.matcher = compile(ast);
  }

  matches(labels: Labels, ctx?: EvaluationContext): boolean {
    return this.matcher(labels, ctx);
  }

  toString(): string {
    return this.canonical;
  }
}

/** Parses a selector; throws `SelectorError` (a `UserError`) naming the position at fault. */
export function parseSelector(text: string): Selector {
  return new Selector(text, parseSelectorAst(text));
}

/** The error message for a selector that does not parse, or null for one that does. */
export function validateSelector(text: string): string | null {
  try {
    parseSelectorAst(text);
    return null;
  } catch (err) {
    if (err instanceof SelectorError) return err.message;
    throw err;
  }
}

/** The id of a selector's canonical form; throws `SelectorError` if it does not parse. */
export function selectorId(text: string): string {
  return canonicalHash(canonical(parseSelectorAst(text)));
}
