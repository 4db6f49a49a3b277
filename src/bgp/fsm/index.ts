/**
 * The BGP finite state machine, OPEN negotiation, collision detection and NOTIFICATION names.
 *
 * How a session layer drives it (one FsmState per peer connection attempt):
 *   let fsm = createFsm(config, now());
 *   ({ state: fsm, actions } = step(fsm, { type: 'ManualStart' }, now()));
 *   then carry out `actions` in order:
 *     send            encode and write OPEN (built from config.open) / KEEPALIVE / NOTIFICATION
 *     connect         connectBgp(...) -> Tcp_CR_Acked, or TcpConnectionFails
 *     drop-connection close the socket (after flushing a NOTIFICATION just sent)
 *     start-timer     (re)arm a timer; on expiry feed `${timer}Timer_Expires` (stale ones are ignored)
 *     stop-timer      clear it
 *     established     keep `negotiated` and pass it to the codec and the RIB
 *     session-down    the RIB drops (or, with graceful restart, marks stale) the peer's routes
 *   Feed decoded messages as BGPOpen / KeepAliveMsg / UpdateMsg / NotifMsg, codec errors as
 *   BGPHeaderErr / BGPOpenMsgErr / UpdateMsgErr (only RFC 7606 "session reset" ones), a
 *   NOTIFICATION with code 2 subcode 1 as NotifMsgVerErr, `SendBuffer` whenever the socket's
 *   write buffer fills, drains some or empties, and `UpdateSent` after writing an UPDATE.
 *   Run resolveCollision() when an OPEN arrives while another connection to the same peer
 *   exists, and feed OpenCollisionDump to the losing connection's machine.
 */
export * from './machine.js';
export * from './open.js';
export * from './collision.js';
export * from './notification.js';
