/**
 * OPEN validation (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 5492) and capability negotiation.
 *
 * The types here are structural and minimal on purpose: the FSM does not depend on the wire
 * codec; the session glue adapts the codec's decoded OPEN to `PeerOpen`.
 * Pure: no I/O, no clock.
 */
import {
  ErrorCode,
  OpenSubcode,
  notification,
  uint16Data,
  uint32Data,
  type Notification,
} from './notification.js';
import { AS_TRANS, BGP_VERSION, CapabilityCode } from '../wire/constants.js';

// The numbers come from the codec's constants: one table for the whole speaker.
export { AS_TRANS, BGP_VERSION };

export interface AfiSafi {
  afi: number;
  safi: number;
}

export interface AddPathFamily extends AfiSafi {
  send: boolean;
  receive: boolean;
}

export interface ExtendedNextHopEntry extends AfiSafi {
  nextHopAfi: number;
}

export interface GracefulRestartFamily extends AfiSafi {
  forwardingPreserved: boolean;
}

export interface GracefulRestartInfo {
  /** The R bit: the sender has just restarted. */
  restarting: boolean;
  /** The N bit (RFC 8538): graceful restart also applies to NOTIFICATIONs. */
  notification: boolean;
  restartTimeSec: number;
  families: GracefulRestartFamily[];
}

/** One capability from an OPEN, in the simple form the FSM needs. Unknown ones are kept. */
export type OpenCapability =
  | ({ kind: 'multiprotocol' } & AfiSafi)
  | { kind: 'route-refresh' }
  | { kind: 'enhanced-route-refresh' }
  | { kind: 'as4'; asn: number }
  | ({ kind: 'graceful-restart' } & GracefulRestartInfo)
  | { kind: 'add-path'; families: AddPathFamily[] }
  | { kind: 'extended-message' }
  | { kind: 'extended-next-hop'; entries: ExtendedNextHopEntry[] }
  | { kind: 'unknown'; code: number };

export type CapabilityKind = OpenCapability['kind'];

const KIND_CODE: Record<Exclude<CapabilityKind, 'unknown'>, number> = {
  multiprotocol: CapabilityCode.MULTIPROTOCOL,
  'route-refresh': CapabilityCode.ROUTE_REFRESH,
  'enhanced-route-refresh': CapabilityCode.ENHANCED_ROUTE_REFRESH,
  as4: CapabilityCode.FOUR_OCTET_AS,
  'graceful-restart': CapabilityCode.GRACEFUL_RESTART,
  'add-path': CapabilityCode.ADD_PATH,
  'extended-message': CapabilityCode.EXTENDED_MESSAGE,
  'extended-next-hop': CapabilityCode.EXTENDED_NEXT_HOP,
};

/** What the FSM needs from a received OPEN. */
export interface PeerOpen {
  version: number;
  /**
   * The My Autonomous System field. When the peer sent the 4-octet AS capability its AS is
   * taken from there (this field then usually holds AS_TRANS); glue code may also put the
   * 4-octet AS here directly, both work.
   */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as an unsigned 32-bit number. */
  bgpId: number;
  capabilities: readonly OpenCapability[];
}

/** What we offer in our own OPEN; negotiation intersects it with the peer's. */
export interface LocalCapabilities {
  families: AfiSafi[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** We always speak 4-octet AS (RFC 6793) unless this is explicitly false. */
  as4?: boolean;
  addPath: AddPathFamily[];
  extendedMessage: boolean;
  extendedNextHop: ExtendedNextHopEntry[];
  gracefulRestart?: GracefulRestartInfo;
}

/** The local side of OPEN validation. */
export interface OpenPolicy {
  localAs: number;
  localRouterId: number;
  /** The AS configured for this peer; undefined accepts any (a dynamic or route-server peer). */
  peerAs?: number;
  /** Our configured hold time in seconds: 0, or >= 3. */
  holdTimeSec: number;
  /** Configured keepalive; default a third of the negotiated hold time. */
  keepaliveSec?: number;
  /** The lowest hold time we accept from a peer (besides 0); default 3. */
  minHoldTimeSec?: number;
  /** Refuse a peer that does not offer these (2/7). */
  requiredCapabilities?: Exclude<CapabilityKind, 'unknown'>[];
  capabilities: LocalCapabilities;
  supportedVersion?: number;
}

export interface NegotiatedSession {
  localAs: number;
  peerAs: number;
  localRouterId: number;
  peerRouterId: number;
  type: 'ibgp' | 'ebgp';
  /** 0 = no hold timer and no keepalives. */
  holdTimeSec: number;
  keepaliveSec: number;
  /** Both speak 4-octet AS: AS_PATH carries 4-octet AS numbers. */
  as4: boolean;
  /** Families both sides offered (IPv4 unicast implied when the peer offers none, RFC 4760). */
  families: AfiSafi[];
  /** Per family: whether we may send path IDs, and whether we receive them (RFC 7911). */
  addPath: AddPathFamily[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** RFC 8654: both offered, so messages up to 65535 octets. */
  extendedMessage: boolean;
  extendedNextHop: ExtendedNextHopEntry[];
  /** The peer's graceful-restart capability, limited to negotiated families. */
  peerGracefulRestart: GracefulRestartInfo | undefined;
  peerCapabilities: readonly OpenCapability[];
}

export type OpenVerdict = { ok: true; negotiated: NegotiatedSession } | { ok: false; notification: Notification; reason: string };

function fail(subcode: number, data: Uint8Array, reason: string): OpenVerdict {
  return { ok: false, notification: notification(ErrorCode.OpenMessage, subcode, data), reason };
}

/** The peer's AS: the 4-octet capability's when present (RFC 6793), else My Autonomous System. */
export function peerAsOf(open: PeerOpen): number {
  const as4 = open.capabilities.find((c) => c.kind === 'as4');
  return as4 ? as4.asn : open.myAs;
}

export function formatRouterId(id: number): string {
  return [24, 16, 8, 0].map((s) => (id >>> s) & 0xff).join('.');
}

export function parseRouterId(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new RangeError(`router ID "${text}" is not a dotted quad`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** RFC 4271: hold time 0, or at least 3 seconds. */
export function isValidHoldTime(sec: number): boolean {
  return Number.isInteger(sec) && sec >= 0 && sec <= 65535 && (sec === 0 || sec >= 3);
}

/** Keepalive for a negotiated hold time: a third of it, or the configured value if lower. */
export function keepaliveFor(holdTimeSec: number, configuredKeepaliveSec?: number): number {
  if (holdTimeSec === 0) return 0;
  const third = Math.max(1, Math.floor(holdTimeSec / 3));
  return configuredKeepaliveSec && configuredKeepaliveSec > 0 ? Math.min(configuredKeepaliveSec, third) : third;
}

const sameFamily = (a: AfiSafi, b: AfiSafi) => a.afi === b.afi && a.safi === b.safi;

/**
 * Checks a received OPEN against our policy and, when it is acceptable, works out the
 * session's negotiated facts. Error codes follow RFC 4271 §6.2 and the RFCs named inline.
 */
export function validateOpen(open: PeerOpen, policy: OpenPolicy): OpenVerdict {
  const supported = policy.supportedVersion ?? BGP_VERSION;
  if (open.version !== supported) {
    // The data is the largest version we support (RFC 4271 §6.2).
    return fail(OpenSubcode.UnsupportedVersionNumber, uint16Data(supported), `peer speaks BGP version ${open.version}, we speak ${supported}`);
  }

  const as4Cap = open.capabilities.find((c) => c.kind === 'as4');
  const peerAs = peerAsOf(open);
  if (as4Cap && (as4Cap.asn === 0 || as4Cap.asn === AS_TRANS)) {
    return fail(OpenSubcode.BadPeerAs, uint32Data(as4Cap.asn), `peer's 4-octet AS capability carries ${as4Cap.asn}`);
  }
  if (!as4Cap && open.myAs === 0) {
    return fail(OpenSubcode.BadPeerAs, uint16Data(0), 'peer said AS 0');
  }
  if (policy.peerAs !== undefined && peerAs !== policy.peerAs) {
    // Bad Peer AS data: the AS as the peer sent it, 2 octets from My AS or 4 from the capability.
    const data = as4Cap ? uint32Data(peerAs) : uint16Data(open.myAs);
    return fail(OpenSubcode.BadPeerAs, data, `peer said AS ${peerAs}, configured ${policy.peerAs}`);
  }

  const ibgp = peerAs === policy.localAs;
  // RFC 6286: any non-zero identifier; within an AS it must differ from ours.
  if (open.bgpId === 0) {
    return fail(OpenSubcode.BadBgpIdentifier, uint32Data(0), 'peer BGP identifier is 0.0.0.0');
  }
  if (ibgp && open.bgpId === policy.localRouterId) {
    return fail(OpenSubcode.BadBgpIdentifier, uint32Data(open.bgpId), `iBGP peer uses our own BGP identifier ${formatRouterId(open.bgpId)}`);
  }

  const minHold = Math.max(3, policy.minHoldTimeSec ?? 3);
  if (open.holdTime !== 0 && open.holdTime < minHold) {
    return fail(OpenSubcode.UnacceptableHoldTime, uint16Data(open.holdTime), `peer hold time ${open.holdTime} s is below ${minHold} s`);
  }

  const missing = (policy.requiredCapabilities ?? []).filter((kind) => !open.capabilities.some((c) => c.kind === kind));
  if (missing.length > 0) {
    // RFC 5492 §3: the data lists the capabilities we need, each as code + length 0.
    const data = Uint8Array.from(missing.flatMap((k) => [KIND_CODE[k], 0]));
    return fail(OpenSubcode.UnsupportedCapability, data, `peer does not offer ${missing.join(', ')}`);
  }

  return { ok: true, negotiated: negotiate(open, policy, peerAs, ibgp) };
}

function negotiate(open: PeerOpen, policy: OpenPolicy, peerAs: number, ibgp: boolean): NegotiatedSession {
  const local = policy.capabilities;
  const caps = open.capabilities;
  const holdTimeSec = Math.min(policy.holdTimeSec, open.holdTime);

  const peerFamilies: AfiSafi[] = caps.flatMap((c) => (c.kind === 'multiprotocol' ? [{ afi: c.afi, safi: c.safi }] : []));
  // RFC 4760 §8: a peer without the multiprotocol capability speaks IPv4 unicast only.
  const offeredByPeer = peerFamilies.length > 0 ? peerFamilies : [{ afi: 1, safi: 1 }];
  const families = local.families.filter((f) => offeredByPeer.some((p) => sameFamily(p, f)));

  const peerAddPath = caps.flatMap((c) => (c.kind === 'add-path' ? c.families : []));
  const addPath: AddPathFamily[] = [];
  for (const mine of local.addPath) {
    if (!families.some((f) => sameFamily(f, mine))) continue;
    const theirs = peerAddPath.find((p) => sameFamily(p, mine));
    if (!theirs) continue;
    const send = mine.send && theirs.receive;
    const receive = mine.receive && theirs.send;
    if (send || receive) addPath.push({ afi: mine.afi, safi: mine.safi, send, receive });
  }

  const peerEnh = caps.flatMap((c) => (c.kind === 'extended-next-hop' ? c.entries : []));
  const extendedNextHop = local.extendedNextHop.filter((e) =>
    peerEnh.some((p) => sameFamily(p, e) && p.nextHopAfi === e.nextHopAfi),
  );

  const gr = caps.find((c) => c.kind === 'graceful-restart');
  const peerGracefulRestart: GracefulRestartInfo | undefined = gr
    ? {
        restarting: gr.restarting,
        notification: gr.notification,
        restartTimeSec: gr.restartTimeSec,
        families: gr.families.filter((f) => families.some((n) => sameFamily(n, f))).map((f) => ({ ...f })),
      }
    : undefined;

  const has = (kind: CapabilityKind) => caps.some((c) => c.kind === kind);
  return {
    localAs: policy.localAs,
    peerAs,
    localRouterId: policy.localRouterId,
    peerRouterId: open.bgpId,
    type: ibgp ? 'ibgp' : 'ebgp',
    holdTimeSec,
    keepaliveSec: keepaliveFor(holdTimeSec, policy.keepaliveSec),
    as4: local.as4 !== false && has('as4'),
    families: families.map((f) => ({ afi: f.afi, safi: f.safi })),
    addPath,
    routeRefresh: local.routeRefresh && has('route-refresh'),
    enhancedRouteRefresh: local.enhancedRouteRefresh && has('enhanced-route-refresh'),
    extendedMessage: local.extendedMessage && has('extended-message'),
    extendedNextHop,
    peerGracefulRestart,
    peerCapabilities: caps,
  };
}
