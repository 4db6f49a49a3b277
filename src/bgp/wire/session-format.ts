/**
 * The negotiated facts of one session that change how UPDATEs are laid out on the wire.
 * Derived once from both OPENs and passed explicitly to every UPDATE decode/encode call.
 * Hold time, peer AS checks and the like are the FSM's business, not the codec's.
 */
import { Afi, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { AddPathDirection, type Capability } from './capabilities.js';
import { familyKey, IPV4_UNICAST, type FamilyKey } from './family.js';
import type { OpenMessage } from './open.js';

export interface SessionWireFormat {
  /** Both sides sent the 4-octet AS capability: AS_PATH/AGGREGATOR carry 4-octet ASNs. */
  as4: boolean;
  /** Largest message we accept: 65535 if we advertised extended message (RFC 8654), else 4096. */
  maxReceiveLength: number;
  /** Largest message we may send: 65535 if the peer advertised extended message, else 4096. */
  maxSendLength: number;
  /** Families whose NLRI from the peer carry a 4-octet path identifier (RFC 7911). */
  addPathReceive: ReadonlySet<FamilyKey>;
  /** Families whose NLRI we send with a path identifier. */
  addPathSend: ReadonlySet<FamilyKey>;
  /** NLRI families that may use an IPv6 next hop (RFC 8950), e.g. IPv4 unicast. */
  extendedNextHop: ReadonlySet<FamilyKey>;
}

/** Before OPENs are exchanged, and for tests: RFC 4271 plain. */
export const PLAIN_WIRE_FORMAT: SessionWireFormat = Object.freeze({
  as4: false,
  maxReceiveLength: MAX_MESSAGE_LENGTH,
  maxSendLength: MAX_MESSAGE_LENGTH,
  addPathReceive: new Set<FamilyKey>(),
  addPathSend: new Set<FamilyKey>(),
  extendedNextHop: new Set<FamilyKey>(),
});

function find<K extends Capability['kind']>(open: OpenMessage, kind: K): Extract<Capability, { kind: K }>[] {
  return open.capabilities.filter((c): c is Extract<Capability, { kind: K }> => c.kind === kind);
}

/** Per family, the OR of every ADD-PATH direction the OPEN announces. */
function addPathDirections(open: OpenMessage): Map<FamilyKey, number> {
  const m = new Map<FamilyKey, number>();
  for (const cap of find(open, 'add-path')) {
    for (const f of cap.families) {
      const k = familyKey(f.afi, f.safi);
      m.set(k, (m.get(k) ?? 0) | f.direction);
    }
  }
  return m;
}

function extendedNextHopTuples(open: OpenMessage): Set<string> {
  const s = new Set<string>();
  for (const cap of find(open, 'extended-next-hop')) {
    for (const e of cap.entries) s.add(`${e.afi}/${e.safi}/${e.nextHopAfi}`);
  }
  return s;
}

/** Derive the wire format from the OPEN we sent and the OPEN the peer sent. */
export function negotiateWireFormat(local: OpenMessage, peer: OpenMessage): SessionWireFormat {
  const as4 = find(local, 'four-octet-as').length > 0 && find(peer, 'four-octet-as').length > 0;
  const weSaid = find(local, 'extended-message').length > 0;
  const peerSaid = find(peer, 'extended-message').length > 0;
  const maxReceiveLength = weSaid ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  // RFC 8654 only needs the peer's capability before we send large messages, but FRR 8.4
  // resets the session (Bad Message Length) unless we advertised it too: FRR and GoBGP send
  // them only when both sides did, and so do we.
  const maxSendLength = weSaid && peerSaid ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;

  // RFC 7911 §4: we receive path ids for a family when we said "receive" and the peer said
  // "send"; we send them when we said "send" and the peer said "receive".
  const ours = addPathDirections(local);
  const theirs = addPathDirections(peer);
  const addPathReceive = new Set<FamilyKey>();
  const addPathSend = new Set<FamilyKey>();
  for (const [k, dir] of ours) {
    const other = theirs.get(k) ?? 0;
    if (dir & AddPathDirection.RECEIVE && other & AddPathDirection.SEND) addPathReceive.add(k);
    if (dir & AddPathDirection.SEND && other & AddPathDirection.RECEIVE) addPathSend.add(k);
  }

  // RFC 8950 §4: usable when both sides advertised the same <NLRI AFI, SAFI, next hop AFI>.
  const extendedNextHop = new Set<FamilyKey>();
  const peerTuples = extendedNextHopTuples(peer);
  for (const cap of find(local, 'extended-next-hop')) {
    for (const e of cap.entries) {
      if (e.nextHopAfi === Afi.IPV6 && peerTuples.has(`${e.afi}/${e.safi}/${e.nextHopAfi}`)) {
        extendedNextHop.add(familyKey(e.afi, e.safi));
      }
    }
  }
  return { as4, maxReceiveLength, maxSendLength, addPathReceive, addPathSend, extendedNextHop };
}

/**
 * Families both sides can exchange (RFC 4760 §8): the intersection of multiprotocol
 * capabilities, or IPv4 unicast alone when a side sent none.
 */
export function negotiatedFamilies(local: OpenMessage, peer: OpenMessage): Set<FamilyKey> {
  const mine = find(local, 'multiprotocol').map((c) => familyKey(c.afi, c.safi));
  const theirs = find(peer, 'multiprotocol').map((c) => familyKey(c.afi, c.safi));
  const a = mine.length > 0 ? mine : [IPV4_UNICAST];
  const b = new Set(theirs.length > 0 ? theirs : [IPV4_UNICAST]);
  return new Set(a.filter((k) => b.has(k)));
}

/** A wire format built by hand (tests, benchmarks, tools). */
export function wireFormat(overrides: Partial<SessionWireFormat>): SessionWireFormat {
  return { ...PLAIN_WIRE_FORMAT, ...overrides };
}
