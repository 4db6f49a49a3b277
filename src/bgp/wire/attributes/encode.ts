/**
 * Encode PathAttributes into an attribute section, in type-code order, with the
 * Extended Length flag where a value exceeds 255 bytes. Towards a 2-octet peer (wire.as4
 * false) 4-octet AS numbers become AS_TRANS and AS4_PATH / AS4_AGGREGATOR carry the real
 * values (RFC 6793 §4.2.2). MP_REACH/MP_UNREACH are written by the UPDATE encoder.
 */
import { AS_TRANS, AttrFlag, AttrType } from '../constants.js';
import type { SessionWireFormat } from '../session-format.js';
import { asPathEncodingLength, encodeAsPath, hasFourOctetAsn, withoutConfedSegments } from './as-path.js';
import type { PathAttributes } from './types.js';

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPT_TRANS = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPT_NON_TRANS = AttrFlag.OPTIONAL;

/** One attribute to write: flags, type, value length and a writer for the value. */
interface Piece {
  flags: number;
  type: number;
  len: number;
  write: (buf: Buffer, at: number) => void;
}

function u32Piece(flags: number, type: number, v: number): Piece {
  return { flags, type, len: 4, write: (b, at) => b.writeUInt32BE(v >>> 0, at) };
}

function u32ListPiece(flags: number, type: number, list: readonly number[]): Piece {
  return {
    flags,
    type,
    len: list.length * 4,
    write: (b, at) => {
      for (let i = 0; i < list.length; i++) b.writeUInt32BE((list[i] as number) >>> 0, at + i * 4);
    },
  };
}

function pieces(attrs: PathAttributes, wire: SessionWireFormat): Piece[] {
  const out: Piece[] = [];
  const asnSize = wire.as4 ? 4 : 2;
  if (attrs.origin !== undefined) {
    const v = attrs.origin;
    out.push({ flags: WELL_KNOWN, type: AttrType.ORIGIN, len: 1, write: (b, at) => void (b[at] = v) });
  }
  if (attrs.asPath !== undefined) {
    const path = attrs.asPath;
    out.push({ flags: WELL_KNOWN, type: AttrType.AS_PATH, len: asPathEncodingLength(path, asnSize), write: (b, at) => void encodeAsPath(path, asnSize, b, at) });
  }
  if (attrs.nextHop !== undefined) out.push(u32Piece(WELL_KNOWN, AttrType.NEXT_HOP, attrs.nextHop));
  if (attrs.med !== undefined) out.push(u32Piece(OPT_NON_TRANS, AttrType.MULTI_EXIT_DISC, attrs.med));
  if (attrs.localPref !== undefined) out.push(u32Piece(WELL_KNOWN, AttrType.LOCAL_PREF, attrs.localPref));
  if (attrs.atomicAggregate === true) out.push({ flags: WELL_KNOWN, type: AttrType.ATOMIC_AGGREGATE, len: 0, write: () => {} });
  if (attrs.aggregator !== undefined) {
    const { asn, address } = attrs.aggregator;
    if (wire.as4) {
      out.push({ flags: OPT_TRANS, type: AttrType.AGGREGATOR, len: 8, write: (b, at) => (b.writeUInt32BE(asn >>> 0, at), b.writeUInt32BE(address >>> 0, at + 4)) });
    } else {
      const two = asn > 0xffff ? AS_TRANS : asn;
      out.push({ flags: OPT_TRANS, type: AttrType.AGGREGATOR, len: 6, write: (b, at) => (b.writeUInt16BE(two, at), b.writeUInt32BE(address >>> 0, at + 2)) });
    }
  }
  if (attrs.communities !== undefined && attrs.communities.length > 0) out.push(u32ListPiece(OPT_TRANS, AttrType.COMMUNITIES, attrs.communities));
  if (attrs.originatorId !== undefined) out.push(u32Piece(OPT_NON_TRANS, AttrType.ORIGINATOR_ID, attrs.originatorId));
  if (attrs.clusterList !== undefined && attrs.clusterList.length > 0) out.push(u32ListPiece(OPT_NON_TRANS, AttrType.CLUSTER_LIST, attrs.clusterList));
  if (attrs.extendedCommunities !== undefined && attrs.extendedCommunities.length > 0) {
    const v = attrs.extendedCommunities;
    out.push({ flags: OPT_TRANS, type: AttrType.EXTENDED_COMMUNITIES, len: v.length, write: (b, at) => void v.copy(b, at) });
  }
  if (!wire.as4) {
    // RFC 6793 §4.2.2: only when something did not fit in two octets.
    if (attrs.asPath !== undefined && hasFourOctetAsn(attrs.asPath)) {
      const path = withoutConfedSegments(attrs.asPath);
      out.push({ flags: OPT_TRANS, type: AttrType.AS4_PATH, len: asPathEncodingLength(path, 4), write: (b, at) => void encodeAsPath(path, 4, b, at) });
    }
    if (attrs.aggregator !== undefined && attrs.aggregator.asn > 0xffff) {
      const { asn, address } = attrs.aggregator;
      out.push({ flags: OPT_TRANS, type: AttrType.AS4_AGGREGATOR, len: 8, write: (b, at) => (b.writeUInt32BE(asn >>> 0, at), b.writeUInt32BE(address >>> 0, at + 4)) });
    }
  }
  if (attrs.largeCommunities !== undefined && attrs.largeCommunities.length > 0) {
    const list = attrs.largeCommunities;
    out.push({
      flags: OPT_TRANS,
      type: AttrType.LARGE_COMMUNITY,
      len: list.length * 12,
      write: (b, at) => {
        for (let i = 0; i < list.length; i++) {
          const c = list[i];
          if (c === undefined) continue;
          b.writeUInt32BE(c.globalAdmin >>> 0, at + i * 12);
          b.writeUInt32BE(c.localData1 >>> 0, at + i * 12 + 4);
          b.writeUInt32BE(c.localData2 >>> 0, at + i * 12 + 8);
        }
      },
    });
  }
  for (const u of attrs.unknown ?? []) {
    const v = u.value;
    out.push({ flags: u.flags, type: u.type, len: v.length, write: (b, at) => void v.copy(b, at) });
  }
  // Stable sort by type code: receivers need not care, but ordered output is easier to
  // compare and is what RFC 4271 §5 suggests.
  out.sort((a, b) => a.type - b.type);
  return out;
}

function pieceLength(p: Piece): number {
  return (p.len > 255 ? 4 : 3) + p.len;
}

function writePiece(p: Piece, buf: Buffer, at: number): number {
  const ext = p.len > 255;
  buf[at] = ext ? (p.flags | AttrFlag.EXTENDED_LENGTH) & 0xff : p.flags & ~AttrFlag.EXTENDED_LENGTH & 0xff;
  buf[at + 1] = p.type;
  if (ext) buf.writeUInt16BE(p.len, at + 2);
  else buf[at + 2] = p.len;
  const vs = at + (ext ? 4 : 3);
  p.write(buf, vs);
  return vs + p.len;
}

export function attributesEncodingLength(attrs: PathAttributes, wire: SessionWireFormat): number {
  return pieces(attrs, wire).reduce((s, p) => s + pieceLength(p), 0);
}

/**
 * Encode the attribute section (no MP attributes). The result is the pre-encoded attribute
 * set the UPDATE packer takes: encode once, send with any number of prefixes.
 */
export function encodeAttributes(attrs: PathAttributes, wire: SessionWireFormat): Buffer {
  const list = pieces(attrs, wire);
  const total = list.reduce((s, p) => s + pieceLength(p), 0);
  if (total > 0xffff) throw new RangeError(`path attributes would take ${total} bytes`);
  const buf = Buffer.alloc(total);
  let at = 0;
  for (const p of list) at = writePiece(p, buf, at);
  return buf;
}

/** Write one attribute header + value with a raw value Buffer (used for MP attributes). */
export function writeAttributeHeader(buf: Buffer, at: number, flags: number, type: number, len: number, forceExtended: boolean): number {
  const ext = forceExtended || len > 255;
  buf[at] = ext ? (flags | AttrFlag.EXTENDED_LENGTH) & 0xff : flags;
  buf[at + 1] = type;
  if (ext) {
    buf.writeUInt16BE(len, at + 2);
    return at + 4;
  }
  buf[at + 2] = len;
  return at + 3;
}
