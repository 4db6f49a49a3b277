/**
 * NLRI (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3) in a compact, allocation-free form: a list
 * of prefixes is three typed arrays, never one object per prefix. IPv4 addresses take one
 * uint32 word, IPv6 addresses four words, most significant first. Host bits beyond the
 * prefix length are cleared on decode (RFC 4271 calls them irrelevant), so equal prefixes
 * compare equal.
 */
import { Afi } from './constants.js';
import { ipv4FromString, ipv4ToString, ipv6FromString, ipv6ToString } from './ip.js';

export interface NlriList {
  /** 1 (IPv4) or 2 (IPv6): decides the number of words per address. */
  afi: number;
  count: number;
  /** count words (IPv4) or 4 * count words (IPv6). */
  addrs: Uint32Array;
  lengths: Uint8Array;
  /** ADD-PATH path identifiers, or null when the list carries none. */
  pathIds: Uint32Array | null;
}

export function wordsPerAddress(afi: number): number {
  return afi === Afi.IPV6 ? 4 : 1;
}

export function maxPrefixLength(afi: number): number {
  return afi === Afi.IPV6 ? 128 : 32;
}

/** An empty list, or one with room for `count` prefixes (filled by the caller). */
export function createNlriList(afi: number, count: number, withPathIds: boolean): NlriList {
  return {
    afi,
    count,
    addrs: new Uint32Array(count * wordsPerAddress(afi)),
    lengths: new Uint8Array(count),
    pathIds: withPathIds ? new Uint32Array(count) : null,
  };
}

const EMPTY_V4 = createNlriList(Afi.IPV4, 0, false);
const EMPTY_V6 = createNlriList(Afi.IPV6, 0, false);

/** A shared, frozen-by-convention empty list: do not write into it. */
export function emptyNlri(afi: number): NlriList {
  return afi === Afi.IPV6 ? EMPTY_V6 : EMPTY_V4;
}

/** Mask of the top `bits` bits of a 32-bit word, for 0 <= bits <= 32. */
function topMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Count the prefixes in buf[start, end) and check their syntax. Returns the count, or a
 * string saying what is wrong. Separate from the fill pass so that the typed arrays are
 * allocated once, at their exact size.
 */
export function countNlri(buf: Buffer, start: number, end: number, afi: number, addPath: boolean): number | string {
  const maxLen = maxPrefixLength(afi);
  let p = start;
  let n = 0;
  while (p < end) {
    if (addPath) {
      if (p + 4 >= end) return `NLRI at byte ${p - start}: path identifier or length cut off`;
      p += 4;
    }
    const len = buf[p] as number;
    if (len > maxLen) return `NLRI at byte ${p - start}: prefix length ${len} is over ${maxLen}`;
    p += 1 + ((len + 7) >> 3);
    if (p > end) return `NLRI at byte ${p - start}: prefix /${len} runs past the end`;
    n++;
  }
  return n;
}

/**
 * Decode the NLRI in buf[start, end). Returns the list, or a string describing the syntax
 * error (the caller picks the RFC 7606 action, which depends on where the NLRI sat).
 */
export function decodeNlri(buf: Buffer, start: number, end: number, afi: number, addPath: boolean): NlriList | string {
  const n = countNlri(buf, start, end, afi, addPath);
  if (typeof n === 'string') return n;
  if (n === 0) return emptyNlri(afi);
  const list = createNlriList(afi, n, addPath);
  const { addrs, lengths, pathIds } = list;
  let p = start;
  if (afi !== Afi.IPV6) {
    for (let i = 0; i < n; i++) {
      if (pathIds !== null) {
        pathIds[i] = buf.readUInt32BE(p);
        p += 4;
      }
      const len = buf[p++] as number;
      const nb = (len + 7) >> 3;
      let a = 0;
      // Unrolled: a /32 is the common case on a container fabric.
      if (nb === 4) a = ((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number);
      else if (nb === 3) a = ((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8);
      else if (nb === 2) a = ((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16);
      else if (nb === 1) a = (buf[p] as number) << 24;
      addrs[i] = (a & topMask(len)) >>> 0;
      lengths[i] = len;
      p += nb;
    }
  } else {
    for (let i = 0; i < n; i++) {
      if (pathIds !== null) {
        pathIds[i] = buf.readUInt32BE(p);
        p += 4;
      }
      const len = buf[p++] as number;
      const nb = (len + 7) >> 3;
      const w = i * 4;
      for (let k = 0; k < nb; k++) {
        const word = w + (k >> 2);
        addrs[word] = ((addrs[word] as number) | ((buf[p + k] as number) << (24 - 8 * (k & 3)))) >>> 0;
      }
      for (let k = 0; k < 4; k++) {
        addrs[w + k] = ((addrs[w + k] as number) & topMask(len - 32 * k)) >>> 0;
      }
      lengths[i] = len;
      p += nb;
    }
  }
  return list;
}

/** Wire bytes of prefixes [from, to) of the list, with or without path ids. */
export function nlriEncodingLength(list: NlriList, from: number, to: number, withPathIds: boolean): number {
  let total = withPathIds ? 4 * (to - from) : 0;
  const { lengths } = list;
  for (let i = from; i < to; i++) total += 1 + (((lengths[i] as number) + 7) >> 3);
  return total;
}

/** Wire bytes of prefix i alone. */
export function prefixEncodingLength(list: NlriList, i: number, withPathIds: boolean): number {
  return (withPathIds ? 5 : 1) + (((list.lengths[i] as number) + 7) >> 3);
}

/**
 * Write prefix i at offset; returns the offset after it. With `withPathIds`, a list without
 * path ids writes 0 (RFC 7911 leaves the value to the sender).
 */
export function encodePrefix(list: NlriList, i: number, buf: Buffer, offset: number, withPathIds: boolean): number {
  let p = offset;
  if (withPathIds) {
    buf.writeUInt32BE(list.pathIds !== null ? (list.pathIds[i] as number) : 0, p);
    p += 4;
  }
  const len = list.lengths[i] as number;
  buf[p++] = len;
  const nb = (len + 7) >> 3;
  if (list.afi !== Afi.IPV6) {
    const a = list.addrs[i] as number;
    if (nb > 0) buf[p] = a >>> 24;
    if (nb > 1) buf[p + 1] = (a >>> 16) & 0xff;
    if (nb > 2) buf[p + 2] = (a >>> 8) & 0xff;
    if (nb > 3) buf[p + 3] = a & 0xff;
  } else {
    const w = i * 4;
    for (let k = 0; k < nb; k++) buf[p + k] = ((list.addrs[w + (k >> 2)] as number) >>> (24 - 8 * (k & 3))) & 0xff;
  }
  return p + nb;
}

/** Write prefixes [from, to); returns the offset after them. */
export function encodeNlri(list: NlriList, from: number, to: number, buf: Buffer, offset: number, withPathIds: boolean): number {
  let p = offset;
  for (let i = from; i < to; i++) p = encodePrefix(list, i, buf, p, withPathIds);
  return p;
}

// ---- Conversions for configuration, tests and logs (not the hot path) ----

export interface PrefixText {
  prefix: string;
  pathId?: number;
}

/**
 * Build a list from "a.b.c.d/len" or "x::y/len" strings. Throws RangeError on text that is
 * not a prefix of the family: this is for trusted, already-validated input.
 */
export function nlriFromStrings(afi: number, prefixes: readonly (string | PrefixText)[]): NlriList {
  const withIds = prefixes.some((p) => typeof p !== 'string' && p.pathId !== undefined);
  const list = createNlriList(afi, prefixes.length, withIds);
  prefixes.forEach((item, i) => {
    const text = typeof item === 'string' ? item : item.prefix;
    const slash = text.indexOf('/');
    const addrText = slash < 0 ? text : text.slice(0, slash);
    const len = slash < 0 ? maxPrefixLength(afi) : Number(text.slice(slash + 1));
    if (!Number.isInteger(len) || len < 0 || len > maxPrefixLength(afi)) throw new RangeError(`bad prefix length: ${text}`);
    list.lengths[i] = len;
    if (afi === Afi.IPV6) {
      const b = ipv6FromString(addrText);
      if (b === null) throw new RangeError(`not an IPv6 prefix: ${text}`);
      for (let k = 0; k < 4; k++) list.addrs[i * 4 + k] = (b.readUInt32BE(k * 4) & topMask(len - 32 * k)) >>> 0;
    } else {
      const a = ipv4FromString(addrText);
      if (a === null) throw new RangeError(`not an IPv4 prefix: ${text}`);
      list.addrs[i] = (a & topMask(len)) >>> 0;
    }
    if (list.pathIds !== null && typeof item !== 'string') list.pathIds[i] = item.pathId ?? 0;
  });
  return list;
}

/** Prefix i as text ("10.0.0.1/32", "2001:db8::/32"). */
export function prefixToString(list: NlriList, i: number): string {
  const len = list.lengths[i] as number;
  if (list.afi === Afi.IPV6) {
    const b = Buffer.allocUnsafe(16);
    for (let k = 0; k < 4; k++) b.writeUInt32BE(list.addrs[i * 4 + k] as number, k * 4);
    return `${ipv6ToString(b)}/${len}`;
  }
  return `${ipv4ToString(list.addrs[i] as number)}/${len}`;
}

export function nlriToStrings(list: NlriList): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.count; i++) {
    const s = prefixToString(list, i);
    out.push(list.pathIds !== null ? `${s}#${list.pathIds[i]}` : s);
  }
  return out;
}
