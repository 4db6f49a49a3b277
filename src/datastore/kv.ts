/**
 * The key-value contract every backend keeps (etcd for real, memory for one process).
 *
 * Revisions are the store's global, monotonically increasing counter (etcd's mod_revision),
 * carried as JS numbers: etcd's int64 counter stays far below 2^53 in any real cluster.
 * Keys and values are strings; values are the JSON text of a resource or record.
 *
 * Errors: create of a present key throws AlreadyExistsError; a compare-and-swap that loses
 * throws ConflictError; update/delete of a missing key throws NotFoundError; a store that
 * cannot be reached throws UnavailableError. All of them name the key. In a transaction the
 * first failing step decides the error, and nothing of the transaction is written.
 */
import { AlreadyExistsError, ConflictError, NotFoundError } from '../common/errors.js';

export interface KVPair {
  key: string;
  value: string;
  /** Revision of the last write to this key. */
  modRevision: number;
  /** Revision at which the key was created (it changes when a key is deleted and made again). */
  createRevision: number;
  /** Lease the key is bound to, if any (hex id as etcd prints it). */
  lease?: string;
}

export interface ListResult {
  items: KVPair[];
  /** Store revision the list was read at: a watch from revision + 1 misses nothing. */
  revision: number;
}

export interface WriteOptions {
  /** Bind the key to a lease: it goes when the lease expires. */
  lease?: string;
}

export interface CasOptions extends WriteOptions {
  /** Only write if the key's modRevision is this (omitted: any present key). */
  expectRevision?: number;
}

/** One step of a transaction. All steps of a transaction happen, or none does. */
export type TxnOp =
  | { op: 'create'; key: string; value: string; lease?: string }
  | { op: 'update'; key: string; value: string; expectRevision?: number; lease?: string }
  | { op: 'put'; key: string; value: string; lease?: string }
  | { op: 'delete'; key: string; expectRevision?: number }
  /**
   * A guard: the key must be at this modRevision (0 = must be absent); writes nothing.
   * A failed check is a ConflictError: what the caller read has changed since.
   */
  | { op: 'check'; key: string; expectRevision: number };

export interface TxnResult {
  /** Store revision after the transaction. */
  revision: number;
  /** One entry per op, in order: the written pair for writes, null for deletes and checks. */
  results: (KVPair | null)[];
}

export type WatchEvent =
  | { type: 'put'; kv: KVPair; prev?: KVPair }
  | { type: 'delete'; key: string; modRevision: number; prev?: KVPair };

export interface WatchOptions {
  /** First revision to deliver (inclusive). Omitted: from now on. */
  fromRevision?: number;
}

export interface WatchHandlers {
  /**
   * Events in revision order; each revision's events exactly once, also across reconnects.
   * Called one batch at a time: the next batch waits until the returned promise settles.
   */
  onEvents(events: WatchEvent[]): void | Promise<void>;
  /**
   * The watch cannot go on (e.g. the start revision was compacted away). The caller must
   * list again and start a new watch. Not called for a passing disconnect: the backend
   * resumes by itself from the last delivered revision + 1.
   */
  onError?(err: Error): void;
}

export interface Watch {
  /** Revision of the last event delivered (or fromRevision - 1 before any). */
  readonly lastRevision: number;
  cancel(): Promise<void>;
}

export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** Keeps the lease alive in the background until revoke() or close(). */
  keepAlive(): void;
  /** Drops the lease at once, and with it every key bound to it. */
  revoke(): Promise<void>;
  /** Called when the lease is known to be lost (expired while unreachable). */
  onLost(handler: () => void): void;
}

export interface KV {
  /** What this store is, for messages: `etcd://127.0.0.1:2379` or `memory:`. */
  readonly url: string;
  get(key: string): Promise<KVPair | null>;
  /** Every key starting with prefix, in key order. */
  list(prefix: string): Promise<ListResult>;
  create(key: string, value: string, options?: WriteOptions): Promise<KVPair>;
  update(key: string, value: string, options?: CasOptions): Promise<KVPair>;
  /** Unconditional write. */
  put(key: string, value: string, options?: WriteOptions): Promise<KVPair>;
  delete(key: string, options?: { expectRevision?: number }): Promise<void>;
  txn(ops: TxnOp[]): Promise<TxnResult>;
  watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Watch;
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** The store's current revision. */
  revision(): Promise<number>;
  close(): Promise<void>;
}

/** A store whose history can be dropped (etcd's compact), for tests and maintenance tools. */
export interface Compactable {
  /** Forget history before `revision`: a watch from an older revision then fails. */
  compact(revision: number): Promise<void>;
}

/*
 * The error every backend throws for a failed condition, so that messages read the same
 * whether the store is etcd or memory.
 */

export function keyExistsError(key: string): AlreadyExistsError {
  return new AlreadyExistsError(`key "${key}" already exists`);
}

export function keyNotFoundError(key: string): NotFoundError {
  return new NotFoundError(`key "${key}" does not exist`);
}

/** `actual` is the key's modRevision now (0 = absent), when the backend knows it. */
export function keyConflictError(key: string, expected: number, actual?: number): ConflictError {
  const found = actual === undefined ? '' : actual === 0 ? ', found it absent' : `, found revision ${actual}`;
  const wanted = expected === 0 ? 'absent' : `at revision ${expected}`;
  return new ConflictError(`key "${key}" was changed by someone else (expected it ${wanted}${found})`);
}

/** The error for a transaction step whose condition failed, given the key's state now. */
export function failedStepError(op: TxnOp, actualRevision: number): Error {
  switch (op.op) {
    case 'create':
      return keyExistsError(op.key);
    case 'update':
    case 'delete':
      if (actualRevision === 0) return keyNotFoundError(op.key);
      return keyConflictError(op.key, op.expectRevision ?? actualRevision, actualRevision);
    case 'check':
      return keyConflictError(op.key, op.expectRevision, actualRevision);
    case 'put':
      throw new Error('a put has no condition to fail');
  }
}

/**
 * Whether a step's condition holds for a key at `actualRevision` (0 = absent). Shared by the
 * backends so that both decide the same way.
 */
export function stepHolds(op: TxnOp, actualRevision: number): boolean {
  switch (op.op) {
    case 'create':
      return actualRevision === 0;
    case 'update':
    case 'delete':
      return actualRevision !== 0 && (op.expectRevision === undefined || op.expectRevision === actualRevision);
    case 'check':
      return op.expectRevision === actualRevision;
    case 'put':
      return true;
  }
}

/**
 * Rejects transactions that etcd rejects too, before they reach a backend: an empty key, or
 * one key written by two steps (etcd: "duplicate key given in txn request").
 */
export function validateTxn(ops: TxnOp[]): void {
  const written = new Set<string>();
  ops.forEach((op, i) => {
    if (typeof op.key !== 'string' || op.key === '') throw new Error(`txn step ${i + 1} (${op.op}): the key is empty`);
    if (op.op === 'check') return;
    if (written.has(op.key)) throw new Error(`txn step ${i + 1} (${op.op}): key "${op.key}" is written twice in one transaction`);
    written.add(op.key);
  });
}

/**
 * Given to WatchHandlers.onError when the watch's start revision is older than the history
 * the store still keeps. The caller lists again and watches from the list's revision + 1.
 */
export class CompactedError extends Error {
  constructor(
    readonly prefix: string,
    readonly fromRevision: number,
    /** The oldest revision the store still keeps history for (etcd's compact_revision). */
    readonly compactRevision: number,
  ) {
    super(
      `watch on "${prefix}" from revision ${fromRevision} cannot go on: history before revision ${compactRevision} was compacted; list again and watch from there`,
    );
    this.name = 'CompactedError';
  }
}
