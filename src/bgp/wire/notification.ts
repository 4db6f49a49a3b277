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
import { decodeShutdownCommunication, encodeShutdownCommunication } from './notification-text.js';

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

/**
 * A Cease NOTIFICATION with a shutdown message (RFC 9003): subcode 2 (Administrative
 * Shutdown) or 4 (Administrative Reset). A long message is cut at a character boundary.
 */
export function ceaseWithMessage(subcode: number, message: string): NotificationMessage {
  return { code: ErrorCode.CEASE, subcode, data: Buffer.from(encodeShutdownCommunication(message)) };
}

/** The RFC 9003 shutdown message of a Cease 2/4 NOTIFICATION, or null when there is none or it is malformed. */
export function shutdownMessage(n: NotificationMessage): string | null {
  if (n.code !== ErrorCode.CEASE) return null;
  if (n.subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && n.subcode !== CeaseSubcode.ADMINISTRATIVE_RESET) return null;
  const comm = decodeShutdownCommunication(n.data);
  return comm !== undefined && 'text' in comm ? comm.text : null;
}
