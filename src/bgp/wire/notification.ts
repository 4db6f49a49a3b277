/**
 * NOTIFICATION message (RFC 4271 §4.5) and the RFC 9003 shutdown message carried in the
 * data of Cease / Administrative Shutdown and Administrative Reset.
 */
import {
  CeaseSubcode,
  ErrorCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MIN_NOTIFICATION_LENGTH,
  MessageType,
} from './constants.js';
import { fail, ok, problem, u16Data, type Decoded, type WireProblem } from './errors.js';
import { writeHeader } from './header.js';

export interface NotificationMessage {
  code: number;
  subcode: number;
  data: Buffer;
}

/** Decode a whole NOTIFICATION (header included). The data is copied, so it may be kept. */
export function decodeNotification(msg: Buffer): Decoded<NotificationMessage> {
  if (msg.length < MIN_NOTIFICATION_LENGTH) {
    return fail(problem('session-reset', ErrorCode.MESSAGE_HEADER, 2, `NOTIFICATION: ${msg.length} bytes is too short`, u16Data(msg.length)));
  }
  return ok({
    code: msg[HEADER_LENGTH] as number,
    subcode: msg[HEADER_LENGTH + 1] as number,
    data: Buffer.from(msg.subarray(HEADER_LENGTH + 2)),
  });
}

/** Encode a NOTIFICATION; data longer than fits a 4096-byte message is cut short. */
export function encodeNotification(n: NotificationMessage): Buffer {
  const dataLen = Math.min(n.data.length, MAX_MESSAGE_LENGTH - MIN_NOTIFICATION_LENGTH);
  const total = MIN_NOTIFICATION_LENGTH + dataLen;
  const buf = Buffer.alloc(total);
  writeHeader(buf, 0, total, MessageType.NOTIFICATION);
  buf[HEADER_LENGTH] = n.code;
  buf[HEADER_LENGTH + 1] = n.subcode;
  n.data.copy(buf, MIN_NOTIFICATION_LENGTH, 0, dataLen);
  return buf;
}

/** The NOTIFICATION a decoding problem asks for. */
export function notificationFor(p: WireProblem): NotificationMessage {
  return { code: p.code, subcode: p.subcode, data: p.data };
}

/** RFC 9003 §2: at most 255 octets of UTF-8. */
export const MAX_SHUTDOWN_MESSAGE_BYTES = 255;

/** Cut UTF-8 text to at most `max` bytes without splitting a character. */
function utf8Prefix(text: string, max: number): Buffer {
  const b = Buffer.from(text, 'utf8');
  if (b.length <= max) return b;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/**
 * A Cease NOTIFICATION with a shutdown message (RFC 9003): subcode 2 (Administrative
 * Shutdown) or 4 (Administrative Reset). An empty message gives a zero length octet.
 */
export function ceaseWithMessage(subcode: number, message: string): NotificationMessage {
  const text = utf8Prefix(message, MAX_SHUTDOWN_MESSAGE_BYTES);
  const data = Buffer.alloc(1 + text.length);
  data[0] = text.length;
  text.copy(data, 1);
  return { code: ErrorCode.CEASE, subcode, data };
}

/**
 * The RFC 9003 shutdown message of a Cease 2/4 NOTIFICATION, or null when there is none or
 * its length octet is inconsistent. Invalid UTF-8 is replaced, never thrown.
 */
export function shutdownMessage(n: NotificationMessage): string | null {
  if (n.code !== ErrorCode.CEASE) return null;
  if (n.subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && n.subcode !== CeaseSubcode.ADMINISTRATIVE_RESET) return null;
  if (n.data.length < 1) return null;
  const len = n.data[0] as number;
  if (1 + len > n.data.length) return null;
  return n.data.toString('utf8', 1, 1 + len);
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

/** One line for logs and `tortie bgp peers`, e.g. "Cease/Administrative Shutdown: "maintenance"". */
export function describeNotification(n: NotificationMessage): string {
  const code = CODE_NAMES[n.code] ?? `code ${n.code}`;
  const sub = SUBCODE_NAMES[n.code]?.[n.subcode] ?? (n.subcode === 0 ? '' : `subcode ${n.subcode}`);
  const msg = shutdownMessage(n);
  const base = sub === '' ? code : `${code}/${sub}`;
  if (msg !== null && msg !== '') return `${base}: ${JSON.stringify(msg)}`;
  if (n.data.length > 0 && msg === null) return `${base} (data ${n.data.subarray(0, 32).toString('hex')}${n.data.length > 32 ? '…' : ''})`;
  return base;
}
