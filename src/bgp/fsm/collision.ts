/**
 * Connection collision detection (RFC 4271 §6.8, with RFC 6286 §2.3 for equal identifiers).
 *
 * When both speakers open a connection to each other at the same time, both end up with two
 * connections for one peer. Once the peer's BGP Identifier is known (its OPEN arrived on one
 * of them), both sides decide the same way which one survives; the other is closed with
 * Cease / Connection Collision Resolution. Pure: no I/O.
 */
import { CeaseSubcode, ErrorCode, notification, type Notification } from './notification.js';

/** Which connection: the one we initiated (outgoing) or the one the peer initiated (incoming). */
export type ConnectionSide = 'outgoing' | 'incoming';

export interface CollisionInput {
  localRouterId: number;
  peerRouterId: number;
  localAs: number;
  peerAs: number;
  /**
   * Set when one connection is already Established. Unless collisions are also detected in
   * Established (an RFC 4271 option, off by default as in most speakers), it always wins.
   */
  established?: ConnectionSide;
  collisionDetectEstablished?: boolean;
}

export interface CollisionVerdict {
  keep: ConnectionSide;
  close: ConnectionSide;
  /** Send this on the connection being closed (OpenCollisionDump). */
  notification: Notification;
}

export function resolveCollision(input: CollisionInput): CollisionVerdict {
  let keep: ConnectionSide;
  if (input.established && !input.collisionDetectEstablished) {
    keep = input.established;
  } else if (input.localRouterId !== input.peerRouterId) {
    // §6.8: the speaker with the higher identifier keeps the connection it initiated.
    keep = input.localRouterId > input.peerRouterId ? 'outgoing' : 'incoming';
  } else {
    // RFC 6286 §2.3: equal identifiers (only possible on eBGP): the larger AS keeps its own.
    keep = input.localAs > input.peerAs ? 'outgoing' : 'incoming';
  }
  return {
    keep,
    close: keep === 'outgoing' ? 'incoming' : 'outgoing',
    notification: notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution),
  };
}
