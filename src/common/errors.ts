/**
 * Errors a user can cause (bad input, a conflict, an unreachable service). The CLI prints
 * their message as one line, without a stack trace; any other error is a bug and keeps its
 * trace. Every module may throw these; `where` names the file, document or field at fault.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Wrong flags or arguments on the command line: exit status 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The named thing does not exist (get, replace, delete). */
export class NotFoundError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The named thing exists already (create). */
export class AlreadyExistsError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'AlreadyExistsError';
  }
}

/** A compare-and-swap lost: someone else changed the key since it was read. */
export class ConflictError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The datastore (or another service) cannot be reached. */
export class UnavailableError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A field of an input (a resource, a config file, a policy) is wrong. `path` is the field path, e.g. `spec.ingress[0].action`. */
export class ValidationError extends UserError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = 'ValidationError';
  }
}
