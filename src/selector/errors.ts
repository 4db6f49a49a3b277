import { UserError } from '../common/errors.js';

/**
 * A selector that does not parse. `position` is the 0-based index (in UTF-16 code units, as
 * JavaScript strings count) of the character where parsing failed; it equals
 * `selector.length` when the selector ended too early. The message is one line, so the CLI
 * can print it as is:
 *
 *   selector "role == 'db' &&": position 15: expected an expression after '&&', found the end of the selector
 */
export class SelectorError extends UserError {
  readonly selector: string;
  readonly position: number;
  readonly detail: string;

  constructor(selector: string, position: number, detail: string) {
    // JSON quoting keeps the message on one line even if the selector holds a newline.
    super(`selector ${JSON.stringify(selector)}: position ${position}: ${detail}`);
    this.name = 'SelectorError';
    this.selector = selector;
    this.position = position;
    this.detail = detail;
  }
}
