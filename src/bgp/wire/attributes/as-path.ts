/**
 * AS_PATH and AS4_PATH segments (RFC 4271 §4.3, RFC 5065, RFC 6793), both AS number widths,
 * and the RFC 6793 §4.2.3 reconstruction of the real path from AS_PATH + AS4_PATH.
 */
import { AS_TRANS, AsPathSegmentType } from '../constants.js';
import type { AsPathSegment } from './types.js';

/**
 * Decode segments from buf[start, end) with `asnSize` 2 or 4. Returns the segments or a
 * reason string. RFC 7606 §7.2: an unknown segment type, a zero segment length, an overrun,
 * or a single trailing octet make the path malformed.
 */
export function decodeAsPath(buf: Buffer, start: number, end: number, asnSize: 2 | 4): AsPathSegment[] | string {
  const segments: AsPathSegment[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) return 'a single octet follows the last segment';
    const type = buf[p] as number;
    const count = buf[p + 1] as number;
    if (type < AsPathSegmentType.AS_SET || type > AsPathSegmentType.AS_CONFED_SET) return `unknown segment type ${type}`;
    if (count === 0) return 'a segment has length zero';
    p += 2;
    if (p + count * asnSize > end) return `a segment of ${count} ASes runs past the attribute`;
    const asns = new Array<number>(count);
    if (asnSize === 4) {
      for (let i = 0; i < count; i++, p += 4) asns[i] = buf.readUInt32BE(p);
    } else {
      for (let i = 0; i < count; i++, p += 2) asns[i] = buf.readUInt16BE(p);
    }
    segments.push({ type: type as AsPathSegment['type'], asns });
  }
  return segments;
}

/** Segments longer than 255 ASes are split, since the segment length is one octet. */
function* wireSegments(segments: readonly AsPathSegment[]): Generator<{ type: number; asns: number[] }> {
  for (const s of segments) {
    if (s.asns.length === 0) continue; // an empty segment would be malformed on the wire
    for (let i = 0; i < s.asns.length; i += 255) yield { type: s.type, asns: s.asns.slice(i, i + 255) };
  }
}

export function asPathEncodingLength(segments: readonly AsPathSegment[], asnSize: 2 | 4): number {
  let n = 0;
  for (const s of wireSegments(segments)) n += 2 + s.asns.length * asnSize;
  return n;
}

/**
 * Write segments at offset; returns the offset after. With asnSize 2, ASNs above 65535 are
 * written as AS_TRANS (the caller adds AS4_PATH).
 */
export function encodeAsPath(segments: readonly AsPathSegment[], asnSize: 2 | 4, buf: Buffer, offset: number): number {
  let p = offset;
  for (const s of wireSegments(segments)) {
    buf[p] = s.type;
    buf[p + 1] = s.asns.length;
    p += 2;
    for (const asn of s.asns) {
      if (asnSize === 4) {
        buf.writeUInt32BE(asn >>> 0, p);
        p += 4;
      } else {
        buf.writeUInt16BE(asn > 0xffff ? AS_TRANS : asn, p);
        p += 2;
      }
    }
  }
  return p;
}

export function hasFourOctetAsn(segments: readonly AsPathSegment[]): boolean {
  for (const s of segments) for (const a of s.asns) if (a > 0xffff) return true;
  return false;
}

function isConfed(type: number): boolean {
  return type === AsPathSegmentType.AS_CONFED_SEQUENCE || type === AsPathSegmentType.AS_CONFED_SET;
}

/** RFC 4271 §9.1.2.2 / RFC 6793 path length: a set counts 1, confederation segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

/** RFC 6793 §4.2.2: AS4_PATH carries no confederation segments. */
export function withoutConfedSegments(segments: readonly AsPathSegment[]): AsPathSegment[] {
  return segments.filter((s) => !isConfed(s.type));
}

export function hasConfedSegments(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => isConfed(s.type));
}

/**
 * RFC 6793 §4.2.3: rebuild the path from a 2-octet peer's AS_PATH and AS4_PATH. If AS_PATH
 * is shorter than AS4_PATH, AS4_PATH is ignored. Otherwise the leading ASes of AS_PATH that
 * AS4_PATH lacks (as counted by asPathLength) are put in front of AS4_PATH.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let need = asPathLength(asPath) - asPathLength(as4Path);
  if (need < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const lead: AsPathSegment[] = [];
  for (const s of asPath) {
    // Confederation segments count 0 and are absent from AS4_PATH, so the leading ones
    // always come from AS_PATH.
    if (isConfed(s.type)) {
      if (need > 0 || lead.every((l) => isConfed(l.type))) lead.push({ type: s.type, asns: [...s.asns] });
      continue;
    }
    if (need <= 0) break;
    if (s.type === AsPathSegmentType.AS_SEQUENCE) {
      const take = Math.min(need, s.asns.length);
      lead.push({ type: s.type, asns: s.asns.slice(0, take) });
      need -= take;
    } else {
      lead.push({ type: s.type, asns: [...s.asns] });
      need -= 1; // an AS_SET counts as one
    }
  }
  const out = lead;
  for (const s of as4Path) {
    const last = out[out.length - 1];
    // Join a split sequence back into one segment when it fits.
    if (
      last !== undefined &&
      last.type === AsPathSegmentType.AS_SEQUENCE &&
      s.type === AsPathSegmentType.AS_SEQUENCE &&
      last.asns.length + s.asns.length <= 255
    ) {
      last.asns.push(...s.asns);
    } else {
      out.push({ type: s.type, asns: [...s.asns] });
    }
  }
  return out;
}
