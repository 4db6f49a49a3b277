/**
 * Adj-RIB-Out of one peer for one family: per prefix, the outgoing attribute set last sent
 * (an OutStore id + 1, 0 for nothing), and a queue of prefixes to look at again.
 *
 * The queue holds prefixes, not messages: what a queued prefix should look like is worked
 * out when it is taken for sending, from the Loc-RIB as it is then. So churn inside one
 * batch collapses by itself (announce, withdraw, announce is one announcement; announce
 * and withdraw of a prefix never sent is nothing), and a slow socket never builds up stale
 * messages.
 */
import type { FamilyKey } from '../wire/family.js';
import type { OutStore } from './export.js';
import type { PrefixTable } from './prefix-table.js';

export class AdjRibOut {
  /** OutStore id + 1 of what the peer has now; 0: nothing. Grown lazily. */
  sent = new Int32Array(0);
  queued = new Uint8Array(0);
  private queue = new Int32Array(1024);
  private qHead = 0;
  private qTail = 0;
  /** Prefixes the peer has (sent[] non-zero). */
  advertised = 0;
  /** End-of-RIB still owed after the initial table (RFC 4724 §2). */
  eorPending = true;
  /** RFC 7313: a Beginning-of-RIB-Refresh to send before the queue, and the End after it. */
  borrPending = false;
  eorrPending = false;

  /**
   * ADD-PATH send (RFC 7911) only: per prefix the peer holds, its path ids and what each has
   * (OutStore id + 1). sent[pid] is then 1 while the peer holds any path of the prefix.
   */
  readonly pathsSent: Map<number, Map<number, number>> | null;

  constructor(
    readonly family: FamilyKey,
    readonly table: PrefixTable,
    addPath = false,
  ) {
    this.pathsSent = addPath ? new Map() : null;
  }

  get pending(): number {
    return this.qTail - this.qHead;
  }

  private ensure(pid: number): void {
    if (pid < this.sent.length) return;
    const n = Math.max(this.table.capacity, pid + 1);
    const sent = new Int32Array(n);
    sent.set(this.sent);
    this.sent = sent;
    const queued = new Uint8Array(n);
    queued.set(this.queued);
    this.queued = queued;
  }

  /**
   * Look at this prefix again before the next send. `force` (a route refresh): send it
   * even if the peer has it like that already.
   */
  enqueue(pid: number, force = false): void {
    this.ensure(pid);
    if (this.queued[pid] !== 0) {
      if (force) this.queued[pid] = 2;
      return;
    }
    if (this.sent[pid] === 0) this.table.outRefs[pid]++;
    this.queued[pid] = force ? 2 : 1;
    if (this.qTail === this.queue.length) {
      if (this.qHead > this.queue.length >> 1) {
        this.queue.copyWithin(0, this.qHead, this.qTail);
        this.qTail -= this.qHead;
        this.qHead = 0;
      } else {
        const q = new Int32Array(this.queue.length * 2);
        q.set(this.queue.subarray(0, this.qTail));
        this.queue = q;
      }
    }
    this.queue[this.qTail++] = pid;
  }

  /** Whether the peer has something for this prefix, or the prefix is queued for it. */
  holds(pid: number): boolean {
    return pid < this.sent.length && ((this.sent[pid] as number) !== 0 || (this.queued[pid] as number) !== 0);
  }

  /** Whether a queued prefix must be sent even if unchanged (read before settle()). */
  forced(pid: number): boolean {
    return this.queued[pid] === 2;
  }

  /** The next queued prefix (it stays counted in outRefs until settle()), or -1. */
  dequeue(): number {
    if (this.qHead === this.qTail) return -1;
    const pid = this.queue[this.qHead++] as number;
    if (this.qHead === this.qTail) {
      this.qHead = this.qTail = 0;
      if (this.queue.length > 65536) this.queue = new Int32Array(1024);
    }
    return pid;
  }

  /**
   * Record that the peer now has `value` (OutStore id + 1, or 0) for a dequeued prefix,
   * moving the OutStore references. Returns true when nothing holds the prefix any more.
   */
  settle(pid: number, value: number, outs: OutStore): boolean {
    const old = this.sent[pid] as number;
    this.queued[pid] = 0;
    if (old !== value) {
      if (value !== 0) outs.retain(value - 1);
      if (old !== 0) outs.release(old - 1);
      this.sent[pid] = value;
      this.advertised += (value !== 0 ? 1 : 0) - (old !== 0 ? 1 : 0);
    }
    if (value === 0) return --this.table.outRefs[pid] === 0;
    return false;
  }

  /**
   * ADD-PATH send: record that the peer now has exactly `paths` (path id → OutStore id + 1;
   * null or empty for nothing) for a dequeued prefix. Returns true when nothing holds the
   * prefix any more.
   */
  settlePaths(pid: number, paths: Map<number, number> | null, outs: OutStore): boolean {
    const all = this.pathsSent as Map<number, Map<number, number>>;
    const old = all.get(pid);
    this.queued[pid] = 0;
    if (paths !== null) for (const v of paths.values()) outs.retain(v - 1);
    if (old !== undefined) for (const v of old.values()) outs.release(v - 1);
    const had = this.sent[pid] !== 0;
    const has = paths !== null && paths.size > 0;
    if (has) all.set(pid, paths);
    else all.delete(pid);
    this.sent[pid] = has ? 1 : 0;
    this.advertised += (has ? 1 : 0) - (had ? 1 : 0);
    if (!has) return --this.table.outRefs[pid] === 0;
    return false;
  }

  /** Forget everything (session down): returns the prefixes nothing holds any more. */
  clear(outs: OutStore): number[] {
    const orphaned: number[] = [];
    const n = Math.min(this.sent.length, this.table.highWater);
    for (let pid = 0; pid < n; pid++) {
      const v = this.sent[pid] as number;
      if (v === 0 && this.queued[pid] === 0) continue;
      if (v !== 0) {
        if (this.pathsSent === null) outs.release(v - 1);
        else for (const x of (this.pathsSent.get(pid) as Map<number, number>).values()) outs.release(x - 1);
      }
      if (--this.table.outRefs[pid] === 0) orphaned.push(pid);
    }
    this.sent = new Int32Array(0);
    this.queued = new Uint8Array(0);
    this.pathsSent?.clear();
    this.qHead = this.qTail = 0;
    this.advertised = 0;
    return orphaned;
  }
}
