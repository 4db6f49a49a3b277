import { ALL, GLOBAL, MAX_LABEL_KEY_LENGTH } from './ast.js';
import type { CompareKind, SelectorNode, SetKind } from './ast.js';
import { SelectorError } from './errors.js';
import { describeToken, tokenize } from './tokenizer.js';
import type { Token, TokenKind } from './tokenizer.js';

/**
 * Parses a selector into its syntax tree, or throws a `SelectorError` naming the position
 * and what was expected there. The empty (or all-blank) selector is `all()`.
 *
 * Grammar, loosest binding first (Calico's precedence: `!` binds tightest, then `&&`, then `||`):
 *
 *   selector := <empty> | or
 *   or       := and ('||' and)*
 *   and      := unary ('&&' unary)*
 *   unary    := '!' unary | primary
 *   primary  := '(' or ')' | 'has' '(' key ')' | 'all' '(' ')' | 'global' '(' ')'
 *             | key ('==' | '!=' | 'contains' | 'starts' 'with' | 'ends' 'with') string
 *             | key ('in' | 'not' 'in') '{' [string (',' string)* [',']] '}'
 *
 * The tree keeps the selector's shape (`a && (b && c)` stays nested, `!!x` stays doubled);
 * `normalize` in canonical.ts is what flattens and simplifies.
 */
export function parseSelectorAst(selector: string): SelectorNode {
  return new Parser(selector, tokenize(selector)).parseSelector();
}

/** `starts with` and `ends with` are two words each; the first one picks the test. */
const AFFIX_KINDS: Readonly<Record<string, CompareKind>> = {
  starts: 'startsWith',
  ends: 'endsWith',
};

const OPERATOR_LIST = '==, !=, in, not in, contains, starts with or ends with';

class Parser {
  private next = 0;

  constructor(
    private readonly selector: string,
    private readonly tokens: readonly Token[],
  ) {}

  parseSelector(): SelectorNode {
    if (this.peek().kind === 'end') return ALL;
    const node = this.parseOr('');
    const rest = this.peek();
    if (rest.kind !== 'end') {
      throw this.fail(rest, `expected '&&', '||' or the end of the selector, found ${this.describe(rest)}`);
    }
    return node;
  }

  /** `after` names what came before the expression, for error messages ('' at the start). */
  private parseOr(after: string): SelectorNode {
    const operands = [this.parseAnd(after)];
    while (this.peek().kind === '||') {
      this.take();
      operands.push(this.parseAnd("'||'"));
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  private parseAnd(after: string): SelectorNode {
    const operands = [this.parseUnary(after)];
    while (this.peek().kind === '&&') {
      this.take();
      operands.push(this.parseUnary("'&&'"));
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  private parseUnary(after: string): SelectorNode {
    if (this.peek().kind === '!') {
      this.take();
      return { kind: 'not', operand: this.parseUnary("'!'") };
    }
    return this.parsePrimary(after);
  }

  private parsePrimary(after: string): SelectorNode {
    const token = this.peek();
    if (token.kind === '(') {
      this.take();
      const inner = this.parseOr("'('");
      this.expect(')', `expected ')' to close the '(' at position ${token.start}`);
      return inner;
    }
    if (token.kind === 'word') {
      this.take();
      if (this.peek().kind === '(') return this.parseFunction(token);
      return this.parseLabelTest(this.checkKey(token));
    }
    const where = after === '' ? '' : ` after ${after}`;
    throw this.fail(token, `expected an expression${where}, found ${this.describe(token)}`);
  }

  /** `name(` has been read up to the name; the '(' is next. */
  private parseFunction(name: Token): SelectorNode {
    this.take(); // '('
    switch (name.value) {
      case 'has': {
        const keyToken = this.peek();
        if (keyToken.kind !== 'word') {
          throw this.fail(keyToken, `expected a label key in has(), found ${this.describe(keyToken)}`);
        }
        this.take();
        const key = this.checkKey(keyToken);
        this.expect(')', `expected ')' after has(${key}`);
        return { kind: 'has', key };
      }
      case 'all':
        this.expect(')', "expected ')' after 'all('");
        return ALL;
      case 'global':
        this.expect(')', "expected ')' after 'global('");
        return GLOBAL;
      default:
        throw this.fail(name, `unknown function '${name.value}', expected has(), all() or global()`);
    }
  }

  private parseLabelTest(key: string): SelectorNode {
    const op = this.peek();
    if (op.kind === '==' || op.kind === '!=') {
      this.take();
      const value = this.expectString(`'${op.kind}'`);
      return { kind: op.kind === '==' ? 'eq' : 'ne', key, value };
    }
    if (op.kind === 'word') {
      switch (op.value) {
        case 'in':
          this.take();
          return this.parseSet('in', key, "'in'");
        case 'not':
          this.take();
          this.expectWord('in', "expected 'in' after 'not'");
          return this.parseSet('notIn', key, "'not in'");
        case 'contains':
          this.take();
          return { kind: 'contains', key, value: this.expectString("'contains'") };
        case 'starts':
        case 'ends':
          this.take();
          this.expectWord('with', `expected 'with' after '${op.value}'`);
          return { kind: AFFIX_KINDS[op.value]!, key, value: this.expectString(`'${op.value} with'`) };
      }
    }
    throw this.fail(op, `expected an operator after '${key}' (${OPERATOR_LIST}), found ${this.describe(op)}`);
  }

  private parseSet(kind: SetKind, key: string, operator: string): SelectorNode {
    this.expect('{', `expected '{' to start a set after ${operator}`);
    const values: string[] = [];
    // Calico accepts a trailing comma, `{'a',}`, and the empty set, `{}`.
    for (;;) {
      const token = this.take();
      if (token.kind === '}') break;
      if (token.kind !== 'string') {
        const wanted = values.length === 0 ? "a quoted string or '}'" : "a quoted string or '}' after ','";
        throw this.fail(token, `expected ${wanted} in the set, found ${this.describe(token)}`);
      }
      values.push(token.value);
      const sep = this.take();
      if (sep.kind === '}') break;
      if (sep.kind !== ',') {
        throw this.fail(sep, `expected ',' or '}' in the set, found ${this.describe(sep)}`);
      }
    }
    return { kind, key, values };
  }

  private checkKey(token: Token): string {
    if (token.value.length > MAX_LABEL_KEY_LENGTH) {
      throw this.fail(token, `label key is ${token.value.length} characters long, more than ${MAX_LABEL_KEY_LENGTH}`);
    }
    return token.value;
  }

  private expectString(operator: string): string {
    const token = this.peek();
    if (token.kind !== 'string') {
      throw this.fail(token, `expected a quoted string after ${operator}, found ${this.describe(token)}`);
    }
    this.take();
    return token.value;
  }

  private expectWord(word: string, message: string): void {
    const token = this.peek();
    if (token.kind !== 'word' || token.value !== word) {
      throw this.fail(token, `${message}, found ${this.describe(token)}`);
    }
    this.take();
  }

  private expect(kind: TokenKind, message: string): void {
    const token = this.peek();
    if (token.kind !== kind) throw this.fail(token, `${message}, found ${this.describe(token)}`);
    this.take();
  }

  private peek(): Token {
    return this.tokens[this.next]!;
  }

  /** Consumes a token; the final 'end' token is never consumed past. */
  private take(): Token {
    const token = this.tokens[this.next]!;
    if (token.kind !== 'end') this.next++;
    return token;
  }

  private describe(token: Token): string {
    return describeToken(this.selector, token);
  }

  private fail(token: Token, detail: string): SelectorError {
    return new SelectorError(this.selector, token.start, detail);
  }
}
