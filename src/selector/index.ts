/**
 * Calico's label selector language: parse (with positioned errors), evaluate (compiled to a
 * closure), a canonical form and id (so equal selectors share one ipset), and an index that
 * tracks which items match which selectors as both change.
 */
export type {
  AllNode,
  AndNode,
  CompareKind,
  CompareNode,
  GlobalNode,
  HasNode,
  NotNode,
  OrNode,
  SelectorNode,
  SetKind,
  SetNode,
} from './ast.js';
export { ALL, GLOBAL, MAX_LABEL_KEY_LENGTH } from './ast.js';
export { canonical, canonicalHash, normalize, printSelector } from './canonical.js';
export { SelectorError } from './errors.js';
export { compile, evaluate } from './evaluate.js';
export type { EvaluationContext, Labels, Matcher } from './evaluate.js';
export { SelectorIndex } from './match-index.js';
export type { MatchListener } from './match-index.js';
export { parseSelectorAst } from './parser.js';
export { parseSelector, Selector, selectorId, validateSelector } from './selector.js';
