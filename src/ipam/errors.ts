/** The ways an IPAM request can fail that a caller (CNI, CLI, script) can act on. */
import { ConflictError, UserError } from '../common/errors.js';

/** No free address (or block) is left where this request may take one. */
export class ExhaustedError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ExhaustedError';
  }
}

/** The request names a pool that may not serve it (disabled, selector, allowed uses). */
export class PoolRefusedError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'PoolRefusedError';
  }
}

/** A named address is held already. */
export class AddressInUseError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'AddressInUseError';
  }
}

/** A release named the allocation it saw, but the address was released and re-allocated since. */
export class SequenceMismatchError extends ConflictError {
  constructor(message: string) {
    super(message);
    this.name = 'SequenceMismatchError';
  }
}

/** Bad arguments to an IPAM call (an address that is not one, an empty handle). */
export class IpamInputError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'IpamInputError';
  }
}
