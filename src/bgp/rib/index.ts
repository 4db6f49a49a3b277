/**
 * The BGP speaker's RIB: Adj-RIBs-In, Loc-RIB and decision process, Adj-RIBs-Out with
 * update packing, and best-path changes for the FIB. Pure and synchronous.
 *
 * Use: peerUp() when a session is Established; receiveUpdate() per decoded UPDATE (or
 * receiveEndOfRib()); commit() once per batch (a socket read, say): it runs the decision
 * process and calls onFibChanges; then, while hasOutgoing(peer), write takeOutgoing(peer,
 * room) to its socket. peerDown() / receiveEndOfRib() / expireStale() / originate() /
 * withdrawOriginated() also take effect at the next commit().
 */
export { Rib, BadOriginationError } from './rib.js';
export { BadPrefixError, parsePrefix, formatPrefix } from './addresses.js';
export { FibChanges, type FibChange, type NextHopSet } from './fib.js';
export type { NextHopMode } from './export.js';
export type {
  RibPeerInfo,
  RibOptions,
  RouteView,
  RouteQuery,
  PeerStats,
  ReceiveResult,
  OriginateRoute,
  OriginName,
  RoutePolicy,
  PolicyInput,
  PolicyVerdict,
} from './types.js';
