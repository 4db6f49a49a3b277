/**
 * Whether a node matches an IPPool's nodeSelector. One function over the project's full
 * selector language (src/selector), with parsed selectors cached: pools change rarely and
 * this runs on every assignment.
 */
import { parseSelector, type Selector } from '../selector/index.js';

const cache = new Map<string, Selector>();

/** Whether a node with `labels` matches `selector` (empty or absent: every node). */
export function matchesNodeSelector(selector: string | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined || selector.trim() === '') return true;
  let parsed = cache.get(selector);
  if (!parsed) {
    parsed = parseSelector(selector);
    if (cache.size > 256) cache.clear();
    cache.set(selector, parsed);
  }
  return parsed.matches(labels);
}
