/**
 * Prefixes and addresses as the policy engine compares them: four signed 32-bit words and
 * per-word masks, worked out once at compile time, so that matching a route is a handful of
 * integer ANDs on the route's own Uint32Array (IPv4: word 0; IPv6: words 0-3) and no strings.
 */
import { Afi } from '../wire/constants.js';
import { ipv4FromString, ipv4ToString, ipv6FromString, ipv6ToString } from '../wire/ip.js';

/** An address in the engine's form: the family and four words, most significant first. */
export interface Address {
  afi: number;
  words: Uint32Array;
}

/** A prefix as written: address (host bits possibly set) and length. */
export interface Prefix extends Address {
  length: number;
}

/**
 * A prefix with a range of accepted route lengths [lo, hi], like a prefix-list entry with
 * ge/le or BIRD's `10.0.0.0/8{16,24}`. A route matches when it lies inside the prefix and
 * its length is within the range. Words and masks are kept as signed int32 (what `&` gives)
 * in named fields rather than arrays, which V8 reads fastest.
 */
export interface PrefixRange {
  readonly afi: number;
  readonly length: number;
  readonly lo: number;
  readonly hi: number;
  readonly n0: number;
  readonly n1: number;
  readonly n2: number;
  readonly n3: number;
  readonly m0: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;
}

export function familyBits(afi: number): number {
  return afi === Afi.IPV6 ? 128 : 32;
}

export function familyName(afi: number): string {
  return afi === Afi.IPV6 ? 'IPv6' : 'IPv4';
}

/** Text -> address, or null. IPv4 dotted quad or any RFC 4291 IPv6 text form. */
export function parseAddress(text: string): Address | null {
  const v4 = text.includes(':') ? null : ipv4FromString(text);
  if (v4 !== null) return { afi: Afi.IPV4, words: Uint32Array.of(v4, 0, 0, 0) };
  const v6 = text.includes(':') ? ipv6FromString(text) : null;
  if (v6 === null) return null;
  return { afi: Afi.IPV6, words: Uint32Array.of(v6.readUInt32BE(0), v6.readUInt32BE(4), v6.readUInt32BE(8), v6.readUInt32BE(12)) };
}

/** "a/len" -> prefix, or null when the address or the length is not valid for its family. */
export function parsePrefix(text: string): Prefix | null {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return null;
  const addr = parseAddress(m[1]!);
  const length = Number(m[2]);
  if (addr === null || length > familyBits(addr.afi)) return null;
  return { ...addr, length };
}

/** The canonical text of an address (RFC 5952 for IPv6), so that equal addresses compare equal. */
export function formatAddress(addr: Address): string {
  if (addr.afi === Afi.IPV4) return ipv4ToString(addr.words[0]!);
  const buf = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) buf.writeUInt32BE(addr.words[i]!, i * 4);
  return ipv6ToString(buf);
}

/** The mask of word `i` (0-3) for a prefix length, as a signed int32. */
export function maskWord(length: number, i: number): number {
  const bits = Math.min(32, Math.max(0, length - 32 * i));
  return bits === 0 ? 0 : -1 << (32 - bits);
}

/** The prefix with its host bits cleared. */
export function masked(p: Prefix): Prefix {
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = (p.words[i]! & maskWord(p.length, i)) >>> 0;
  return { afi: p.afi, words, length: p.length };
}

export function hasHostBits(p: Prefix): boolean {
  for (let i = 0; i < 4; i++) if ((p.words[i]! & ~maskWord(p.length, i)) !== 0) return true;
  return false;
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p)}/${p.length}`;
}

/** A range over prefix `p` (host bits are cleared) accepting route lengths lo..hi. */
export function prefixRange(p: Prefix, lo: number, hi: number): PrefixRange {
  const m = [0, 1, 2, 3].map((i) => maskWord(p.length, i));
  const n = [0, 1, 2, 3].map((i) => p.words[i]! & m[i]!);
  return {
    afi: p.afi, length: p.length, lo, hi,
    n0: n[0]!, n1: n[1]!, n2: n[2]!, n3: n[3]!,
    m0: m[0]!, m1: m[1]!, m2: m[2]!, m3: m[3]!,
  };
}

/** Whether address `addr` (afi's words) lies inside the range's prefix; lengths not checked. */
export function rangeCovers(r: PrefixRange, afi: number, addr: Uint32Array): boolean {
  if (afi !== r.afi || (addr[0]! & r.m0) !== r.n0) return false;
  if (afi === Afi.IPV4) return true;
  return (addr[1]! & r.m1) === r.n1 && (addr[2]! & r.m2) === r.n2 && (addr[3]! & r.m3) === r.n3;
}

/** Whether route addr/length matches the range: inside the prefix and length within lo..hi. */
export function rangeMatches(r: PrefixRange, afi: number, addr: Uint32Array, length: number): boolean {
  return length >= r.lo && length <= r.hi && rangeCovers(r, afi, addr);
}

/** Whether an IPv4 address held as a uint32 (the NEXT_HOP attribute's form) lies inside r. */
export function rangeCoversV4(r: PrefixRange, addr: number): boolean {
  return r.afi === Afi.IPV4 && (addr & r.m0) === r.n0;
}
