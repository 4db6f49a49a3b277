/**
 * What a route looks like when it leaves towards one peer (RFC 4271 §5.1, RFC 4456 §8,
 * RFC 7947 §2), and the interned, pre-encoded result. Encoded attribute sets are shared by
 * every prefix (and every peer of the same kind) that sends them, so 1M routes with one
 * attribute set are encoded once.
 */
import { Afi, AsPathSegmentType } from '../wire/constants.js';
import { IPV4_UNICAST } from '../wire/family.js';
import type { AsPathSegment, PathAttributes } from '../wire/attributes/types.js';
import { encodeAttributes } from '../wire/attributes/encode.js';
import type { SessionWireFormat } from '../wire/session-format.js';
import { addressBytes, nextHopText } from './addresses.js';
import { DEFAULT_LOCAL_PREF } from './attr-store.js';

export type NextHopMode = 'auto' | 'self' | 'keep';

/** The facts about a receiving peer that shape what it is sent. */
export interface ExportTarget {
  readonly ebgp: boolean;
  readonly routeServerClient: boolean;
  readonly routeReflectorClient: boolean;
  readonly nextHopMode: NextHopMode;
  /** Our next hop towards this peer for IPv4 routes (4 bytes) and IPv6 routes (16 bytes). */
  readonly selfV4: Buffer | null;
  readonly selfV6: Buffer | null;
  readonly wire: SessionWireFormat;
}

/** Where the route came from, as far as the export rules care. */
export interface ExportSource {
  readonly local: boolean;
  readonly ebgp: boolean;
  readonly routeReflectorClient: boolean;
  readonly routerId: number;
}

export interface ExportContext {
  readonly localAsn: number;
  readonly clusterId: number;
}

/** What a policy asked for beyond plain attributes. */
export interface ExportOverrides {
  /** 'self' or an address text, from the policy's next-hop marker. */
  readonly nextHop?: string;
  /** The export policy set MED itself: keep it even towards eBGP. */
  readonly medSet?: boolean;
}

/**
 * RFC 4271 §9.2 and RFC 4456 §6: may a route learned from `source` be offered to `target`
 * at all? Never back to its own peer (RFC 7947 §2.2 agrees for route servers); iBGP routes
 * to iBGP peers only by reflection: from a client to everyone, from a non-client to clients.
 */
export function mayAdvertise(source: ExportSource, sourceIndex: number, target: ExportTarget, targetIndex: number): boolean {
  if (sourceIndex === targetIndex) return false;
  if (source.local || source.ebgp || target.ebgp) return true;
  return source.routeReflectorClient || target.routeReflectorClient;
}

/** Prepend our AS (RFC 4271 §5.1.2); confederation segments do not leave (RFC 5065 §5.1.1). */
export function prependAs(path: readonly AsPathSegment[] | undefined, asn: number): AsPathSegment[] {
  const segs = (path ?? []).filter((s) => s.type === AsPathSegmentType.AS_SEQUENCE || s.type === AsPathSegmentType.AS_SET);
  const first = segs[0];
  if (first !== undefined && first.type === AsPathSegmentType.AS_SEQUENCE && first.asns.length < 255) {
    return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn, ...first.asns] }, ...segs.slice(1)];
  }
  return [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] }, ...segs];
}

export interface Outgoing {
  attrs: PathAttributes;
  /** MP_REACH next hop (16 bytes), or null for IPv4 sent the RFC 4271 way (NEXT_HOP inside attrs). */
  mpNextHop: Buffer | null;
  nextHopText: string;
}

/**
 * The attributes and next hop `target` gets for a route, or null when it must not get it
 * because no usable next hop exists (an IPv6 route towards a peer we have no IPv6 address
 * for, an IPv6 next hop towards a peer without RFC 8950...).
 */
export function outgoingAttributes(
  afi: number,
  attrs: PathAttributes,
  nextHop: Buffer | null,
  source: ExportSource,
  target: ExportTarget,
  ctx: ExportContext,
  overrides: ExportOverrides,
): Outgoing | null {
  const self = afi === Afi.IPV6 ? target.selfV6 : (target.selfV4 ?? (target.wire.extendedNextHop.has(IPV4_UNICAST) ? target.selfV6 : null));
  let nh: Buffer | null;
  if (overrides.nextHop !== undefined) nh = overrides.nextHop === 'self' ? self : addressBytes(overrides.nextHop);
  else if (target.routeServerClient || target.nextHopMode === 'keep') nh = nextHop ?? self;
  else if (target.nextHopMode === 'self' || target.ebgp) nh = self;
  else nh = nextHop ?? self;
  if (nh === null) return null;

  let mpNextHop: Buffer | null = null;
  if (afi === Afi.IPV6) {
    if (nh.length < 16) return null;
    // A link-local next hop is only good on the link it was learned on: send the global one.
    mpNextHop = nh.length === 16 ? nh : nh.subarray(0, 16);
  } else if (nh.length !== 4) {
    if (!target.wire.extendedNextHop.has(IPV4_UNICAST)) return null;
    mpNextHop = nh.length === 16 ? nh : nh.subarray(0, 16);
  }

  const out: PathAttributes = { ...attrs };
  delete out.nextHop;
  if (target.ebgp) {
    delete out.localPref;
    delete out.originatorId;
    delete out.clusterList;
    if (!target.routeServerClient) out.asPath = prependAs(attrs.asPath, ctx.localAsn);
    // RFC 4271 §5.1.4: a MED learned from one AS is not passed to another.
    if (!(source.local || target.routeServerClient || overrides.medSet === true)) delete out.med;
  } else {
    out.localPref = attrs.localPref ?? DEFAULT_LOCAL_PREF;
    if (!source.local && !source.ebgp) {
      // RFC 4456 §8: reflecting.
      out.originatorId = attrs.originatorId ?? source.routerId;
      out.clusterList = [ctx.clusterId, ...(attrs.clusterList ?? [])];
    } else {
      delete out.originatorId;
      delete out.clusterList;
    }
  }
  if (mpNextHop === null) out.nextHop = nh.readUInt32BE(0);
  return { attrs: out, mpNextHop, nextHopText: nextHopText(mpNextHop ?? nh) };
}

export interface OutEntry {
  readonly id: number;
  readonly key: string;
  refs: number;
  /** encodeAttributes() output for the receiving session: no MP attributes. */
  readonly bytes: Buffer;
  readonly mpNextHop: Buffer | null;
  readonly nextHopText: string;
}

/**
 * Encoded outgoing attribute sets, interned by content so that equal ids mean equal bytes:
 * the Adj-RIB-Out compares ids to know whether a prefix needs sending again.
 */
export class OutStore {
  private readonly byKey = new Map<string, number>();
  private readonly entries: (OutEntry | undefined)[] = [];
  private readonly freeIds: number[] = [];

  get size(): number {
    return this.byKey.size;
  }

  get(id: number): OutEntry {
    return this.entries[id] as OutEntry;
  }

  /** Encode and intern; returns the id with one reference taken for the caller. */
  intern(o: Outgoing, wire: SessionWireFormat): number {
    const bytes = encodeAttributes(o.attrs, wire);
    const key = o.mpNextHop === null ? bytes.toString('latin1') : `${bytes.toString('latin1')}\u0100${o.mpNextHop.toString('latin1')}`;
    const found = this.byKey.get(key);
    if (found !== undefined) {
      (this.entries[found] as OutEntry).refs++;
      return found;
    }
    const id = this.freeIds.pop() ?? this.entries.length;
    this.entries[id] = { id, key, refs: 1, bytes, mpNextHop: o.mpNextHop, nextHopText: o.nextHopText };
    this.byKey.set(key, id);
    return id;
  }

  retain(id: number): void {
    (this.entries[id] as OutEntry).refs++;
  }

  release(id: number): void {
    const e = this.entries[id] as OutEntry;
    if (--e.refs > 0) return;
    this.byKey.delete(e.key);
    this.entries[id] = undefined;
    this.freeIds.push(id);
  }
}
