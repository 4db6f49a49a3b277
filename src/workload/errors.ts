import { UserError } from '../common/errors.js';

/** A workload request a user can get wrong, or a kernel step that failed: one line. */
export class WorkloadError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkloadError';
  }
}
