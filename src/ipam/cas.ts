/** The errors that mean "someone else wrote first": re-read and decide again. */
import { AlreadyExistsError, ConflictError, NotFoundError } from '../common/errors.js';

export function isCasFailure(err: unknown): boolean {
  return err instanceof ConflictError || err instanceof AlreadyExistsError || err instanceof NotFoundError;
}
