/**
 * UPDATE message (RFC 4271 §4.3, RFC 4760): decode into compact NLRI lists plus one shared
 * attribute object, with RFC 7606 problems as data; encode a single UPDATE; End-of-RIB
 * (RFC 4724 §2) for every family.
 */
import { Afi, AttrFlag, AttrType, ErrorCode, HEADER_LENGTH, MIN_UPDATE_LENGTH, MessageType, UpdateSubcode } from './constants.js';
import { problem, strongestAction, u16Data, type WireAction, type WireProblem } from './errors.js';
import { familyAfi, familyKey, familySafi, IPV4_UNICAST, type FamilyKey } from './family.js';
import { writeHeader } from './header.js';
import { decodeNlri, emptyNlri, encodeNlri, nlriEncodingLength, type NlriList } from './nlri.js';
import { PLAIN_WIRE_FORMAT, type SessionWireFormat } from './session-format.js';
import { decodeAttributes } from './attributes/decode.js';
import { encodeAttributes, writeAttributeHeader } from './attributes/encode.js';
import type { MpReach, MpUnreach, PathAttributes } from './attributes/types.js';

export interface UpdateMessage {
  /** IPv4 unicast prefixes in the Withdrawn Routes field. */
  withdrawn: NlriList;
  /** IPv4 unicast prefixes in the NLRI field; they use attributes.nextHop. */
  announced: NlriList;
  /** Decoded once; shared by every prefix of this UPDATE. Empty object when none. */
  attributes: PathAttributes;
  mpReach: MpReach | null;
  mpUnreach: MpUnreach | null;
  /** The raw path attribute section: a view into the message buffer. */
  attributeBytes: Buffer;
  /** See AttributeSection.key: equal keys mean equal attribute sets; safe to keep. */
  attributeKey: Buffer;
}

export interface UpdateDecodeResult {
  /** null only when the message cannot be used at all (action 'session-reset'). */
  update: UpdateMessage | null;
  problems: WireProblem[];
  /** The strongest action among problems (RFC 7606 §3(c)), or null for a clean UPDATE. */
  action: WireAction | null;
}

function reset(subcode: number, reason: string, data?: Buffer): UpdateDecodeResult {
  const problems = [problem('session-reset', ErrorCode.UPDATE_MESSAGE, subcode, `UPDATE: ${reason}`, data)];
  return { update: null, problems, action: 'session-reset' };
}

/** Decode a whole UPDATE message (header included), as handed out by the framer. */
export function decodeUpdate(msg: Buffer, wire: SessionWireFormat): UpdateDecodeResult {
  const end = msg.length;
  if (end < MIN_UPDATE_LENGTH) {
    const problems = [problem('session-reset', ErrorCode.MESSAGE_HEADER, 2, `UPDATE: ${end} bytes is too short`, u16Data(end))];
    return { update: null, problems, action: 'session-reset' };
  }
  // RFC 4271 §6.3 / RFC 7606 §5: lengths that do not add up leave nothing locatable.
  const withdrawnLen = msg.readUInt16BE(HEADER_LENGTH);
  const wStart = HEADER_LENGTH + 2;
  const wEnd = wStart + withdrawnLen;
  if (wEnd + 2 > end) return reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `withdrawn routes length ${withdrawnLen} overruns the message`);
  const attrLen = msg.readUInt16BE(wEnd);
  const aStart = wEnd + 2;
  const aEnd = aStart + attrLen;
  if (aEnd > end) return reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `total path attribute length ${attrLen} overruns the message`);

  const v4AddPath = wire.addPathReceive.has(IPV4_UNICAST);
  // RFC 7606 §5.3: an NLRI field that cannot be parsed means session reset.
  const withdrawn = decodeNlri(msg, wStart, wEnd, Afi.IPV4, v4AddPath);
  if (typeof withdrawn === 'string') return reset(UpdateSubcode.INVALID_NETWORK_FIELD, `withdrawn routes: ${withdrawn}`);
  const announced = decodeNlri(msg, aEnd, end, Afi.IPV4, v4AddPath);
  if (typeof announced === 'string') return reset(UpdateSubcode.INVALID_NETWORK_FIELD, `NLRI: ${announced}`);

  const problems: WireProblem[] = [];
  const section = decodeAttributes(msg, aStart, aEnd, wire, announced.count > 0, problems);
  const action = strongestAction(problems);
  if (action === 'session-reset') return { update: null, problems, action };
  const update: UpdateMessage = {
    withdrawn,
    announced,
    attributes: section.attributes,
    mpReach: section.mpReach,
    mpUnreach: section.mpUnreach,
    attributeBytes: msg.subarray(aStart, aEnd),
    attributeKey: section.key,
  };
  return { update, problems, action };
}

/**
 * The family an End-of-RIB marker stands for, or null. IPv4 unicast: an UPDATE with no
 * withdrawn routes, no attributes and no NLRI. Others: only an MP_UNREACH_NLRI with no NLRI.
 */
export function endOfRibFamily(u: UpdateMessage): FamilyKey | null {
  if (u.withdrawn.count !== 0 || u.announced.count !== 0 || u.mpReach !== null) return null;
  if (u.attributeBytes.length === 0) return IPV4_UNICAST;
  const m = u.mpUnreach;
  if (m !== null && m.nlriBytes.length === 0 && Object.keys(u.attributes).length === 0) return familyKey(m.afi, m.safi);
  return null;
}

export function encodeEndOfRib(family: FamilyKey): Buffer {
  if (family === IPV4_UNICAST) return encodeUpdate({}, PLAIN_WIRE_FORMAT);
  const afi = familyAfi(family);
  const safi = familySafi(family);
  const len = MIN_UPDATE_LENGTH + 3 + 3;
  const buf = Buffer.alloc(len);
  writeHeader(buf, 0, len, MessageType.UPDATE);
  buf.writeUInt16BE(0, HEADER_LENGTH);
  buf.writeUInt16BE(6, HEADER_LENGTH + 2);
  const p = writeAttributeHeader(buf, HEADER_LENGTH + 4, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, 3, false);
  buf.writeUInt16BE(afi, p);
  buf[p + 2] = safi;
  return buf;
}

export interface MpReachToEncode {
  afi: number;
  safi: number;
  nextHop: Buffer;
  nlri: NlriList;
}

export interface MpUnreachToEncode {
  afi: number;
  safi: number;
  nlri: NlriList;
}

export interface UpdateToEncode {
  withdrawn?: NlriList;
  /** Either decoded attributes, or a pre-encoded section from encodeAttributes. */
  attributes?: PathAttributes | Buffer;
  announced?: NlriList;
  mpReach?: MpReachToEncode;
  mpUnreach?: MpUnreachToEncode;
}

/** MP_REACH_NLRI value length for NLRI [from, to). */
export function mpReachValueLength(afi: number, safi: number, nextHop: Buffer, nlri: NlriList, from: number, to: number, wire: SessionWireFormat): number {
  return 5 + nextHop.length + nlriEncodingLength(nlri, from, to, wire.addPathSend.has(familyKey(afi, safi)));
}

/** Write MP_REACH_NLRI (always with Extended Length, so sizes need no second pass). */
export function writeMpReach(buf: Buffer, at: number, m: MpReachToEncode, from: number, to: number, wire: SessionWireFormat): number {
  const addPath = wire.addPathSend.has(familyKey(m.afi, m.safi));
  const len = mpReachValueLength(m.afi, m.safi, m.nextHop, m.nlri, from, to, wire);
  let p = writeAttributeHeader(buf, at, AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, len, true);
  buf.writeUInt16BE(m.afi, p);
  buf[p + 2] = m.safi;
  buf[p + 3] = m.nextHop.length;
  p += 4;
  p += m.nextHop.copy(buf, p);
  buf[p++] = 0; // reserved
  return encodeNlri(m.nlri, from, to, buf, p, addPath);
}

export function writeMpUnreach(buf: Buffer, at: number, m: MpUnreachToEncode, from: number, to: number, wire: SessionWireFormat): number {
  const addPath = wire.addPathSend.has(familyKey(m.afi, m.safi));
  const len = 3 + nlriEncodingLength(m.nlri, from, to, addPath);
  let p = writeAttributeHeader(buf, at, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, len, true);
  buf.writeUInt16BE(m.afi, p);
  buf[p + 2] = m.safi;
  p += 3;
  return encodeNlri(m.nlri, from, to, buf, p, addPath);
}

/**
 * Encode one UPDATE. Throws RangeError when it exceeds wire.maxSendLength: splitting is the
 * packer's job (pack.ts), and an oversized single UPDATE is a caller bug.
 */
export function encodeUpdate(u: UpdateToEncode, wire: SessionWireFormat): Buffer {
  const v4AddPath = wire.addPathSend.has(IPV4_UNICAST);
  const withdrawn = u.withdrawn ?? emptyNlri(Afi.IPV4);
  const announced = u.announced ?? emptyNlri(Afi.IPV4);
  const attrBytes = u.attributes === undefined ? Buffer.alloc(0) : Buffer.isBuffer(u.attributes) ? u.attributes : encodeAttributes(u.attributes, wire);
  const wLen = nlriEncodingLength(withdrawn, 0, withdrawn.count, v4AddPath);
  const nLen = nlriEncodingLength(announced, 0, announced.count, v4AddPath);
  let mpLen = 0;
  if (u.mpUnreach) mpLen += 4 + 3 + nlriEncodingLength(u.mpUnreach.nlri, 0, u.mpUnreach.nlri.count, wire.addPathSend.has(familyKey(u.mpUnreach.afi, u.mpUnreach.safi)));
  if (u.mpReach) mpLen += 4 + mpReachValueLength(u.mpReach.afi, u.mpReach.safi, u.mpReach.nextHop, u.mpReach.nlri, 0, u.mpReach.nlri.count, wire);
  const aLen = mpLen + attrBytes.length;
  const total = MIN_UPDATE_LENGTH + wLen + aLen + nLen;
  const max = wire.maxSendLength;
  if (total > max) throw new RangeError(`UPDATE would be ${total} bytes, over ${max}`);
  const buf = Buffer.alloc(total);
  writeHeader(buf, 0, total, MessageType.UPDATE);
  let p = HEADER_LENGTH;
  buf.writeUInt16BE(wLen, p);
  p = encodeNlri(withdrawn, 0, withdrawn.count, buf, p + 2, v4AddPath);
  buf.writeUInt16BE(aLen, p);
  p += 2;
  // RFC 7606 §5.1: MP attributes SHOULD come first, so a receiver finds them even if a
  // later attribute is broken.
  if (u.mpUnreach) p = writeMpUnreach(buf, p, u.mpUnreach, 0, u.mpUnreach.nlri.count, wire);
  if (u.mpReach) p = writeMpReach(buf, p, u.mpReach, 0, u.mpReach.nlri.count, wire);
  p += attrBytes.copy(buf, p);
  encodeNlri(announced, 0, announced.count, buf, p, v4AddPath);
  return buf;
}
