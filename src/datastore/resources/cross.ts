/**
 * Rules that look at more than one resource: a pool may not overlap another pool, and a
 * pool's cidr and blockSize cannot change once made (its blocks and addresses are carved from
 * them). Pure: the store gathers the resources and calls these.
 */
import { ValidationError } from './errors.js';
import { cidrsOverlap, parseCidr } from './net.js';
import type { IPPool } from './types.js';

/** Throws if `pool` overlaps any of `others` (which must not include it). */
export function checkPoolOverlap(pool: IPPool, others: readonly IPPool[]): void {
  const mine = parseCidr(pool.spec.cidr)!;
  for (const other of others) {
    const theirs = parseCidr(other.spec.cidr);
    if (theirs && cidrsOverlap(mine, theirs)) {
      throw new ValidationError('spec.cidr', `${pool.spec.cidr} overlaps IPPool "${other.metadata.name}" (${other.spec.cidr})`);
    }
  }
}

/** Throws if a replace of `before` by `after` changes what cannot change. */
export function checkPoolImmutable(before: IPPool, after: IPPool): void {
  if (before.spec.cidr !== after.spec.cidr) {
    throw new ValidationError('spec.cidr', `cannot change from ${before.spec.cidr} to ${after.spec.cidr} (make a new pool, then disable and delete this one)`);
  }
  if (before.spec.blockSize !== after.spec.blockSize) {
    throw new ValidationError('spec.blockSize', `cannot change from ${before.spec.blockSize} to ${after.spec.blockSize} (make a new pool, then disable and delete this one)`);
  }
}
