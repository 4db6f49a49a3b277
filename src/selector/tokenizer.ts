import { isLabelKeyChar } from './ast.js';
import { SelectorError } from './errors.js';

/**
 * Splits a selector into tokens. Context-free: words (label keys, function names and the
 * keyword operators `in`, `not`, `contains`, `starts`, `ends`, `with`) all come out as
 * `word` tokens and the parser decides what a word means from where it stands. That way
 * `in == 'x'` and `has(all)` mean what they say.
 */

export type TokenKind =
  | 'word'
  | 'string'
  | '('
  | ')'
  | '{'
  | '}'
  | ','
  | '=='
  | '!='
  | '!'
  | '&&'
  | '||'
  | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** The word itself, or a string's contents without its quotes; '' for punctuation. */
  readonly value: string;
  /** 0-based index of the token's first character in the selector. */
  readonly start: number;
  /** 0-based index just past the token's last character. */
  readonly end: number;
}

/** Spaces and tabs are Calico's; newlines are accepted too, for selectors written as YAML blocks. */
function isWhitespace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  '(': '(',
  ')': ')',
  '{': '{',
  '}': '}',
  ',': ',',
};

/** Operators written as a doubled character; a single one is an error (`=` is not `==`). */
const DOUBLED: Readonly<Record<string, TokenKind>> = {
  '=': '==',
  '&': '&&',
  '|': '||',
};

export function tokenize(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = selector.length;
  while (i < n) {
    const c = selector[i]!;
    if (isWhitespace(c)) {
      i++;
      continue;
    }
    const start = i;
    const punct = PUNCTUATION[c];
    if (punct !== undefined) {
      tokens.push({ kind: punct, value: '', start, end: i + 1 });
      i++;
    } else if (c === '!') {
      const kind: TokenKind = selector[i + 1] === '=' ? '!=' : '!';
      i += kind.length;
      tokens.push({ kind, value: '', start, end: i });
    } else if (DOUBLED[c] !== undefined) {
      if (selector[i + 1] !== c) {
        throw new SelectorError(selector, start, `expected '${c}${c}', found a single '${c}'`);
      }
      i += 2;
      tokens.push({ kind: DOUBLED[c]!, value: '', start, end: i });
    } else if (c === '"' || c === "'") {
      // Calico's strings have no escapes: everything up to the next quote of the same kind.
      const close = selector.indexOf(c, i + 1);
      if (close < 0) {
        throw new SelectorError(selector, start, `unterminated string: no closing ${c}`);
      }
      tokens.push({ kind: 'string', value: selector.slice(i + 1, close), start, end: close + 1 });
      i = close + 1;
    } else if (isLabelKeyChar(c)) {
      while (i < n && isLabelKeyChar(selector[i]!)) i++;
      tokens.push({ kind: 'word', value: selector.slice(start, i), start, end: i });
    } else {
      throw new SelectorError(selector, start, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ kind: 'end', value: '', start: n, end: n });
  return tokens;
}

/** How an error message names a token: `'&&'`, `'role'`, `the string 'db'`, `the end of the selector`. */
export function describeToken(selector: string, token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the selector';
    case 'string':
      return `the string ${selector.slice(token.start, token.end)}`;
    case 'word':
      return `'${token.value}'`;
    default:
      return `'${token.kind}'`;
  }
}
