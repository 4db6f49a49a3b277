/**
 * The RIB's public shapes: what the speaker tells it about a peer, its options, and what it
 * shows the control API.
 */
import type { FamilyKey } from '../wire/family.js';
import type { SessionWireFormat } from '../wire/session-format.js';
import type { RoutePolicy } from '../policy/index.js';
import type { NextHopMode } from './export.js';
import type { FibChanges } from './fib.js';

export type { RoutePolicy, PolicyInput, PolicyVerdict } from '../policy/index.js';

export interface RibPeerInfo {
  /** The peer's address as text; the unique key. */
  id: string;
  /** Peer IP (v4 or v6 text). */
  address: string;
  /** Our address on this session: the next hop when we set next-hop-self. */
  localAddress: string;
  /**
   * Next hops to use for "self" in the family that localAddress is not (an IPv6 route over
   * an IPv4 session, say). Without one, such routes are not sent with next-hop-self.
   */
  selfNextHops?: { ipv4?: string; ipv6?: string };
  localAsn: number;
  peerAsn: number;
  /** peerAsn === localAsn. */
  ibgp: boolean;
  /** The peer's BGP identifier, uint32. */
  routerId: number;
  /** We are its route reflector. */
  routeReflectorClient: boolean;
  /** RFC 7947 transparent route server: our AS is not prepended, next hop and MED kept. */
  routeServerClient: boolean;
  /** Calico's nextHopMode. */
  nextHopMode: NextHopMode;
  /** From the codec's negotiateWireFormat(). */
  wire: SessionWireFormat;
  /** Families negotiated with this peer. */
  families: FamilyKey[];
  importPolicy: RoutePolicy;
  exportPolicy: RoutePolicy;
  maxPrefixes?: number;
  /** Times our own AS may appear in a received AS_PATH (Calico's numAllowedLocalASNumbers). */
  numAllowedLocalAs?: number;
}

export interface RibOptions {
  localAsn: number;
  /** Ours, uint32. */
  routerId: number;
  /** Route reflector cluster id (default routerId). */
  clusterId?: number;
  /** ECMP paths reported to the FIB (default 1). */
  multipathMax?: number;
  alwaysCompareMed?: boolean;
  /** Injected clock, milliseconds. */
  now?: () => number;
  /**
   * Forwarding changes after each commit() that has any. The batch is reused afterwards.
   * Without it the RIB keeps no forwarding state at all (fibRoutes() is empty).
   */
  onFibChanges?: (changes: FibChanges) => void;
}

export type OriginName = 'IGP' | 'EGP' | 'incomplete';

export interface RouteView {
  prefix: string;
  /** 'ipv4-unicast' or 'ipv6-unicast'. */
  family: string;
  nextHop: string | null;
  /** "65001 65002 {65003,65004}". */
  asPath: string;
  origin: OriginName;
  localPref: number;
  med: number | null;
  /** "65000:100", and RFC 8092 large communities as "A:B:C". */
  communities: string[];
  /** The peer id it was learned from, or "local" for an originated route. */
  peer: string;
  best: boolean;
  /** One of the multipath set reported to the FIB. */
  ecmp: boolean;
  stale: boolean;
  /** Seconds since it was last announced. */
  ageSeconds: number;
  /** ADD-PATH path id given by the peer, when it sends them. */
  pathId?: number;
  originatorId?: string;
  clusterList?: string[];
}

export interface RouteQuery {
  prefix?: string;
  family?: FamilyKey;
  peer?: string;
  limit?: number;
}

export interface PeerStats {
  /** Prefix announcements received since the session came up (before import policy). */
  received: number;
  /** Paths from the peer now in the RIB after import policy (stale ones not counted). */
  accepted: number;
  /** Prefixes the peer has from us now. */
  advertised: number;
  /** Its paths kept as stale for graceful restart. */
  stale: number;
}

export interface ReceiveResult {
  maxPrefixesExceeded: boolean;
}

export interface OriginateRoute {
  prefix: string;
  nextHop?: string;
  communities?: number[];
  localPref?: number;
  med?: number;
}
