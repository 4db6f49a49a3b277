/**
 * Decoded path attributes: one object per UPDATE, shared by every prefix of that UPDATE.
 * AS4_PATH / AS4_AGGREGATOR never appear here: towards and from 2-octet peers the codec
 * folds them into asPath / aggregator (RFC 6793 §4.2.3) and makes them up on encode.
 * MP_REACH_NLRI / MP_UNREACH_NLRI live on the UPDATE, not here, because their NLRI differ
 * per message while the rest of the attributes are what routes share.
 */
import type { AsPathSegmentType, Origin } from '../constants.js';
import type { NlriList } from '../nlri.js';

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  /** IPv4 address as uint32. */
  address: number;
}

export interface LargeCommunity {
  globalAdmin: number;
  localData1: number;
  localData2: number;
}

/** An attribute the codec does not interpret, passed on as received (flags include Partial). */
export interface RawAttribute {
  flags: number;
  type: number;
  value: Buffer;
}

export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  /** NEXT_HOP attribute (IPv4, uint32). IPv6 next hops are in MP_REACH_NLRI. */
  nextHop?: number;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997 communities, each a uint32 (AS << 16 | value). */
  communities?: number[];
  originatorId?: number;
  clusterList?: number[];
  /** RFC 4360 extended communities, kept as their 8-byte entries. */
  extendedCommunities?: Buffer;
  largeCommunities?: LargeCommunity[];
  /** Unrecognised optional transitive attributes, Partial bit set, in the order received. */
  unknown?: RawAttribute[];
}

export interface MpReach {
  afi: number;
  safi: number;
  /**
   * Next hop bytes as received: 4 (IPv4), 16 (IPv6 global, or IPv6 for IPv4 NLRI under
   * RFC 8950), or 32 (global followed by link-local).
   */
  nextHop: Buffer;
  /** Decoded NLRI for IPv4/IPv6 unicast and multicast; null for other families. */
  nlri: NlriList | null;
  /** The NLRI bytes as received (for families the codec does not decode). */
  nlriBytes: Buffer;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  nlri: NlriList | null;
  nlriBytes: Buffer;
}
