/**
 * Match conditions on the route and its peer, each built once from checked values. Strings
 * from the caller (peer address, next hop text) are parsed through small caches, so a
 * steady stream of routes does no string work after the first route from each peer.
 */
import { Afi } from '../wire/constants.js';
import type { Origin } from '../wire/constants.js';
import { policyNextHop, NEXT_HOP_SELF } from './next-hop.js';
import { formatAddress, parseAddress, rangeCovers, rangeCoversV4, rangeMatches, type Address, type PrefixRange } from './prefix.js';
import type { Predicate } from './types.js';

/** A cache of parsed strings that forgets everything when it grows past `limit`. */
class TextCache<T> {
  private readonly map = new Map<string, T>();
  constructor(
    private readonly parse: (text: string) => T,
    private readonly limit = 4096,
  ) {}

  get(text: string): T {
    let v = this.map.get(text);
    if (v === undefined && !this.map.has(text)) {
      if (this.map.size >= this.limit) this.map.clear();
      v = this.parse(text);
      this.map.set(text, v);
    }
    return v as T;
  }
}

const addresses = new TextCache<Address | null>(parseAddress);
const canonical = new TextCache<string | null>((t) => {
  const a = parseAddress(t);
  return a === null ? null : formatAddress(a);
});

/** The route is inside any of the ranges, with a length the range allows. */
export function prefixIn(ranges: readonly PrefixRange[]): Predicate {
  const list = ranges.slice();
  return (input) => {
    for (let i = 0; i < list.length; i++) if (rangeMatches(list[i]!, input.afi, input.addr, input.length)) return true;
    return false;
  };
}

/** The route's prefix length is within min..max, whatever the prefix. */
export function lengthIn(min: number, max: number): Predicate {
  return (input) => input.length >= min && input.length <= max;
}

export function familyIs(afi: number): Predicate {
  return (input) => input.afi === afi;
}

/** The peer's address is one of `canonicalAddresses` (compared in canonical text form). */
export function peerIn(canonicalAddresses: ReadonlySet<string>): Predicate {
  return (input) => {
    const a = input.peer.address;
    if (canonicalAddresses.has(a)) return true;
    const c = canonical.get(a);
    return c !== null && c !== a && canonicalAddresses.has(c);
  };
}

export function peerIbgp(ibgp: boolean): Predicate {
  return (input) => input.peer.ibgp === ibgp;
}

export function peerAsnIn(asns: ReadonlySet<number>): Predicate {
  return (input) => asns.has(input.peer.asn);
}

export function originIn(origins: ReadonlySet<Origin>): Predicate {
  return (_input, attrs) => attrs.origin !== undefined && origins.has(attrs.origin);
}

/**
 * The next hop lies inside any of the ranges. Which next hop: one an earlier `next` rule
 * set (an address; `self` is unknown until the RIB resolves it, so it matches nothing), else
 * the caller's `nextHop` text, else the IPv4 NEXT_HOP attribute.
 */
export function nextHopIn(ranges: readonly PrefixRange[]): Predicate {
  const list = ranges.slice();
  const inside = (a: Address | null): boolean => {
    if (a === null) return false;
    for (let i = 0; i < list.length; i++) if (rangeCovers(list[i]!, a.afi, a.words)) return true;
    return false;
  };
  return (input, attrs) => {
    const set = policyNextHop(attrs);
    if (set !== undefined) return set !== NEXT_HOP_SELF && inside(addresses.get(set));
    if (input.nextHop !== null) return inside(addresses.get(input.nextHop));
    const v4 = attrs.nextHop;
    if (v4 === undefined || input.afi !== Afi.IPV4) return false;
    for (let i = 0; i < list.length; i++) if (rangeCoversV4(list[i]!, v4)) return true;
    return false;
  };
}

/** The route was learned from a BGP peer, not originated here (Calico's source: RemotePeers). */
export function learnedFromPeer(): Predicate {
  return (input) => input.originated !== true;
}

/** The route's outgoing interface matches the regular expression; routes without one never. */
export function interfaceMatches(re: RegExp): Predicate {
  return (input) => input.interface !== undefined && re.test(input.interface);
}
