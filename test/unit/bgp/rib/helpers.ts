/**
 * Test helpers: peers with defaults, UPDATEs built and decoded with the real codec, and a
 * receiver that applies what a peer was sent, so tests see what went over the wire.
 */
import {
  Afi,
  decodeUpdate,
  encodeUpdate,
  endOfRibFamily,
  familyName,
  ipv4FromString,
  ipv4ToString,
  ipv6FromString,
  IPV4_UNICAST,
  IPV6_UNICAST,
  nlriFromStrings,
  nlriToStrings,
  Origin,
  PLAIN_WIRE_FORMAT,
  wireFormat,
  type FamilyKey,
  type PathAttributes,
  type SessionWireFormat,
  type UpdateMessage,
  type WireAction,
} from '../../../../src/bgp/wire/index.js';
import { Rib, type FibChange, type RibOptions, type RibPeerInfo } from '../../../../src/bgp/rib/index.js';
import { nextHopText } from '../../../../src/bgp/rib/addresses.js';
import { ACCEPT_ALL_POLICY } from './policies.js';

export const LOCAL_ASN = 65000;
export const AS4 = wireFormat({ as4: true });

export function peer(address: string, over: Partial<RibPeerInfo> = {}): RibPeerInfo {
  const peerAsn = over.peerAsn ?? 65001;
  return {
    id: address,
    address,
    localAddress: address.includes(':') ? '2001:db8::ff' : '192.0.2.254',
    localAsn: LOCAL_ASN,
    peerAsn,
    ibgp: peerAsn === LOCAL_ASN,
    routerId: ipv4FromString(address.includes(':') ? '9.9.9.9' : address) ?? 1,
    routeReflectorClient: false,
    routeServerClient: false,
    nextHopMode: 'auto',
    wire: AS4,
    families: [IPV4_UNICAST, IPV6_UNICAST],
    importPolicy: ACCEPT_ALL_POLICY,
    exportPolicy: ACCEPT_ALL_POLICY,
    ...over,
  };
}

export interface TestRib {
  rib: Rib;
  fib: FibChange[][];
  clock: { ms: number };
}

export function makeRib(over: Partial<RibOptions> = {}): TestRib {
  const fib: FibChange[][] = [];
  const clock = { ms: 1_000_000 };
  const rib = new Rib({
    localAsn: LOCAL_ASN,
    routerId: ipv4FromString('192.0.2.254') as number,
    now: () => clock.ms,
    onFibChanges: (c) => fib.push(c.toArray()),
    ...over,
  });
  return { rib, fib, clock };
}

export interface Announce {
  prefixes?: string[];
  v6?: string[];
  withdraw?: string[];
  withdraw6?: string[];
  attrs?: PathAttributes;
  nextHop?: string;
  nextHop6?: string;
  pathIds?: boolean;
}

/** Attributes an eBGP peer in `asn` would send. */
export function ebgpAttrs(asn: number, extra: PathAttributes = {}): PathAttributes {
  return { origin: Origin.IGP, asPath: [{ type: 2, asns: [asn] }], ...extra };
}

/** Build an UPDATE the way a peer would send it, and decode it the way the session would. */
export function update(a: Announce, wire: SessionWireFormat = AS4): { update: UpdateMessage; action: WireAction | null } {
  const attrs: PathAttributes = { ...(a.attrs ?? { origin: Origin.IGP, asPath: [] }) };
  if (a.prefixes && a.prefixes.length > 0) attrs.nextHop = ipv4FromString(a.nextHop ?? '192.0.2.1') as number;
  const msg = encodeUpdate(
    {
      withdrawn: nlriFromStrings(Afi.IPV4, a.withdraw ?? []),
      announced: nlriFromStrings(Afi.IPV4, a.prefixes ?? []),
      attributes: a.prefixes?.length || a.v6?.length ? attrs : {},
      ...(a.v6?.length ? { mpReach: { afi: Afi.IPV6, safi: 1, nextHop: ipv6FromString(a.nextHop6 ?? '2001:db8::1')!, nlri: nlriFromStrings(Afi.IPV6, a.v6) } } : {}),
      ...(a.withdraw6?.length ? { mpUnreach: { afi: Afi.IPV6, safi: 1, nlri: nlriFromStrings(Afi.IPV6, a.withdraw6) } } : {}),
    },
    wire,
  );
  const r = decodeUpdate(msg, wire);
  if (r.update === null) throw new Error(`test UPDATE does not decode: ${r.problems.map((p) => p.reason).join('; ')}`);
  return { update: r.update, action: r.action };
}

export function send(rib: Rib, from: string, a: Announce, wire: SessionWireFormat = AS4): { maxPrefixesExceeded: boolean } {
  const u = update(a, wire);
  return rib.receiveUpdate(from, u.update, u.action);
}

export interface Received {
  attrs: PathAttributes;
  nextHop: string;
  pathId?: number;
}

/**
 * A peer's view: applies decoded UPDATEs (prefix[#pathId] -> attributes), counting
 * messages and End-of-RIB markers.
 */
export class Receiver {
  routes = new Map<string, Received>();
  messages = 0;
  eor: string[] = [];
  updates: UpdateMessage[] = [];
  constructor(readonly wire: SessionWireFormat = AS4) {}

  apply(msgs: Buffer[]): this {
    for (const m of msgs) {
      this.messages++;
      const r = decodeUpdate(m, this.wire);
      if (r.update === null || r.problems.length > 0) throw new Error(`bad UPDATE from the RIB: ${r.problems.map((p) => p.reason).join('; ')}`);
      const u = r.update;
      this.updates.push(u);
      const eor = endOfRibFamily(u);
      if (eor !== null) {
        this.eor.push(familyName(eor));
        continue;
      }
      for (const p of nlriToStrings(u.withdrawn)) this.routes.delete(p);
      if (u.mpUnreach?.nlri) for (const p of nlriToStrings(u.mpUnreach.nlri)) this.routes.delete(p);
      const { nextHop: nh, ...rest } = u.attributes;
      for (const p of nlriToStrings(u.announced)) this.routes.set(p, { attrs: rest, nextHop: ipv4ToString(nh as number) });
      if (u.mpReach?.nlri) for (const p of nlriToStrings(u.mpReach.nlri)) this.routes.set(p, { attrs: rest, nextHop: nextHopText(u.mpReach.nextHop) });
    }
    return this;
  }

  /** Take everything queued for `id` from the RIB and apply it. */
  drain(rib: Rib, id: string, maxBytes = 1 << 20): this {
    for (let i = 0; i < 10_000 && rib.hasOutgoing(id); i++) this.apply(rib.takeOutgoing(id, maxBytes));
    if (rib.hasOutgoing(id)) throw new Error('takeOutgoing makes no progress');
    return this;
  }
}

export { IPV4_UNICAST, IPV6_UNICAST, PLAIN_WIRE_FORMAT, type FamilyKey };
