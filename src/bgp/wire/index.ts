/**
 * The BGP-4 wire codec: pure functions from Buffer to values and back. No I/O, no timers,
 * no logging; errors are values carrying their RFC 7606 action.
 *
 * Receive path: MessageFramer.push(chunk) / next() -> decodeMessage(msg, wireFormat).
 * Send path: encodeOpen / encodeKeepalive / encodeNotification / encodeRouteRefresh;
 * UPDATEs via encodeAttributes (once per attribute set) + packAnnouncements / packWithdrawals.
 * After the OPEN exchange: negotiateWireFormat(ourOpen, peerOpen), and
 * framer.setMaxLength(wireFormat.maxReceiveLength).
 */
export * from './constants.js';
export * from './errors.js';
export * from '../../common/ip.js';
export * from './family.js';
export * from './header.js';
export * from './capabilities.js';
export * from './open.js';
export * from './session-format.js';
export * from './nlri.js';
export * from './attributes/types.js';
export { decodeAttributes, isMandatoryWellKnown, type AttributeSection } from './attributes/decode.js';
export { encodeAttributes, attributesEncodingLength } from './attributes/encode.js';
export { decodeAsPath, encodeAsPath, asPathLength, asPathEncodingLength, mergeAs4Path } from './attributes/as-path.js';
export * from './update.js';
export * from './pack.js';
export * from './notification.js';
export * from './notification-text.js';
export * from './route-refresh.js';
export * from './message.js';
