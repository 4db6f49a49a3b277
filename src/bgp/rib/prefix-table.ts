/**
 * The prefixes of one address family, each given a small dense integer id, with the per-prefix
 * RIB state kept in typed arrays indexed by that id (BIRD's fib: no object per prefix).
 *
 * Lookup is an open-addressing hash (linear probing, backward-shift deletion, so no
 * tombstones) over the address words and the length. IPv4 lookups touch only typed arrays:
 * nothing is allocated per prefix on the hot path. Each slot keeps the id and the full hash
 * side by side, so a probe compares hashes within one cache line and reads the prefix itself
 * (a cache miss at a million prefixes) only when the hash matches; rehashing and deletion
 * never compute a hash again.
 *
 * Removal is deferred: remove() only marks the id DEAD; flushRemovals() (the RIB calls it at
 * the end of each batch) takes the dead out of the hash, one by one when they are few, or by
 * rebuilding the hash from the live ids when they are many. A withdrawal of a whole table
 * then costs one pass instead of a backward shift (a few cache misses) per prefix, and the
 * hash shrinks back when the table does.
 */
import { Afi } from '../wire/constants.js';

/** `head` / `best` value meaning "no path". */
export const NONE = -1;

/** Bits of PrefixTable.flags. */
export const PrefixFlag = {
  /** The id is in use. */
  LIVE: 1,
  /** In the touched list: the decision process must run at the next commit. */
  TOUCHED: 2,
  /** The best path was changed in place or removed since the last commit. */
  BEST_DIRTY: 4,
  /** Some path of the prefix changed since the last commit (ADD-PATH peers see all paths). */
  PATHS_DIRTY: 8,
  /**
   * Removed, but still in the hash until flushRemovals(): not live, found again by
   * findOrAdd (which revives it), never by find().
   */
  DEAD: 16,
} as const;

const INITIAL_CAPACITY = 1024;
const MAX_LOAD = 0.7;

function hashWords(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class PrefixTable {
  readonly afi: number;
  /** 32-bit words per address: 1 for IPv4, 4 for IPv6. */
  readonly words: number;
  /** Number of ids the arrays have room for. */
  capacity = INITIAL_CAPACITY;
  /** Live prefixes. */
  count = 0;
  /** Ids handed out so far (free ones included): iterate ids below this. */
  highWater = 0;

  addrs: Uint32Array;
  lengths: Uint8Array;
  flags: Uint8Array;
  /** First path of the prefix's candidate list (PathPool index), or NONE. */
  head: Int32Array;
  /** The Loc-RIB best path, or NONE. */
  best: Int32Array;
  /** Id of the next-hop set last reported to the FIB (0: none). */
  fibSet: Int32Array;
  /** Number of peers that have this prefix queued for sending or sent: it must stay. */
  outRefs: Uint16Array;

  /** Pairs (id + 1, hash | 0) per slot; id + 1 === 0: empty. */
  private slots: Int32Array;
  /** Number of slots - 1 (slots has twice as many elements). */
  private mask: number;
  /**
   * First free id (flags 0, out of the hash), or NONE. Free ids are chained through their
   * `best` slot, which nothing reads for an id that is not live: no memory of their own.
   */
  private freeHead = NONE;
  /** Ids removed but still in the hash (flags DEAD): counted, found by a walk when needed. */
  private dead = 0;
  /** Slots in use: live and dead ids. */
  private occupied = 0;

  constructor(afi: number) {
    this.afi = afi;
    this.words = afi === Afi.IPV6 ? 4 : 1;
    const c = INITIAL_CAPACITY;
    this.addrs = new Uint32Array(c * this.words);
    this.lengths = new Uint8Array(c);
    this.flags = new Uint8Array(c);
    this.head = new Int32Array(c).fill(NONE);
    this.best = new Int32Array(c).fill(NONE);
    this.fibSet = new Int32Array(c);
    this.outRefs = new Uint16Array(c);
    this.slots = new Int32Array(c * 4);
    this.mask = c * 2 - 1;
  }

  /**
   * The hash of a prefix, as a signed 32-bit integer (what slots store). IPv4: the low three
   * bits are those of the network number (the address shifted right by 32 - length), the
   * rest a mix of the length and the other bits, so 8 consecutive prefixes of one length
   * (/32s, /24s, ...) sit in neighbouring slots (a cache line or two) while such blocks
   * spread over the whole hash. UPDATEs list prefixes mostly in address order: that saves a
   * cache and TLB miss per prefix at a million. Sparse prefixes (e.g. one /32 per /28) pay
   * some clustering instead: about 15% slower lookups in a microbenchmark.
   */
  private hashAt(words: Uint32Array, off: number, len: number): number {
    const a = words[off] as number;
    if (this.words === 1) {
      const x = len === 0 ? 0 : a >>> (32 - len);
      return ((hashWords(Math.imul(len + 1, 0x9e3779b1) ^ (x >>> 3)) & ~7) | (x & 7)) | 0;
    }
    let h = Math.imul(len + 1, 0x9e3779b1) ^ a;
    {
      h = hashWords(h) ^ (words[off + 1] as number);
      h = hashWords(h) ^ (words[off + 2] as number);
      h = hashWords(h) ^ (words[off + 3] as number);
    }
    return hashWords(h) | 0;
  }

  private equalsAt(id: number, words: Uint32Array, off: number, len: number): boolean {
    if (this.lengths[id] !== len) return false;
    if (this.words === 1) return this.addrs[id] === words[off];
    const b = id * 4;
    const a = this.addrs;
    return a[b] === words[off] && a[b + 1] === words[off + 1] && a[b + 2] === words[off + 2] && a[b + 3] === words[off + 3];
  }

  /** The id of the prefix (address words at words[off...], host bits clear), or NONE. */
  find(words: Uint32Array, off: number, len: number): number {
    const mask = this.mask;
    const slots = this.slots;
    const h = this.hashAt(words, off, len);
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = slots[2 * s] as number;
      if (v === 0) return NONE;
      if (slots[2 * s + 1] === h && this.equalsAt(v - 1, words, off, len)) return ((this.flags[v - 1] as number) & PrefixFlag.LIVE) !== 0 ? v - 1 : NONE;
    }
  }

  /** The id of the prefix, adding it when absent. */
  findOrAdd(words: Uint32Array, off: number, len: number): number {
    const mask = this.mask;
    const slots = this.slots;
    const h = this.hashAt(words, off, len);
    let s = h & mask;
    for (; ; s = (s + 1) & mask) {
      const v = slots[2 * s] as number;
      if (v === 0) break;
      if (slots[2 * s + 1] === h && this.equalsAt(v - 1, words, off, len)) {
        const id = v - 1;
        if (((this.flags[id] as number) & PrefixFlag.DEAD) !== 0) {
          // Removed in this batch and back again: the same id, still in the hash.
          this.flags[id] = PrefixFlag.LIVE;
          this.count++;
          this.dead--;
        }
        return id;
      }
    }
    const id = this.allocateId();
    const w = this.words;
    for (let k = 0; k < w; k++) this.addrs[id * w + k] = words[off + k] as number;
    this.lengths[id] = len;
    this.flags[id] = PrefixFlag.LIVE;
    this.count++;
    this.occupied++;
    slots[2 * s] = id + 1;
    slots[2 * s + 1] = h;
    // Full: rebuild, at the same size when half of it is removed prefixes, else twice as big.
    if (this.occupied > (this.mask + 1) * MAX_LOAD) this.rehash(this.dead * 2 >= this.occupied ? this.mask + 1 : (this.mask + 1) * 2);
    return id;
  }

  /**
   * Forget a prefix. The caller cleared its RIB state. It leaves the hash (and its id becomes
   * free) at the next flushRemovals(); until then findOrAdd() may bring it back.
   */
  remove(id: number): void {
    this.flags[id] = PrefixFlag.DEAD;
    this.head[id] = NONE;
    this.best[id] = NONE;
    this.fibSet[id] = 0;
    this.outRefs[id] = 0;
    this.count--;
    this.dead++;
  }

  /** Removed prefixes waiting for flushRemovals(). */
  get pendingRemovals(): number {
    return this.dead;
  }

  /**
   * Takes the prefixes remove() marked out of the hash and frees their ids, once they are
   * seven eighths of what the hash holds (each rebuild re-inserts at most a seventh as many
   * live prefixes as it drops: a table withdrawn over many batches is re-hashed about 1/6
   * of itself in all, not once over), or now with `force`. Dead entries meanwhile only take
   * slots (findOrAdd rebuilds when those fill up). Cheap to call often.
   */
  flushRemovals(force = false): void {
    const dead = this.dead;
    if (dead === 0) return;
    if (dead * 8 >= this.occupied * 7 || (force && dead * 4 >= this.count)) {
      // Many: rebuilding from the live ids is cheaper than a backward shift each, and the
      // hash may shrink with the table.
      let size = this.mask + 1;
      while (size > INITIAL_CAPACITY * 2 && this.count < size * MAX_LOAD * 0.25) size >>>= 1;
      this.rehash(size);
      return;
    }
    if (!force) return;
    // Few (forced only: a table walk, not kept per removal): one backward shift each.
    for (let id = 0; id < this.highWater; id++) {
      if (this.flags[id] !== PrefixFlag.DEAD) continue;
      this.unhash(id);
      this.flags[id] = 0;
      this.freeId(id);
    }
    this.dead = 0;
  }

  /** Backward-shift deletion of one id from the hash. */
  private unhash(id: number): void {
    const mask = this.mask;
    const slots = this.slots;
    let s = this.hashAt(this.addrs, id * this.words, this.lengths[id] as number) & mask;
    while (slots[2 * s] !== id + 1) s = (s + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    let hole = s;
    for (let j = (hole + 1) & mask; slots[2 * j] !== 0; j = (j + 1) & mask) {
      const home = (slots[2 * j + 1] as number) & mask;
      // Move it when its home is not inside (hole, j] cyclically.
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        slots[2 * hole] = slots[2 * j] as number;
        slots[2 * hole + 1] = slots[2 * j + 1] as number;
        hole = j;
      }
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    this.occupied--;
  }

  isLive(id: number): boolean {
    return ((this.flags[id] as number) & PrefixFlag.LIVE) !== 0;
  }

  private freeId(id: number): void {
    this.best[id] = this.freeHead;
    this.freeHead = id;
  }

  private allocateId(): number {
    const reused = this.freeHead;
    if (reused !== NONE) {
      this.freeHead = this.best[reused] as number;
      this.best[reused] = NONE;
      return reused;
    }
    if (this.highWater === this.capacity) this.grow(this.capacity * 2);
    return this.highWater++;
  }

  private grow(capacity: number): void {
    const w = this.words;
    const addrs = new Uint32Array(capacity * w);
    addrs.set(this.addrs);
    this.addrs = addrs;
    this.lengths = growU8(this.lengths, capacity);
    this.flags = growU8(this.flags, capacity);
    this.head = growI32(this.head, capacity, NONE);
    this.best = growI32(this.best, capacity, NONE);
    this.fibSet = growI32(this.fibSet, capacity, 0);
    const outRefs = new Uint16Array(capacity);
    outRefs.set(this.outRefs);
    this.outRefs = outRefs;
    this.capacity = capacity;
  }

  /** A new hash of `size` slots with the live ids only; dead ones are freed. */
  private rehash(size: number): void {
    const anyDead = this.dead > 0;
    this.dead = 0;
    this.occupied = this.count;
    const old = this.slots;
    const slots = new Int32Array(size * 2);
    const mask = size - 1;
    const flags = this.flags;
    if (anyDead) {
      // Removals: walk the ids in order (flags read sequentially, not one miss per slot)
      // and hash the live ones again; after a mass withdrawal they are few.
      for (let id = 0; id < this.highWater; id++) {
        const f = flags[id] as number;
        if (f === PrefixFlag.DEAD) {
          flags[id] = 0;
          this.freeId(id);
        }
        if ((f & PrefixFlag.LIVE) === 0) continue;
        const h = this.hashAt(this.addrs, id * this.words, this.lengths[id] as number);
        let s = h & mask;
        while (slots[2 * s] !== 0) s = (s + 1) & mask;
        slots[2 * s] = id + 1;
        slots[2 * s + 1] = h;
      }
    } else {
      // Growth: every id in the old slots is live, with its hash beside it.
      for (let i = 0; i < old.length; i += 2) {
        const v = old[i] as number;
        if (v === 0) continue;
        const h = old[i + 1] as number;
        let s = h & mask;
        while (slots[2 * s] !== 0) s = (s + 1) & mask;
        slots[2 * s] = v;
        slots[2 * s + 1] = h;
      }
    }
    this.slots = slots;
    this.mask = mask;
  }
}

export function growU8(a: Uint8Array, capacity: number): Uint8Array {
  const b = new Uint8Array(capacity);
  b.set(a);
  return b;
}

export function growI32(a: Int32Array, capacity: number, fill: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
