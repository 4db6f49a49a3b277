/**
 * OPEN message (RFC 4271 §4.2) with capabilities in optional parameters (RFC 5492) and the
 * RFC 9072 extended optional parameters length, read and written. Only the structure and
 * the version are checked here; hold time, peer AS and BGP identifier policy belong to the FSM.
 */
import {
  AS_TRANS,
  BGP_VERSION,
  ErrorCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MIN_OPEN_LENGTH,
  MessageType,
  OpenSubcode,
  OptionalParameterType,
} from './constants.js';
import {
  capabilityCode,
  capabilityEncodingLength,
  decodeCapabilityList,
  encodeCapability,
  type Capability,
} from './capabilities.js';
import { fail, ok, problem, u16Data, type Decoded } from './errors.js';
import { writeHeader } from './header.js';

export interface OpenMessage {
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS needs 4 octets). */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as a uint32. */
  bgpId: number;
  capabilities: Capability[];
  /**
   * RFC 9072 layout. On decode: whether the peer used it. On encode: force it; it is also
   * used automatically when the parameters do not fit the one-octet length.
   */
  extendedParameters?: boolean;
}

/** The peer's real AS: the 4-octet AS capability if present, else My Autonomous System. */
export function openAsn(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

/** The 2-octet My AS field for an AS number: itself if it fits, else AS_TRANS (RFC 6793). */
export function myAsField(asn: number): number {
  return asn <= 0xffff ? asn : AS_TRANS;
}

export function hasCapability(open: OpenMessage, code: number): boolean {
  for (const c of open.capabilities) if (capabilityCode(c) === code) return true;
  return false;
}

function openError(subcode: number, reason: string, data?: Buffer): Decoded<OpenMessage> {
  return fail(problem('session-reset', ErrorCode.OPEN_MESSAGE, subcode, `OPEN: ${reason}`, data));
}

/** Decode a whole OPEN message (header included), as handed out by the framer. */
export function decodeOpen(msg: Buffer): Decoded<OpenMessage> {
  const end = msg.length;
  if (end < MIN_OPEN_LENGTH) {
    return fail(problem('session-reset', ErrorCode.MESSAGE_HEADER, 2, `OPEN: ${end} bytes is too short`, u16Data(end)));
  }
  const b = HEADER_LENGTH;
  const version = msg[b] as number;
  if (version !== BGP_VERSION) {
    // RFC 4271 §6.2: the data is the largest version we support.
    return openError(OpenSubcode.UNSUPPORTED_VERSION, `version ${version} is not 4`, u16Data(BGP_VERSION));
  }
  const myAs = msg.readUInt16BE(b + 1);
  const holdTime = msg.readUInt16BE(b + 3);
  const bgpId = msg.readUInt32BE(b + 5);
  let optLen = msg[b + 9] as number;
  let p = b + 10;
  let extended = false;
  // RFC 9072 §2: a non-extended length of 255 followed by a parameter type of 255 means a
  // 2-octet length follows, and every parameter carries a 2-octet length too.
  if (optLen === 255 && p < end && msg[p] === OptionalParameterType.EXTENDED_LENGTH) {
    if (p + 3 > end) return openError(OpenSubcode.UNSPECIFIC, 'extended optional parameters length is cut off');
    optLen = msg.readUInt16BE(p + 1);
    p += 3;
    extended = true;
  }
  if (p + optLen !== end) {
    return openError(
      OpenSubcode.UNSPECIFIC,
      `optional parameters length ${optLen} does not match the ${end - p} bytes that follow`,
    );
  }
  const capabilities: Capability[] = [];
  const paramHeader = extended ? 3 : 2;
  while (p < end) {
    if (p + paramHeader > end) return openError(OpenSubcode.UNSPECIFIC, 'optional parameter header is cut off');
    const type = msg[p] as number;
    const len = extended ? msg.readUInt16BE(p + 1) : (msg[p + 1] as number);
    const vStart = p + paramHeader;
    const vEnd = vStart + len;
    if (vEnd > end) return openError(OpenSubcode.UNSPECIFIC, `optional parameter ${type} overruns the message`);
    if (type !== OptionalParameterType.CAPABILITIES) {
      return openError(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type} is not supported`);
    }
    const caps = decodeCapabilityList(msg, vStart, vEnd);
    if (caps === null) return openError(OpenSubcode.UNSPECIFIC, 'a capability overruns its optional parameter');
    for (const c of caps) capabilities.push(c);
    p = vEnd;
  }
  const open: OpenMessage = { version, myAs, holdTime, bgpId, capabilities };
  if (extended) open.extendedParameters = true;
  return ok(open);
}

/**
 * Split the capabilities into parameter groups. With one-octet parameter lengths a group
 * holds at most 255 bytes; RFC 5492 allows several capabilities per parameter, and several
 * parameters.
 */
function groupCapabilities(caps: readonly Capability[], maxGroup: number): Capability[][] {
  const groups: Capability[][] = [];
  let cur: Capability[] = [];
  let curLen = 0;
  for (const c of caps) {
    const l = capabilityEncodingLength(c);
    if (cur.length > 0 && curLen + l > maxGroup) {
      groups.push(cur);
      cur = [];
      curLen = 0;
    }
    cur.push(c);
    curLen += l;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

function layout(open: OpenMessage): { extended: boolean; groups: Capability[][]; paramsLen: number } {
  const classic = groupCapabilities(open.capabilities, 255);
  const classicLen = classic.reduce((s, g) => s + 2 + g.reduce((t, c) => t + capabilityEncodingLength(c), 0), 0);
  if (!open.extendedParameters && classicLen <= 255) return { extended: false, groups: classic, paramsLen: classicLen };
  const groups = groupCapabilities(open.capabilities, 0xffff);
  const paramsLen = groups.reduce((s, g) => s + 3 + g.reduce((t, c) => t + capabilityEncodingLength(c), 0), 0);
  return { extended: true, groups, paramsLen };
}

export function openEncodingLength(open: OpenMessage): number {
  const l = layout(open);
  return HEADER_LENGTH + 10 + (l.extended ? 3 : 0) + l.paramsLen;
}

/** Encode a whole OPEN message. Throws RangeError if it cannot fit 4096 bytes (a caller bug). */
export function encodeOpen(open: OpenMessage): Buffer {
  const l = layout(open);
  const total = HEADER_LENGTH + 10 + (l.extended ? 3 : 0) + l.paramsLen;
  if (total > MAX_MESSAGE_LENGTH) throw new RangeError(`OPEN would be ${total} bytes, over ${MAX_MESSAGE_LENGTH}`);
  const buf = Buffer.alloc(total);
  writeHeader(buf, 0, total, MessageType.OPEN);
  let p = HEADER_LENGTH;
  buf[p] = open.version;
  buf.writeUInt16BE(open.myAs & 0xffff, p + 1);
  buf.writeUInt16BE(open.holdTime & 0xffff, p + 3);
  buf.writeUInt32BE(open.bgpId >>> 0, p + 5);
  p += 9;
  if (l.extended) {
    buf[p++] = 255;
    buf[p++] = OptionalParameterType.EXTENDED_LENGTH;
    buf.writeUInt16BE(l.paramsLen, p);
    p += 2;
  } else {
    buf[p++] = l.paramsLen;
  }
  for (const g of l.groups) {
    const len = g.reduce((t, c) => t + capabilityEncodingLength(c), 0);
    buf[p++] = OptionalParameterType.CAPABILITIES;
    if (l.extended) {
      buf.writeUInt16BE(len, p);
      p += 2;
    } else {
      buf[p++] = len;
    }
    for (const c of g) p = encodeCapability(c, buf, p);
  }
  return buf;
}
