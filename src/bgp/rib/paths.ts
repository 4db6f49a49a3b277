/**
 * Every path of every prefix (the union of all Adj-RIBs-In after import policy, plus local
 * originations) as rows of typed arrays: which prefix, from which peer, with which interned
 * attribute set. A prefix's candidates form a singly linked list through `next`, usually
 * one or two long. Rows are recycled through a free list.
 */
import { growI32, growU8, NONE } from './prefix-table.js';

export const PathFlag = {
  /** Kept for a restarting peer (RFC 4724 helper) until refreshed or swept. */
  STALE: 1,
} as const;

const INITIAL_CAPACITY = 1024;

export class PathPool {
  capacity = INITIAL_CAPACITY;
  /** Rows handed out so far (free ones included). */
  highWater = 0;
  count = 0;

  peer: Uint16Array;
  /** AttrStore id; NONE for a free row. */
  attr: Int32Array;
  next: Int32Array;
  /** ADD-PATH path identifiers the peers gave; null until one is not 0 (no ADD-PATH: no memory). */
  rxPathIds: Uint32Array | null = null;
  flags: Uint8Array;
  /** When the path was last announced: seconds on the injected clock. */
  since: Uint32Array;

  /** First free row; free rows are chained through `next` (no memory of their own). */
  private freeHead = NONE;

  constructor() {
    const c = INITIAL_CAPACITY;
    this.peer = new Uint16Array(c);
    this.attr = new Int32Array(c).fill(NONE);
    this.next = new Int32Array(c).fill(NONE);
    this.flags = new Uint8Array(c);
    this.since = new Uint32Array(c);
  }

  allocate(peer: number, attr: number, rxPathId: number, since: number): number {
    let row = this.freeHead;
    if (row !== NONE) this.freeHead = this.next[row] as number;
    else {
      if (this.highWater === this.capacity) this.grow(this.capacity * 2);
      row = this.highWater++;
    }
    this.peer[row] = peer;
    this.attr[row] = attr;
    this.next[row] = NONE;
    if (rxPathId !== 0 || this.rxPathIds !== null) {
      this.rxPathIds ??= new Uint32Array(this.capacity);
      this.rxPathIds[row] = rxPathId;
    }
    this.flags[row] = 0;
    this.since[row] = since;
    this.count++;
    return row;
  }

  free(row: number): void {
    this.attr[row] = NONE;
    this.next[row] = this.freeHead;
    this.freeHead = row;
    this.count--;
  }

  rxPathId(row: number): number {
    return this.rxPathIds === null ? 0 : (this.rxPathIds[row] as number);
  }

  isLive(row: number): boolean {
    return this.attr[row] !== NONE;
  }

  private grow(capacity: number): void {
    const peer = new Uint16Array(capacity);
    peer.set(this.peer);
    this.peer = peer;
    this.attr = growI32(this.attr, capacity, NONE);
    this.next = growI32(this.next, capacity, NONE);
    if (this.rxPathIds !== null) {
      const rx = new Uint32Array(capacity);
      rx.set(this.rxPathIds);
      this.rxPathIds = rx;
    }
    this.flags = growU8(this.flags, capacity);
    const since = new Uint32Array(capacity);
    since.set(this.since);
    this.since = since;
    this.capacity = capacity;
  }
}
