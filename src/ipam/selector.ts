/**
 * The node selector of an IPPool, in the small subset IPAM needs until the full selector
 * language lands: `all()`, `has(key)`, `!has(key)`, `key == 'value'`, `key != 'value'`,
 * joined by `&&`. One function, so that it can be swapped for the full parser later.
 */
import { UserError } from '../common/errors.js';

export class SelectorError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

type Term = (labels: Record<string, string>) => boolean;

const TERM = /^\s*(?:(all)\(\s*\)|(!?)has\(\s*([\w./-]+)\s*\)|([\w./-]+)\s*(==|!=)\s*(?:'([^']*)'|"([^"]*)"))\s*$/;

function parseTerm(text: string, selector: string): Term {
  const m = TERM.exec(text);
  if (!m) throw new SelectorError(`nodeSelector "${selector}": cannot read "${text.trim()}" (supported: all(), has(k), k == 'v', k != 'v', joined by &&)`);
  if (m[1]) return () => true;
  if (m[3]) {
    const key = m[3];
    const negate = m[2] === '!';
    return (labels) => (key in labels) !== negate;
  }
  const key = m[4]!;
  const value = m[6] ?? m[7] ?? '';
  return m[5] === '==' ? (labels) => labels[key] === value : (labels) => labels[key] !== value;
}

/** Whether a node with `labels` matches `selector` (empty or absent: every node). */
export function matchesNodeSelector(selector: string | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined || selector.trim() === '') return true;
  return selector.split('&&').every((part) => parseTerm(part, selector)(labels));
}
