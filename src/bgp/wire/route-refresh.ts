/**
 * ROUTE-REFRESH message (RFC 2918) with the RFC 7313 subtypes: 0 normal request, 1 BoRR,
 * 2 EoRR. Other subtypes are decoded and left for the caller to ignore (RFC 7313 §4).
 */
import { ErrorCode, HEADER_LENGTH, MessageType, ROUTE_REFRESH_LENGTH, RouteRefreshSubcode } from './constants.js';
import { fail, ok, problem, type Decoded } from './errors.js';
import { writeHeader } from './header.js';

export interface RouteRefreshMessage {
  afi: number;
  safi: number;
  /** RFC 7313 message subtype (the RFC 2918 Reserved octet). */
  subtype: number;
}

/** Decode a whole ROUTE-REFRESH. RFC 7313 §5: a wrong length is 7/1 with the message as data. */
export function decodeRouteRefresh(msg: Buffer): Decoded<RouteRefreshMessage> {
  if (msg.length !== ROUTE_REFRESH_LENGTH) {
    return fail(
      problem(
        'session-reset',
        ErrorCode.ROUTE_REFRESH,
        RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
        `ROUTE-REFRESH: length ${msg.length}, expected ${ROUTE_REFRESH_LENGTH}`,
        Buffer.from(msg),
      ),
    );
  }
  return ok({
    afi: msg.readUInt16BE(HEADER_LENGTH),
    subtype: msg[HEADER_LENGTH + 2] as number,
    safi: msg[HEADER_LENGTH + 3] as number,
  });
}

export function encodeRouteRefresh(r: RouteRefreshMessage): Buffer {
  const buf = Buffer.alloc(ROUTE_REFRESH_LENGTH);
  writeHeader(buf, 0, ROUTE_REFRESH_LENGTH, MessageType.ROUTE_REFRESH);
  buf.writeUInt16BE(r.afi, HEADER_LENGTH);
  buf[HEADER_LENGTH + 2] = r.subtype;
  buf[HEADER_LENGTH + 3] = r.safi;
  return buf;
}
