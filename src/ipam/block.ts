/**
 * One allocation block: a small CIDR (a /26 by default) that one host claims and hands
 * addresses out of. Pure functions over the stored record; the caller does the CAS.
 *
 * Each ordinal (address offset in the block) is free or points at an attribute entry
 * ({handle, attrs}) shared by every address one handle holds in the block. Every allocation
 * takes the block's next sequence number; a release that names the sequence number it saw
 * fails when the address has been released and allocated again since (the ABA case).
 */
import type { Cidr, Family } from './addr.js';
import { contains, formatCidr, formatIp, mustParseCidr, parseIp, sizeOf } from './addr.js';

export interface AllocationAttrs {
  /** Why the address exists: "workload" (CNI), "script" (tortie ipam assign), "tunnel"... */
  purpose?: string;
  node?: string;
  workload?: string;
  namespace?: string;
  [key: string]: string | undefined;
}

export interface AttributeEntry {
  handle: string;
  attrs: AllocationAttrs;
}

export interface BlockRecord {
  cidr: string;
  affinity: string | null;
  allocations: (number | null)[];
  unallocated: number[];
  attributes: AttributeEntry[];
  sequence: number;
  seqs: Record<string, number>;
  emptySince: number | null;
}

export interface Allocated {
  ip: string;
  ordinal: number;
  seq: number;
}

export function newBlock(cidr: Cidr, affinity: string | null): BlockRecord {
  const size = Number(sizeOf(cidr));
  return {
    cidr: formatCidr(cidr),
    affinity,
    allocations: Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    sequence: 0,
    seqs: {},
    emptySince: null,
  };
}

export function cloneBlock(b: BlockRecord): BlockRecord {
  return {
    ...b,
    allocations: b.allocations.slice(),
    unallocated: b.unallocated.slice(),
    attributes: b.attributes.slice(),
    seqs: { ...b.seqs },
  };
}

export function blockCidr(b: BlockRecord): Cidr {
  return mustParseCidr(b.cidr);
}

export function freeCount(b: BlockRecord): number {
  return b.unallocated.length;
}

export function usedCount(b: BlockRecord): number {
  return b.allocations.length - b.unallocated.length;
}

export function isEmpty(b: BlockRecord): boolean {
  return b.unallocated.length === b.allocations.length;
}

export function ipOfOrdinal(b: BlockRecord, ordinal: number): string {
  const c = blockCidr(b);
  return formatIp(c.family, c.base + BigInt(ordinal));
}

/** The ordinal of an address in the block, or null when it lies outside. */
export function ordinalOf(b: BlockRecord, ip: string): number | null {
  const c = blockCidr(b);
  const p = parseIp(ip);
  if (!p || !contains(c, p.family, p.value)) return null;
  return Number(p.value - c.base);
}

function attributeIndex(b: BlockRecord, handle: string, attrs: AllocationAttrs): number {
  const wanted = JSON.stringify(attrs);
  const i = b.attributes.findIndex((a) => a.handle === handle && JSON.stringify(a.attrs) === wanted);
  if (i >= 0) return i;
  b.attributes.push({ handle, attrs });
  return b.attributes.length - 1;
}

/**
 * Takes up to `count` free addresses from the head of the free list (mutates `b`). Returns
 * what it took, possibly fewer than asked.
 */
export function allocate(b: BlockRecord, count: number, handle: string, attrs: AllocationAttrs, family?: Family): Allocated[] {
  if (family !== undefined && blockCidr(b).family !== family) return [];
  const n = Math.min(count, b.unallocated.length);
  if (n === 0) return [];
  const index = attributeIndex(b, handle, attrs);
  const taken = b.unallocated.splice(0, n);
  const out: Allocated[] = [];
  for (const ordinal of taken) {
    const seq = b.sequence++;
    b.allocations[ordinal] = index;
    b.seqs[String(ordinal)] = seq;
    out.push({ ip: ipOfOrdinal(b, ordinal), ordinal, seq });
  }
  b.emptySince = null;
  return out;
}

/** Allocates one named address; false if it is taken already. */
export function allocateOrdinal(b: BlockRecord, ordinal: number, handle: string, attrs: AllocationAttrs): Allocated | null {
  if (b.allocations[ordinal] !== null) return null;
  const at = b.unallocated.indexOf(ordinal);
  if (at < 0) return null;
  b.unallocated.splice(at, 1);
  const seq = b.sequence++;
  b.allocations[ordinal] = attributeIndex(b, handle, attrs);
  b.seqs[String(ordinal)] = seq;
  b.emptySince = null;
  return { ip: ipOfOrdinal(b, ordinal), ordinal, seq };
}

export interface Holder {
  handle: string;
  attrs: AllocationAttrs;
  seq: number;
}

export function holderOf(b: BlockRecord, ordinal: number): Holder | null {
  const index = b.allocations[ordinal];
  if (index === null || index === undefined) return null;
  const a = b.attributes[index]!;
  return { handle: a.handle, attrs: a.attrs, seq: b.seqs[String(ordinal)] ?? -1 };
}

/** Every allocated ordinal with its holder. */
export function allocatedOrdinals(b: BlockRecord): { ordinal: number; holder: Holder }[] {
  const out: { ordinal: number; holder: Holder }[] = [];
  b.allocations.forEach((index, ordinal) => {
    if (index !== null) out.push({ ordinal, holder: holderOf(b, ordinal)! });
  });
  return out;
}

/**
 * Frees ordinals (mutates `b`) and returns, per handle, how many addresses went. Freed
 * ordinals join the tail of the free list. Attribute entries nobody points at any more are
 * dropped and the rest renumbered, so the record does not grow without bound. When the block
 * becomes empty, `emptySince` is set to `now` (the start of the grace period).
 */
export function releaseOrdinals(b: BlockRecord, ordinals: number[], now: number): Map<string, number> {
  const perHandle = new Map<string, number>();
  for (const ordinal of ordinals) {
    const index = b.allocations[ordinal];
    if (index === null || index === undefined) continue;
    const handle = b.attributes[index]!.handle;
    perHandle.set(handle, (perHandle.get(handle) ?? 0) + 1);
    b.allocations[ordinal] = null;
    delete b.seqs[String(ordinal)];
    b.unallocated.push(ordinal);
  }
  compactAttributes(b);
  if (isEmpty(b) && b.emptySince === null) b.emptySince = now;
  return perHandle;
}

function compactAttributes(b: BlockRecord): void {
  const used = new Set<number>();
  for (const index of b.allocations) if (index !== null) used.add(index);
  if (used.size === b.attributes.length) return;
  const renumber = new Map<number, number>();
  const kept: AttributeEntry[] = [];
  b.attributes.forEach((a, i) => {
    if (used.has(i)) {
      renumber.set(i, kept.length);
      kept.push(a);
    }
  });
  b.attributes = kept;
  b.allocations = b.allocations.map((index) => (index === null ? null : renumber.get(index)!));
}

/** Ordinals a handle holds in the block. */
export function ordinalsOfHandle(b: BlockRecord, handle: string): number[] {
  const out: number[] = [];
  b.allocations.forEach((index, ordinal) => {
    if (index !== null && b.attributes[index]!.handle === handle) out.push(ordinal);
  });
  return out;
}

/** Checks a decoded record's shape (the store may hold anything). */
export function decodeBlock(text: string, key: string): BlockRecord {
  const b = JSON.parse(text) as BlockRecord;
  if (typeof b?.cidr !== 'string' || !Array.isArray(b.allocations) || !Array.isArray(b.unallocated) || !Array.isArray(b.attributes)) {
    throw new Error(`IPAM block at "${key}" is malformed`);
  }
  b.seqs ??= {};
  b.sequence ??= 0;
  b.emptySince ??= null;
  return b;
}
