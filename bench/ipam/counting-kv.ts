/**
 * A KV that counts the requests it passes on, by kind, so that the benchmark and tests can
 * report etcd transactions per allocation. Delegates everything; changes nothing.
 */
import type { CasOptions, KV, KVPair, Lease, ListResult, TxnOp, TxnResult, Watch, WatchHandlers, WatchOptions, WriteOptions } from '../../src/datastore/kv.js';

export interface KVCounts {
  /** Writes: txn, create, update, put, delete (each one etcd transaction). */
  writes: number;
  /** Reads: get and list. */
  reads: number;
}

export class CountingKV implements KV {
  readonly counts: KVCounts = { writes: 0, reads: 0 };
  constructor(readonly inner: KV) {}
  get url(): string {
    return this.inner.url;
  }
  get(key: string): Promise<KVPair | null> {
    this.counts.reads++;
    return this.inner.get(key);
  }
  list(prefix: string): Promise<ListResult> {
    this.counts.reads++;
    return this.inner.list(prefix);
  }
  create(key: string, value: string, options?: WriteOptions): Promise<KVPair> {
    this.counts.writes++;
    return this.inner.create(key, value, options);
  }
  update(key: string, value: string, options?: CasOptions): Promise<KVPair> {
    this.counts.writes++;
    return this.inner.update(key, value, options);
  }
  put(key: string, value: string, options?: WriteOptions): Promise<KVPair> {
    this.counts.writes++;
    return this.inner.put(key, value, options);
  }
  delete(key: string, options?: { expectRevision?: number }): Promise<void> {
    this.counts.writes++;
    return this.inner.delete(key, options);
  }
  txn(ops: TxnOp[]): Promise<TxnResult> {
    this.counts.writes++;
    return this.inner.txn(ops);
  }
  watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Watch {
    return this.inner.watch(prefix, options, handlers);
  }
  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.inner.grantLease(ttlSeconds);
  }
  revision(): Promise<number> {
    return this.inner.revision();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
