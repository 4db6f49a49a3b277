/**
 * UPDATE packing: as many prefixes as fit the negotiated send limit (4096, or 65535 under
 * RFC 8654) behind one pre-encoded attribute set, in as many messages as needed; and the
 * same for withdrawals. This is how the Adj-RIB-Out should send: group routes by attribute
 * key, encode each attribute set once (encodeAttributes), then pack its prefixes.
 */
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, MIN_UPDATE_LENGTH, MessageType, Safi } from './constants.js';
import { familyKey } from './family.js';
import { writeHeader } from './header.js';
import { encodePrefix, prefixEncodingLength, type NlriList } from './nlri.js';
import type { SessionWireFormat } from './session-format.js';
import { writeAttributeHeader } from './attributes/encode.js';

export interface Announcements {
  /**
   * Pre-encoded path attributes (encodeAttributes) without MP attributes. For IPv4 NLRI sent
   * in the NLRI field it must contain NEXT_HOP.
   */
  attributes: Buffer;
  prefixes: NlriList;
  /**
   * MP_REACH_NLRI next hop: 16 or 32 bytes for IPv6, 4 for IPv4 in MP_REACH, or 16/32 for
   * IPv4 under RFC 8950. Leave out to send IPv4 NLRI the RFC 4271 way.
   */
  nextHop?: Buffer;
  /** Defaults to unicast. */
  safi?: number;
  /** Range of prefixes to send, default all. */
  from?: number;
  to?: number;
}

export interface Withdrawals {
  prefixes: NlriList;
  safi?: number;
  from?: number;
  to?: number;
}

/** Header (19) + withdrawn length (2) + attribute length (2). */
const FIXED = MIN_UPDATE_LENGTH;
/** MP attribute header with Extended Length: flags, type, 2-byte length. */
const MP_HDR = 4;

/**
 * How many prefixes starting at `from` fit in `room` bytes; at least one is required.
 * Throws RangeError when not even one fits (the attribute set is too big: a caller bug).
 */
function fit(list: NlriList, from: number, to: number, room: number, addPath: boolean): { n: number; bytes: number } {
  let bytes = 0;
  let i = from;
  for (; i < to; i++) {
    const l = prefixEncodingLength(list, i, addPath);
    if (bytes + l > room) break;
    bytes += l;
  }
  if (i === from && from < to) throw new RangeError(`no room for a single prefix: ${room} bytes left after the attributes`);
  return { n: i - from, bytes };
}

/** Pack announcements into UPDATE messages of at most wire.maxSendLength bytes. */
export function packAnnouncements(a: Announcements, wire: SessionWireFormat): Buffer[] {
  const list = a.prefixes;
  const safi = a.safi ?? Safi.UNICAST;
  const from = a.from ?? 0;
  const to = a.to ?? list.count;
  const addPath = wire.addPathSend.has(familyKey(list.afi, safi));
  const classic = list.afi === Afi.IPV4 && safi === Safi.UNICAST && a.nextHop === undefined;
  const nh = a.nextHop ?? Buffer.alloc(0);
  const mpFixed = classic ? 0 : MP_HDR + 5 + nh.length;
  const room = wire.maxSendLength - FIXED - a.attributes.length - mpFixed;
  const out: Buffer[] = [];
  for (let i = from; i < to; ) {
    const { n, bytes } = fit(list, i, to, room, addPath);
    const total = FIXED + mpFixed + a.attributes.length + bytes;
    const buf = Buffer.allocUnsafe(total);
    writeHeader(buf, 0, total, MessageType.UPDATE);
    buf.writeUInt16BE(0, HEADER_LENGTH);
    buf.writeUInt16BE(total - FIXED - (classic ? bytes : 0), HEADER_LENGTH + 2);
    let p = FIXED;
    if (!classic) {
      p = writeAttributeHeader(buf, p, AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, 5 + nh.length + bytes, true);
      buf.writeUInt16BE(list.afi, p);
      buf[p + 2] = safi;
      buf[p + 3] = nh.length;
      p += 4;
      p += nh.copy(buf, p);
      buf[p++] = 0;
      for (let k = i; k < i + n; k++) p = encodePrefix(list, k, buf, p, addPath);
      a.attributes.copy(buf, p);
    } else {
      p += a.attributes.copy(buf, p);
      for (let k = i; k < i + n; k++) p = encodePrefix(list, k, buf, p, addPath);
    }
    out.push(buf);
    i += n;
  }
  return out;
}

/** Pack withdrawals: IPv4 unicast in the Withdrawn Routes field, others in MP_UNREACH_NLRI. */
export function packWithdrawals(w: Withdrawals, wire: SessionWireFormat): Buffer[] {
  const list = w.prefixes;
  const safi = w.safi ?? Safi.UNICAST;
  const from = w.from ?? 0;
  const to = w.to ?? list.count;
  const addPath = wire.addPathSend.has(familyKey(list.afi, safi));
  const classic = list.afi === Afi.IPV4 && safi === Safi.UNICAST;
  const mpFixed = classic ? 0 : MP_HDR + 3;
  const room = wire.maxSendLength - FIXED - mpFixed;
  const out: Buffer[] = [];
  for (let i = from; i < to; ) {
    const { n, bytes } = fit(list, i, to, room, addPath);
    const total = FIXED + mpFixed + bytes;
    const buf = Buffer.allocUnsafe(total);
    writeHeader(buf, 0, total, MessageType.UPDATE);
    let p = HEADER_LENGTH;
    if (classic) {
      buf.writeUInt16BE(bytes, p);
      p += 2;
      for (let k = i; k < i + n; k++) p = encodePrefix(list, k, buf, p, addPath);
      buf.writeUInt16BE(0, p);
    } else {
      buf.writeUInt16BE(0, p);
      buf.writeUInt16BE(mpFixed + bytes, p + 2);
      p = writeAttributeHeader(buf, p + 4, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, 3 + bytes, true);
      buf.writeUInt16BE(list.afi, p);
      buf[p + 2] = safi;
      p += 3;
      for (let k = i; k < i + n; k++) p = encodePrefix(list, k, buf, p, addPath);
    }
    out.push(buf);
    i += n;
  }
  return out;
}
