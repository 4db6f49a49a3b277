/**
 * Message framing (RFC 4271 §4.1, §6.1): find complete messages in a byte stream and check
 * their headers. Header errors come back as WireProblems with the NOTIFICATION the RFC asks
 * for; after one, the stream cannot be resynchronised and the session must be reset.
 */
import {
  HEADER_LENGTH,
  KEEPALIVE_LENGTH,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MIN_NOTIFICATION_LENGTH,
  MIN_OPEN_LENGTH,
  MIN_UPDATE_LENGTH,
  MessageType,
  ErrorCode,
  HeaderSubcode,
} from './constants.js';
import { problem, u16Data, u8Data, type WireProblem } from './errors.js';

export type ScanResult =
  | { kind: 'incomplete' }
  | { kind: 'message'; type: number; length: number }
  | { kind: 'error'; problem: WireProblem };

const INCOMPLETE: ScanResult = Object.freeze({ kind: 'incomplete' });

/**
 * Look at the bytes buf[offset, end) and say whether a whole message starts at offset.
 * `maxLength` is the receive limit: 4096, or 65535 when we advertised the extended message
 * capability and the peer did too (RFC 8654). OPEN and KEEPALIVE stay within 4096 regardless.
 */
export function scanMessage(buf: Buffer, offset: number, end: number, maxLength: number): ScanResult {
  const available = end - offset;
  // The marker is checked as soon as its bytes arrive, so garbage is reported early.
  const markerBytes = available < MARKER_LENGTH ? available : MARKER_LENGTH;
  for (let i = 0; i < markerBytes; i++) {
    if (buf[offset + i] !== 0xff) {
      return {
        kind: 'error',
        problem: problem(
          'session-reset',
          ErrorCode.MESSAGE_HEADER,
          HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED,
          `message header: marker byte ${i} is 0x${(buf[offset + i] ?? 0).toString(16)}, not 0xff`,
        ),
      };
    }
  }
  if (available < HEADER_LENGTH) return INCOMPLETE;
  const length = buf.readUInt16BE(offset + 16);
  const type = buf[offset + 18] as number;
  const lengthError = checkLength(type, length, maxLength);
  if (lengthError !== null) return { kind: 'error', problem: lengthError };
  if (available < length) return INCOMPLETE;
  return { kind: 'message', type, length };
}

function checkLength(type: number, length: number, maxLength: number): WireProblem | null {
  let min: number;
  let max = maxLength;
  switch (type) {
    case MessageType.OPEN:
      min = MIN_OPEN_LENGTH;
      max = MAX_MESSAGE_LENGTH; // RFC 8654 §4: OPEN is never extended.
      break;
    case MessageType.UPDATE:
      min = MIN_UPDATE_LENGTH;
      break;
    case MessageType.NOTIFICATION:
      min = MIN_NOTIFICATION_LENGTH;
      break;
    case MessageType.KEEPALIVE:
      min = KEEPALIVE_LENGTH;
      max = KEEPALIVE_LENGTH;
      break;
    case MessageType.ROUTE_REFRESH:
      // RFC 7313 §5 gives a wrong ROUTE-REFRESH length its own error (7/1), reported by
      // the ROUTE-REFRESH decoder, so the header only enforces the generic bounds.
      min = HEADER_LENGTH;
      break;
    default:
      return problem(
        'session-reset',
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_TYPE,
        `message header: unknown message type ${type}`,
        u8Data(type),
      );
  }
  if (length < min || length > max || length < HEADER_LENGTH) {
    return problem(
      'session-reset',
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      `message header: length ${length} is outside ${min}..${max} for message type ${type}`,
      u16Data(length),
    );
  }
  return null;
}

/** Write the 19-byte header at offset. */
export function writeHeader(buf: Buffer, offset: number, length: number, type: number): void {
  buf.fill(0xff, offset, offset + MARKER_LENGTH);
  buf.writeUInt16BE(length, offset + 16);
  buf[offset + 18] = type;
}

const KEEPALIVE = (() => {
  const b = Buffer.alloc(KEEPALIVE_LENGTH);
  writeHeader(b, 0, KEEPALIVE_LENGTH, MessageType.KEEPALIVE);
  return b;
})();

/** A KEEPALIVE message (a fresh copy each time, so callers may own it). */
export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE);
}

export type FramerOutput =
  | { kind: 'message'; type: number; message: Buffer }
  | { kind: 'error'; problem: WireProblem };

/**
 * Accumulates received chunks and hands out whole messages as Buffer views (header
 * included). Views share memory with the chunks given to push(); Node's socket chunks are
 * not reused, so keeping a view is safe. After an error it yields that error forever.
 */
export class MessageFramer {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private failed: WireProblem | null = null;

  /** maxLength: the receive limit; raise it with setMaxLength once RFC 8654 is negotiated. */
  constructor(private maxLength: number = MAX_MESSAGE_LENGTH) {}

  setMaxLength(maxLength: number): void {
    this.maxLength = maxLength;
  }

  /** Bytes received but not yet returned as a message. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      // Only the unconsumed tail (less than one message) is copied.
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /** The next complete message, an error, or null when more bytes are needed. */
  next(): FramerOutput | null {
    if (this.failed !== null) return { kind: 'error', problem: this.failed };
    const r = scanMessage(this.buf, this.pos, this.buf.length, this.maxLength);
    if (r.kind === 'incomplete') return null;
    if (r.kind === 'error') {
      this.failed = r.problem;
      return r;
    }
    const message = this.buf.subarray(this.pos, this.pos + r.length);
    this.pos += r.length;
    return { kind: 'message', type: r.type, message };
  }
}
