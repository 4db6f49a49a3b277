/**
 * Selector syntax check for resource fields. Delegates to the selector language's own parser
 * (src/selector, a pure leaf module), so a selector that validates here is one felix and
 * IPAM can evaluate.
 */
import { SelectorError } from '../../selector/errors.js';
import { parseSelector } from '../../selector/selector.js';

/** Returns undefined if `selector` is well-formed, else what is wrong with it (one phrase). */
export function validateSelector(selector: string): string | undefined {
  try {
    parseSelector(selector);
    return undefined;
  } catch (err) {
    if (err instanceof SelectorError) return `at position ${err.position}: ${err.detail}`;
    throw err;
  }
}
