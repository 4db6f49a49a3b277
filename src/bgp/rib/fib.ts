/**
 * What the RIB tells the FIB: after each commit, the prefixes whose forwarding changed, as
 * one batch of typed arrays (no object per prefix), each with its new set of next hops
 * (ECMP) or null for "remove". Next-hop sets are interned: a million routes via one
 * next hop share one frozen array.
 */
import { Afi } from '../wire/constants.js';
import { formatPrefix } from './addresses.js';

export interface NextHopSet {
  readonly id: number;
  /** Next hop addresses as text, best path first. Frozen. */
  readonly hops: readonly string[];
}

export class NextHopSets {
  private readonly byKey = new Map<string, NextHopSet & { refs: number }>();
  private readonly byId: ((NextHopSet & { refs: number }) | undefined)[] = [undefined];
  private readonly freeIds: number[] = [];

  /**
   * The id (never 0) of the set whose key is `key` (its hops joined by ","), with one
   * reference taken for the caller. `hops` defaults to [key]: a single next hop.
   */
  acquire(key: string, hops?: string[]): number {
    let s = this.byKey.get(key);
    if (s === undefined) {
      const id = this.freeIds.pop() ?? this.byId.length;
      s = { id, hops: Object.freeze(hops ?? [key]), refs: 0 };
      this.byKey.set(key, s);
      this.byId[id] = s;
    }
    s.refs++;
    return s.id;
  }

  get(id: number): NextHopSet {
    return this.byId[id] as NextHopSet;
  }

  release(id: number): void {
    const s = this.byId[id];
    if (s === undefined || --s.refs > 0) return;
    this.byKey.delete(s.hops.join(','));
    this.byId[id] = undefined;
    this.freeIds.push(id);
  }
}

export interface FibChange {
  prefix: string;
  afi: number;
  /** null: the prefix has no BGP route any more (remove it). */
  nextHops: readonly string[] | null;
}

/**
 * One commit's forwarding changes. Entry i: `afi[i]`, its address words at
 * `addrs[offset(i)...]` (1 word for IPv4, 4 for IPv6; use `words(i)` / `prefix(i)`),
 * `lengths[i]`, `nextHops[i]`. Valid during the callback only: the arrays are reused (or
 * dropped, after a big batch) by the next commit.
 */
export class FibChanges {
  count = 0;
  afi = new Uint8Array(256);
  lengths = new Uint8Array(256);
  /** Where entry i's address words start in `addrs`. */
  offsets = new Uint32Array(256);
  addrs = new Uint32Array(256);
  nextHops: (readonly string[] | null)[] = [];
  private used = 0;

  clear(): void {
    this.count = 0;
    this.used = 0;
    this.nextHops = [];
    if (this.lengths.length > 65536) {
      this.afi = new Uint8Array(256);
      this.lengths = new Uint8Array(256);
      this.offsets = new Uint32Array(256);
      this.addrs = new Uint32Array(256);
    }
  }

  push(afi: number, words: Uint32Array, off: number, length: number, hops: readonly string[] | null): void {
    const i = this.count;
    if (i === this.lengths.length) this.growEntries(i * 2);
    const w = afi === Afi.IPV6 ? 4 : 1;
    if (this.used + w > this.addrs.length) {
      const a = new Uint32Array(this.addrs.length * 2);
      a.set(this.addrs);
      this.addrs = a;
    }
    this.afi[i] = afi;
    this.offsets[i] = this.used;
    for (let k = 0; k < w; k++) this.addrs[this.used + k] = words[off + k] as number;
    this.used += w;
    this.lengths[i] = length;
    this.nextHops.push(hops);
    this.count = i + 1;
  }

  /** Entry i's prefix as text (for logs, tests and small consumers). */
  prefix(i: number): string {
    return formatPrefix(this.afi[i] as number, this.addrs, this.offsets[i] as number, this.lengths[i] as number);
  }

  /** The batch as objects: convenient, but one object per prefix. */
  toArray(): FibChange[] {
    const out: FibChange[] = [];
    for (let i = 0; i < this.count; i++) out.push({ prefix: this.prefix(i), afi: this.afi[i] as number, nextHops: this.nextHops[i] ?? null });
    return out;
  }

  private growEntries(n: number): void {
    const afi = new Uint8Array(n);
    afi.set(this.afi);
    this.afi = afi;
    const lengths = new Uint8Array(n);
    lengths.set(this.lengths);
    this.lengths = lengths;
    const offsets = new Uint32Array(n);
    offsets.set(this.offsets);
    this.offsets = offsets;
  }
}
