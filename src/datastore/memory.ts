/**
 * MemoryKV: the KV contract kept inside one process, with etcd's semantics: one global
 * revision counter, create/mod revisions per key, compare-and-swap, all-or-nothing
 * transactions (one revision per transaction), prefix lists in key order, watches that
 * replay a bounded history from a revision, and leases whose keys vanish when they expire.
 *
 * It is for one process only: unit tests, `--datastore memory:` for a single-process lab or
 * a dry run. Two processes (or two hosts) never share it, so it never stands in for etcd
 * between hosts, and everything in it is lost when the process exits.
 *
 * Time comes from an injectable Clock so that lease tests can move time by hand.
 */
import { UnavailableError, NotFoundError } from '../common/errors.js';
import { logger } from '../log/logger.js';
import {
  CompactedError,
  failedStepError,
  stepHolds,
  validateTxn,
  type CasOptions,
  type Compactable,
  type KV,
  type KVPair,
  type Lease,
  type ListResult,
  type TxnOp,
  type TxnResult,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
  type WatchOptions,
  type WriteOptions,
} from './kv.js';
import { eventKey, WatchQueue } from './watch-queue.js';

const log = logger('datastore.memory');

export interface Timer {
  cancel(): void;
}

/** Where MemoryKV reads the time and sets its lease timers. */
export interface Clock {
  now(): number;
  /** Runs fn once, ms milliseconds from now. */
  setTimer(fn: () => void, ms: number): Timer;
}

/** The real clock. Its timers do not keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

export interface MemoryKVOptions {
  clock?: Clock;
  /** How many past events a watch can replay (default 10,000); older ones are compacted. */
  historyLimit?: number;
}

interface Entry {
  value: string;
  modRevision: number;
  createRevision: number;
  lease?: string;
}

/** The events one revision made. */
interface HistoryEntry {
  revision: number;
  events: WatchEvent[];
}

function pairOf(key: string, entry: Entry): KVPair {
  const pair: KVPair = { key, value: entry.value, modRevision: entry.modRevision, createRevision: entry.createRevision };
  if (entry.lease !== undefined) pair.lease = entry.lease;
  return pair;
}

export class MemoryKV implements KV, Compactable {
  readonly url = 'memory:';
  private readonly data = new Map<string, Entry>();
  private rev = 1; // etcd's empty store is at revision 1 too
  private history: HistoryEntry[] = [];
  private historyEvents = 0;
  private compactRevision = 0;
  private readonly historyLimit: number;
  private readonly watches = new Set<MemoryWatch>();
  private readonly leases = new Map<string, MemoryLease>();
  private nextLeaseId = 1;
  private closed = false;
  readonly clock: Clock;

  constructor(options: MemoryKVOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.historyLimit = options.historyLimit ?? 10_000;
  }

  async get(key: string): Promise<KVPair | null> {
    this.assertOpen();
    const entry = this.data.get(key);
    return entry ? pairOf(key, entry) : null;
  }

  async list(prefix: string): Promise<ListResult> {
    this.assertOpen();
    const items: KVPair[] = [];
    for (const [key, entry] of this.data) if (key.startsWith(prefix)) items.push(pairOf(key, entry));
    // etcd orders by the key's bytes; for the ASCII keys we use that is code-unit order.
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { items, revision: this.rev };
  }

  async create(key: string, value: string, options: WriteOptions = {}): Promise<KVPair> {
    return (await this.txn([{ op: 'create', key, value, lease: options.lease }])).results[0]!;
  }

  async update(key: string, value: string, options: CasOptions = {}): Promise<KVPair> {
    const { expectRevision, lease } = options;
    return (await this.txn([{ op: 'update', key, value, expectRevision, lease }])).results[0]!;
  }

  async put(key: string, value: string, options: WriteOptions = {}): Promise<KVPair> {
    return (await this.txn([{ op: 'put', key, value, lease: options.lease }])).results[0]!;
  }

  async delete(key: string, options: { expectRevision?: number } = {}): Promise<void> {
    await this.txn([{ op: 'delete', key, expectRevision: options.expectRevision }]);
  }

  async txn(ops: TxnOp[]): Promise<TxnResult> {
    this.assertOpen();
    validateTxn(ops);
    // Every condition first, against the state before the transaction: nothing is written
    // unless all of them hold.
    for (const op of ops) {
      const actual = this.data.get(op.key)?.modRevision ?? 0;
      if (!stepHolds(op, actual)) throw failedStepError(op, actual);
      if ('lease' in op && op.lease !== undefined && !this.leases.has(op.lease)) {
        throw new NotFoundError(`lease ${op.lease} for key "${op.key}" does not exist (expired or revoked)`);
      }
    }
    const writes = ops.some((op) => op.op !== 'check');
    if (!writes) return { revision: this.rev, results: ops.map(() => null) };

    const revision = this.rev + 1;
    const events: WatchEvent[] = [];
    const results: (KVPair | null)[] = [];
    for (const op of ops) {
      if (op.op === 'check') {
        results.push(null);
      } else if (op.op === 'delete') {
        const prev = this.data.get(op.key)!;
        this.removeEntry(op.key, prev);
        events.push({ type: 'delete', key: op.key, modRevision: revision, prev: pairOf(op.key, prev) });
        results.push(null);
      } else {
        const prev = this.data.get(op.key);
        const entry: Entry = { value: op.value, modRevision: revision, createRevision: prev?.createRevision ?? revision };
        // As in etcd, a write without a lease detaches the key from any lease it had.
        if (prev?.lease !== undefined) this.leases.get(prev.lease)?.keys.delete(op.key);
        if (op.lease !== undefined) {
          entry.lease = op.lease;
          this.leases.get(op.lease)!.keys.add(op.key);
        }
        this.data.set(op.key, entry);
        const kv = pairOf(op.key, entry);
        events.push(prev ? { type: 'put', kv, prev: pairOf(op.key, prev) } : { type: 'put', kv });
        results.push(kv);
      }
    }
    this.commit(revision, events);
    return { revision, results };
  }

  watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Watch {
    this.assertOpen();
    const fromRevision = options.fromRevision ?? this.rev + 1;
    const watch = new MemoryWatch(prefix, fromRevision, handlers, (w) => this.watches.delete(w));
    if (fromRevision < this.compactRevision) {
      watch.fail(new CompactedError(prefix, fromRevision, this.compactRevision));
      return watch;
    }
    for (const entry of this.history) if (entry.revision >= fromRevision) watch.offer(entry.events);
    this.watches.add(watch);
    return watch;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.assertOpen();
    if (!(ttlSeconds > 0)) throw new RangeError(`lease TTL must be a positive number of seconds, not ${ttlSeconds}`);
    const id = (this.nextLeaseId++).toString(16);
    const lease = new MemoryLease(id, ttlSeconds, this.clock, {
      revoke: () => this.dropLease(id),
      expire: () => this.dropLease(id),
    });
    this.leases.set(id, lease);
    return lease;
  }

  async revision(): Promise<number> {
    this.assertOpen();
    return this.rev;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.rev) throw new RangeError(`cannot compact at revision ${revision}: the store is at ${this.rev}`);
    if (revision <= this.compactRevision) return;
    this.compactRevision = revision;
    const keep = this.history.filter((entry) => entry.revision >= revision);
    this.history = keep;
    this.historyEvents = keep.reduce((n, entry) => n + entry.events.length, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of this.watches) void watch.cancel();
    this.watches.clear();
    for (const lease of this.leases.values()) lease.stop();
    this.leases.clear();
  }

  private removeEntry(key: string, entry: Entry): void {
    this.data.delete(key);
    if (entry.lease !== undefined) this.leases.get(entry.lease)?.keys.delete(key);
  }

  /** Deletes every key of a lease in one revision, as etcd does when a lease goes. */
  private dropLease(id: string): void {
    const lease = this.leases.get(id);
    if (!lease || this.closed) return;
    this.leases.delete(id);
    const keys = [...lease.keys].sort();
    if (keys.length === 0) return;
    const revision = this.rev + 1;
    const events: WatchEvent[] = keys.map((key) => {
      const prev = this.data.get(key)!;
      this.data.delete(key);
      return { type: 'delete', key, modRevision: revision, prev: pairOf(key, prev) };
    });
    this.commit(revision, events);
  }

  private commit(revision: number, events: WatchEvent[]): void {
    this.rev = revision;
    this.history.push({ revision, events });
    this.historyEvents += events.length;
    while (this.historyEvents > this.historyLimit && this.history.length > 1) {
      const dropped = this.history.shift()!;
      this.historyEvents -= dropped.events.length;
      this.compactRevision = dropped.revision + 1;
    }
    for (const watch of this.watches) watch.offer(events);
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('datastore memory: is closed');
  }
}

/** One watch: filters the store's events by prefix and hands them to its WatchQueue. */
class MemoryWatch implements Watch {
  private readonly queue: WatchQueue;

  constructor(
    private readonly prefix: string,
    fromRevision: number,
    handlers: WatchHandlers,
    private readonly onCancel: (watch: MemoryWatch) => void,
  ) {
    this.queue = new WatchQueue(handlers, fromRevision, log.child({ prefix }));
  }

  get lastRevision(): number {
    return this.queue.lastRevision;
  }

  offer(events: WatchEvent[]): void {
    this.queue.push(events.filter((event) => eventKey(event).startsWith(this.prefix)));
  }

  fail(err: Error): void {
    this.queue.fail(err);
  }

  async cancel(): Promise<void> {
    this.queue.stop();
    this.onCancel(this);
  }
}

/** A lease with a deadline; keepAlive() pushes the deadline on every third of the TTL. */
class MemoryLease implements Lease {
  readonly keys = new Set<string>();
  private deadline: number;
  private expiryTimer: Timer | undefined;
  private keepAliveTimer: Timer | undefined;
  private readonly lostHandlers: (() => void)[] = [];
  private live = true;

  constructor(
    readonly id: string,
    readonly ttlSeconds: number,
    private readonly clock: Clock,
    private readonly store: { revoke(): void; expire(): void },
  ) {
    this.deadline = clock.now() + ttlSeconds * 1000;
    this.armExpiry();
  }

  keepAlive(): void {
    if (!this.live || this.keepAliveTimer) return;
    const beat = () => {
      if (!this.live) return;
      this.deadline = this.clock.now() + this.ttlSeconds * 1000;
      this.keepAliveTimer = this.clock.setTimer(beat, (this.ttlSeconds * 1000) / 3);
    };
    beat();
  }

  async revoke(): Promise<void> {
    if (!this.live) return;
    this.stop();
    this.store.revoke();
  }

  onLost(handler: () => void): void {
    this.lostHandlers.push(handler);
  }

  /** Stops the timers without touching keys (the store is closing, or the lease is revoked). */
  stop(): void {
    this.live = false;
    this.expiryTimer?.cancel();
    this.keepAliveTimer?.cancel();
  }

  private armExpiry(): void {
    this.expiryTimer = this.clock.setTimer(() => {
      if (!this.live) return;
      if (this.clock.now() < this.deadline) {
        this.armExpiry(); // kept alive meanwhile
        return;
      }
      this.stop();
      this.store.expire();
      for (const handler of this.lostHandlers) handler();
    }, Math.max(0, this.deadline - this.clock.now()));
  }
}
