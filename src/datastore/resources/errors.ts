/**
 * Errors about resources. A ValidationError names the field (`spec.cidr`) and what is wrong
 * with it; a ResourceError adds which document of a batch and which resource it was, so that
 * the CLI can prefix the file name and print one line.
 */
import { UserError, ValidationError } from '../../common/errors.js';

export { ValidationError };

/** Who a document says it is, as far as it could be read: for messages. */
export interface ResourceIdentity {
  kind?: string;
  name?: string;
  namespace?: string;
}

export function describeIdentity(id: ResourceIdentity): string {
  if (!id.kind && !id.name) return '';
  const name = id.name === undefined ? '' : ` "${id.namespace ? `${id.namespace}/` : ''}${id.name}"`;
  return `${id.kind ?? 'resource'}${name}`;
}

/**
 * One document of a batch failed. `index` is 0-based; the message says `document N` 1-based
 * as people count. `cause` keeps the original error (its class tells create-exists from
 * invalid); the CLI rebuilds the line with the file name in front via `describe(source)`.
 */
export class ResourceError extends UserError {
  constructor(
    readonly index: number | undefined,
    readonly identity: ResourceIdentity,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(ResourceError.format(undefined, index, identity, detail), options);
    this.name = 'ResourceError';
  }

  /** The message with a source (file name) in front: `pools.yaml, document 2 (IPPool "a"): ...`. */
  describe(source?: string): string {
    return ResourceError.format(source, this.index, this.identity, this.detail);
  }

  static format(source: string | undefined, index: number | undefined, identity: ResourceIdentity, detail: string): string {
    const where: string[] = [];
    if (source) where.push(source);
    if (index !== undefined) where.push(`document ${index + 1}`);
    const who = describeIdentity(identity);
    let prefix = where.join(', ');
    if (who) prefix = prefix ? `${prefix} (${who})` : who;
    return prefix ? `${prefix}: ${detail}` : detail;
  }
}
