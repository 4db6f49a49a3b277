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

  prefix: Int32Array;
  peer: Uint16Array;
  /** AttrStore id; NONE for a free row. */
  attr: Int32Array;
  next: Int32Array;
  /** ADD-PATH path identifier the peer gave (0 without ADD-PATH receive). */
  rxPathId: Uint32Array;
  flags: Uint8Array;
  /** When the path was last announced: seconds on the injected clock. */
  since: Uint32Array;

  private freeRows: number[] = [];

  constructor() {
    const c = INITIAL_CAPACITY;
    this.prefix = new Int32Array(c);
    this.peer = new Uint16Array(c);
    this.attr = new Int32Array(c).fill(NONE);
    this.next = new Int32Array(c).fill(NONE);
    this.rxPathId = new Uint32Array(c);
    this.flags = new Uint8Array(c);
    this.since = new Uint32Array(c);
  }

  allocate(prefix: number, peer: number, attr: number, rxPathId: number, since: number): number {
    let row = this.freeRows.pop();
    if (row === undefined) {
      if (this.highWater === this.capacity) this.grow(this.capacity * 2);
      row = this.highWater++;
    }
    this.prefix[row] = prefix;
    this.peer[row] = peer;
    this.attr[row] = attr;
    this.next[row] = NONE;
    this.rxPathId[row] = rxPathId;
    this.flags[row] = 0;
    this.since[row] = since;
    this.count++;
    return row;
  }

  free(row: number): void {
    this.attr[row] = NONE;
    this.next[row] = NONE;
    this.count--;
    this.freeRows.push(row);
  }

  isLive(row: number): boolean {
    return this.attr[row] !== NONE;
  }

  private grow(capacity: number): void {
    this.prefix = growI32(this.prefix, capacity, 0);
    const peer = new Uint16Array(capacity);
    peer.set(this.peer);
    this.peer = peer;
    this.attr = growI32(this.attr, capacity, NONE);
    this.next = growI32(this.next, capacity, NONE);
    const rx = new Uint32Array(capacity);
    rx.set(this.rxPathId);
    this.rxPathId = rx;
    this.flags = growU8(this.flags, capacity);
    const since = new Uint32Array(capacity);
    since.set(this.since);
    this.since = since;
    this.capacity = capacity;
  }
}
