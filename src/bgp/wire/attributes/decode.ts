/**
 * Path attribute section of an UPDATE: walk the TLVs once, decode what we know, and report
 * every problem with its RFC 7606 action. Nothing here throws: every read is bounds-checked
 * against the attribute (or section) end first.
 */
import { AS_TRANS, Afi, AttrFlag, AttrType, ErrorCode, Origin, Safi, UpdateSubcode } from '../constants.js';
import { problem, u8Data, type WireAction, type WireProblem } from '../errors.js';
import { familyKey } from '../family.js';
import { decodeNlri } from '../nlri.js';
import type { SessionWireFormat } from '../session-format.js';
import { decodeAsPath, hasConfedSegments, mergeAs4Path } from './as-path.js';
import type { Aggregator, AsPathSegment, LargeCommunity, MpReach, MpUnreach, PathAttributes, RawAttribute } from './types.js';

export interface AttributeSection {
  attributes: PathAttributes;
  mpReach: MpReach | null;
  mpUnreach: MpUnreach | null;
  /**
   * Bytes that identify the attribute set for interning: a format byte (1 if AS numbers are
   * 4-octet on this session, else 0), then every kept attribute as received except
   * MP_REACH/MP_UNREACH, then for MP_REACH its AFI, SAFI, next hop length and next hop.
   * Equal keys mean equal attributes (and next hop). A fresh Buffer, safe to keep.
   */
  key: Buffer;
}

/** Optional and Transitive bits each known attribute must carry (RFC 4271 §5, RFC 4760...). */
const EXPECTED_FLAGS: Readonly<Record<number, number>> = {
  [AttrType.ORIGIN]: AttrFlag.TRANSITIVE,
  [AttrType.AS_PATH]: AttrFlag.TRANSITIVE,
  [AttrType.NEXT_HOP]: AttrFlag.TRANSITIVE,
  [AttrType.MULTI_EXIT_DISC]: AttrFlag.OPTIONAL,
  [AttrType.LOCAL_PREF]: AttrFlag.TRANSITIVE,
  [AttrType.ATOMIC_AGGREGATE]: AttrFlag.TRANSITIVE,
  [AttrType.AGGREGATOR]: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  [AttrType.COMMUNITIES]: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  [AttrType.ORIGINATOR_ID]: AttrFlag.OPTIONAL,
  [AttrType.CLUSTER_LIST]: AttrFlag.OPTIONAL,
  [AttrType.MP_REACH_NLRI]: AttrFlag.OPTIONAL,
  [AttrType.MP_UNREACH_NLRI]: AttrFlag.OPTIONAL,
  [AttrType.EXTENDED_COMMUNITIES]: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  [AttrType.AS4_PATH]: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  [AttrType.AS4_AGGREGATOR]: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
  [AttrType.LARGE_COMMUNITY]: AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE,
};

/**
 * RFC 7606 §7 (and RFC 6793 §6, RFC 8092 §6): what to do when a known attribute is
 * malformed. MP_REACH/MP_UNREACH are handled in their own decoders.
 */
function malformedAction(type: number): WireAction {
  switch (type) {
    case AttrType.ATOMIC_AGGREGATE:
    case AttrType.AGGREGATOR:
    case AttrType.AS4_PATH:
    case AttrType.AS4_AGGREGATOR:
      return 'attribute-discard';
    default:
      return 'treat-as-withdraw';
  }
}

/** True for attribute types we decode (others are unknown: passed on, dropped or refused). */
function isKnown(type: number): boolean {
  return EXPECTED_FLAGS[type] !== undefined;
}

export function isMandatoryWellKnown(type: number): boolean {
  return type === AttrType.ORIGIN || type === AttrType.AS_PATH || type === AttrType.NEXT_HOP;
}

interface Ctx {
  buf: Buffer;
  wire: SessionWireFormat;
  problems: WireProblem[];
}

function attrProblem(
  ctx: Ctx,
  action: WireAction,
  subcode: number,
  type: number,
  attrStart: number,
  attrEnd: number,
  reason: string,
  family?: { afi: number; safi: number },
): void {
  // RFC 4271 §6.3: the data of an attribute error is the erroneous attribute itself.
  const data = Buffer.from(ctx.buf.subarray(attrStart, attrEnd));
  ctx.problems.push(
    problem(action, ErrorCode.UPDATE_MESSAGE, subcode, `path attribute ${type}: ${reason}`, data, {
      attrType: type,
      ...(family ?? {}),
    }),
  );
}

function u32List(buf: Buffer, start: number, end: number): number[] {
  const out = new Array<number>((end - start) >> 2);
  for (let p = start, i = 0; p < end; p += 4, i++) out[i] = buf.readUInt32BE(p);
  return out;
}

function isDecodedFamily(afi: number, safi: number): boolean {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && (safi === Safi.UNICAST || safi === Safi.MULTICAST);
}

/** Next hop lengths RFC 4760 / RFC 2545 / RFC 8950 allow for a family on this session. */
function nextHopLengthOk(afi: number, safi: number, len: number, wire: SessionWireFormat): boolean {
  if (afi === Afi.IPV6) return len === 16 || len === 32;
  if (afi === Afi.IPV4) return len === 4 || ((len === 16 || len === 32) && wire.extendedNextHop.has(familyKey(afi, safi)));
  return true;
}

/**
 * Decode buf[start, end) as a path attribute section. Problems are appended to `problems`.
 * `ipv4NlriPresent` says whether the UPDATE's NLRI field announces anything, which makes
 * NEXT_HOP mandatory.
 */
export function decodeAttributes(
  buf: Buffer,
  start: number,
  end: number,
  wire: SessionWireFormat,
  ipv4NlriPresent: boolean,
  problems: WireProblem[],
): AttributeSection {
  const ctx: Ctx = { buf, wire, problems };
  const attrs: PathAttributes = {};
  let mpReach: MpReach | null = null;
  let mpUnreach: MpUnreach | null = null;
  let as4Path: AsPathSegment[] | null = null;
  let as4Aggregator: Aggregator | null = null;
  const seen = new Uint8Array(256);
  // [start, end) pairs of attributes that go into the interning key.
  const keyRanges: number[] = [];
  let keyMpHeader: Buffer | null = null;
  let allKept = true;

  let p = start;
  while (p < end) {
    // RFC 7606 §4: fewer than 3 (or 4 with Extended Length) octets left, or an attribute
    // running past the section. The NLRI field is still found through the Total Path
    // Attribute Length, so treat-as-withdraw, unless the cut attribute is an MP one whose
    // NLRI are then lost (session reset).
    const flags = buf[p] as number;
    const hdr = flags & AttrFlag.EXTENDED_LENGTH ? 4 : 3;
    if (p + hdr > end) {
      problems.push(
        problem(
          'treat-as-withdraw',
          ErrorCode.UPDATE_MESSAGE,
          UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
          `path attributes: ${end - p} trailing bytes are too few for an attribute header`,
        ),
      );
      allKept = false;
      break;
    }
    const type = buf[p + 1] as number;
    const len = hdr === 4 ? buf.readUInt16BE(p + 2) : (buf[p + 2] as number);
    const vs = p + hdr;
    const ve = vs + len;
    if (ve > end) {
      const mp = type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI;
      problems.push(
        problem(
          mp ? 'session-reset' : 'treat-as-withdraw',
          ErrorCode.UPDATE_MESSAGE,
          mp ? UpdateSubcode.MALFORMED_ATTRIBUTE_LIST : UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
          `path attribute ${type}: length ${len} runs ${ve - end} bytes past the attribute section`,
          Buffer.from(buf.subarray(p, end)),
          { attrType: type },
        ),
      );
      allKept = false;
      break;
    }
    const attrStart = p;
    p = ve;

    // RFC 7606 §3(g): keep the first of a repeated attribute, except MP_REACH/MP_UNREACH.
    if (seen[type] !== 0) {
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        attrProblem(ctx, 'session-reset', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, attrStart, ve, 'appears more than once');
      } else {
        attrProblem(ctx, 'attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, attrStart, ve, 'repeated; the first is kept');
      }
      allKept = false;
      continue;
    }
    seen[type] = 1;

    if (!isKnown(type)) {
      if ((flags & AttrFlag.OPTIONAL) === 0) {
        attrProblem(ctx, 'session-reset', UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, type, attrStart, ve, 'unrecognized well-known attribute');
        allKept = false;
      } else if (flags & AttrFlag.TRANSITIVE) {
        // RFC 4271 §5: pass an unrecognised optional transitive attribute on, Partial set.
        const raw: RawAttribute = { flags: (flags | AttrFlag.PARTIAL) & ~AttrFlag.EXTENDED_LENGTH & 0xff, type, value: Buffer.from(buf.subarray(vs, ve)) };
        (attrs.unknown ??= []).push(raw);
        keyRanges.push(attrStart, ve);
      } else {
        allKept = false; // optional non-transitive we do not know: quietly dropped
      }
      continue;
    }

    const expected = EXPECTED_FLAGS[type] as number;
    if ((flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== expected) {
      // RFC 7606 §3(c): conflicting Optional/Transitive bits make the attribute malformed.
      let action = malformedAction(type);
      let family: { afi: number; safi: number } | undefined;
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        if (len >= 3) {
          action = 'afi-safi-disable';
          family = { afi: buf.readUInt16BE(vs), safi: buf[vs + 2] as number };
        } else {
          action = 'session-reset';
        }
      }
      attrProblem(ctx, action, UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, type, attrStart, ve, `flags 0x${flags.toString(16)} conflict with the attribute type`, family);
      allKept = false;
      continue;
    }

    let kept = true;
    const bad = (subcode: number, reason: string): void => {
      attrProblem(ctx, malformedAction(type), subcode, type, attrStart, ve, reason);
      kept = false;
    };
    switch (type) {
      case AttrType.ORIGIN: {
        if (len !== 1) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected 1`);
        else {
          const v = buf[vs] as number;
          if (v > Origin.INCOMPLETE) bad(UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE, `value ${v} is not IGP, EGP or INCOMPLETE`);
          else attrs.origin = v as Origin;
        }
        break;
      }
      case AttrType.AS_PATH: {
        const r = decodeAsPath(buf, vs, ve, wire.as4 ? 4 : 2);
        if (typeof r === 'string') bad(UpdateSubcode.MALFORMED_AS_PATH, r);
        else attrs.asPath = r;
        break;
      }
      case AttrType.NEXT_HOP:
        if (len !== 4) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected 4`);
        else attrs.nextHop = buf.readUInt32BE(vs);
        break;
      case AttrType.MULTI_EXIT_DISC:
        if (len !== 4) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected 4`);
        else attrs.med = buf.readUInt32BE(vs);
        break;
      case AttrType.LOCAL_PREF:
        if (len !== 4) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected 4`);
        else attrs.localPref = buf.readUInt32BE(vs);
        break;
      case AttrType.ATOMIC_AGGREGATE:
        if (len !== 0) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected 0`);
        else attrs.atomicAggregate = true;
        break;
      case AttrType.AGGREGATOR: {
        const want = wire.as4 ? 8 : 6;
        if (len !== want) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected ${want}`);
        else if (wire.as4) attrs.aggregator = { asn: buf.readUInt32BE(vs), address: buf.readUInt32BE(vs + 4) };
        else attrs.aggregator = { asn: buf.readUInt16BE(vs), address: buf.readUInt32BE(vs + 2) };
        break;
      }
      case AttrType.COMMUNITIES:
        if (len === 0 || len % 4 !== 0) bad(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `length ${len} is not a positive multiple of 4`);
        else attrs.communities = u32List(buf, vs, ve);
        break;
      case AttrType.ORIGINATOR_ID:
        if (len !== 4) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len}, expected 4`);
        else attrs.originatorId = buf.readUInt32BE(vs);
        break;
      case AttrType.CLUSTER_LIST:
        if (len === 0 || len % 4 !== 0) bad(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `length ${len} is not a positive multiple of 4`);
        else attrs.clusterList = u32List(buf, vs, ve);
        break;
      case AttrType.EXTENDED_COMMUNITIES:
        if (len === 0 || len % 8 !== 0) bad(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `length ${len} is not a positive multiple of 8`);
        else attrs.extendedCommunities = Buffer.from(buf.subarray(vs, ve));
        break;
      case AttrType.LARGE_COMMUNITY:
        if (len === 0 || len % 12 !== 0) bad(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `length ${len} is not a positive multiple of 12`);
        else {
          const list: LargeCommunity[] = [];
          for (let q = vs; q < ve; q += 12) {
            list.push({ globalAdmin: buf.readUInt32BE(q), localData1: buf.readUInt32BE(q + 4), localData2: buf.readUInt32BE(q + 8) });
          }
          attrs.largeCommunities = list;
        }
        break;
      case AttrType.AS4_PATH:
        // RFC 6793 §4.1: a 4-octet speaker discards AS4_PATH from another 4-octet speaker.
        if (wire.as4) kept = false;
        else {
          const r = decodeAsPath(buf, vs, ve, 4);
          if (typeof r === 'string') bad(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `AS4_PATH: ${r}`);
          else if (hasConfedSegments(r)) bad(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, 'AS4_PATH carries confederation segments');
          else as4Path = r;
        }
        break;
      case AttrType.AS4_AGGREGATOR:
        if (wire.as4) kept = false;
        else if (len !== 8) bad(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `length ${len}, expected 8`);
        else as4Aggregator = { asn: buf.readUInt32BE(vs), address: buf.readUInt32BE(vs + 4) };
        break;
      case AttrType.MP_REACH_NLRI: {
        const r = decodeMpReach(ctx, attrStart, vs, ve);
        if (r === null) kept = false;
        else {
          mpReach = r;
          keyMpHeader = Buffer.from(buf.subarray(vs, vs + 4 + r.nextHop.length));
        }
        kept = false; // MP attributes never go into the key as a whole
        break;
      }
      case AttrType.MP_UNREACH_NLRI: {
        const r = decodeMpUnreach(ctx, attrStart, vs, ve);
        if (r !== null) mpUnreach = r;
        kept = false;
        break;
      }
    }
    if (kept) keyRanges.push(attrStart, ve);
    else allKept = false; // includes MP attributes, which the key leaves out
  }

  // RFC 6793 §4.2.3: fold AS4_AGGREGATOR and AS4_PATH from a 2-octet speaker. An AGGREGATOR
  // whose AS is not AS_TRANS means a 2-octet speaker aggregated after the path was built, so
  // both AS4 attributes are stale and ignored.
  if (!wire.as4 && (as4Path !== null || as4Aggregator !== null)) {
    const agg = attrs.aggregator;
    if (!(agg !== undefined && agg.asn !== AS_TRANS)) {
      if (as4Aggregator !== null && agg !== undefined) attrs.aggregator = as4Aggregator;
      if (as4Path !== null && attrs.asPath !== undefined) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
    }
  }

  // RFC 7606 §3(d): a missing well-known mandatory attribute means treat-as-withdraw, when
  // there is something to announce. NEXT_HOP is mandatory only for the NLRI field (RFC 4760).
  // An attribute that was present but malformed has already been reported.
  const announces = ipv4NlriPresent || (mpReach !== null && (mpReach.nlri === null || mpReach.nlri.count > 0));
  if (announces) {
    const missing: number[] = [];
    if (seen[AttrType.ORIGIN] === 0) missing.push(AttrType.ORIGIN);
    if (seen[AttrType.AS_PATH] === 0) missing.push(AttrType.AS_PATH);
    if (ipv4NlriPresent && seen[AttrType.NEXT_HOP] === 0) missing.push(AttrType.NEXT_HOP);
    for (const t of missing) {
      problems.push(
        problem('treat-as-withdraw', ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, `path attribute ${t} is missing`, u8Data(t), {
          attrType: t,
        }),
      );
    }
  }

  return { attributes: attrs, mpReach, mpUnreach, key: buildKey(buf, start, end, wire.as4, keyRanges, keyMpHeader, allKept) };
}

function buildKey(
  buf: Buffer,
  start: number,
  end: number,
  as4: boolean,
  ranges: number[],
  mpHeader: Buffer | null,
  allKept: boolean,
): Buffer {
  const fast = allKept && mpHeader === null;
  let total = 1 + (mpHeader?.length ?? 0);
  if (fast) total += end - start;
  else for (let i = 0; i < ranges.length; i += 2) total += (ranges[i + 1] as number) - (ranges[i] as number);
  const key = Buffer.allocUnsafe(total);
  key[0] = as4 ? 1 : 0;
  let q = 1;
  if (fast) q += buf.copy(key, q, start, end);
  else for (let i = 0; i < ranges.length; i += 2) q += buf.copy(key, q, ranges[i] as number, ranges[i + 1] as number);
  if (mpHeader !== null) mpHeader.copy(key, q);
  return key;
}

/** Where MP_REACH/MP_UNREACH problems go: AFI/SAFI disable if the family is known. */
function mpProblem(ctx: Ctx, type: number, attrStart: number, ve: number, vs: number, reason: string): void {
  const len = ve - vs;
  if (len >= 3) {
    const family = { afi: ctx.buf.readUInt16BE(vs), safi: ctx.buf[vs + 2] as number };
    attrProblem(ctx, 'afi-safi-disable', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, type, attrStart, ve, reason, family);
  } else {
    attrProblem(ctx, 'session-reset', UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, type, attrStart, ve, reason);
  }
}

function decodeMpReach(ctx: Ctx, attrStart: number, vs: number, ve: number): MpReach | null {
  const { buf, wire } = ctx;
  if (ve - vs < 5) {
    mpProblem(ctx, AttrType.MP_REACH_NLRI, attrStart, ve, vs, `length ${ve - vs} is too short`);
    return null;
  }
  const afi = buf.readUInt16BE(vs);
  const safi = buf[vs + 2] as number;
  const nhLen = buf[vs + 3] as number;
  const nlriStart = vs + 4 + nhLen + 1; // + reserved octet (formerly SNPAs)
  if (nlriStart > ve) {
    mpProblem(ctx, AttrType.MP_REACH_NLRI, attrStart, ve, vs, `next hop length ${nhLen} runs past the attribute`);
    return null;
  }
  // RFC 7606 §7.11: a next hop length that does not fit the family hides where the NLRI start.
  if (!nextHopLengthOk(afi, safi, nhLen, wire)) {
    mpProblem(ctx, AttrType.MP_REACH_NLRI, attrStart, ve, vs, `next hop length ${nhLen} does not fit AFI ${afi} SAFI ${safi}`);
    return null;
  }
  const nextHop = Buffer.from(buf.subarray(vs + 4, vs + 4 + nhLen));
  const nlriBytes = buf.subarray(nlriStart, ve);
  let nlri = null;
  if (isDecodedFamily(afi, safi)) {
    const r = decodeNlri(buf, nlriStart, ve, afi, wire.addPathReceive.has(familyKey(afi, safi)));
    if (typeof r === 'string') {
      mpProblem(ctx, AttrType.MP_REACH_NLRI, attrStart, ve, vs, r);
      return null;
    }
    nlri = r;
  }
  return { afi, safi, nextHop, nlri, nlriBytes };
}

function decodeMpUnreach(ctx: Ctx, attrStart: number, vs: number, ve: number): MpUnreach | null {
  const { buf, wire } = ctx;
  if (ve - vs < 3) {
    mpProblem(ctx, AttrType.MP_UNREACH_NLRI, attrStart, ve, vs, `length ${ve - vs} is too short`);
    return null;
  }
  const afi = buf.readUInt16BE(vs);
  const safi = buf[vs + 2] as number;
  const nlriBytes = buf.subarray(vs + 3, ve);
  let nlri = null;
  if (isDecodedFamily(afi, safi)) {
    const r = decodeNlri(buf, vs + 3, ve, afi, wire.addPathReceive.has(familyKey(afi, safi)));
    if (typeof r === 'string') {
      mpProblem(ctx, AttrType.MP_UNREACH_NLRI, attrStart, ve, vs, r);
      return null;
    }
    nlri = r;
  }
  return { afi, safi, nlri, nlriBytes };
}
