/**
 * Between the codec's OPEN (wire form, every capability as received) and the FSM's view of
 * it (the facts validation and negotiation need). Our own OPEN is built once per peer from
 * the FSM's LocalCapabilities, so what we offer and what we negotiate cannot drift apart.
 */
import type { LocalCapabilities, OpenCapability, OpenPolicy, PeerOpen } from '../fsm/index.js';
import { AddPathDirection, myAsField, type Capability, type OpenMessage } from '../wire/index.js';

export function toPeerOpen(open: OpenMessage): PeerOpen {
  return {
    version: open.version,
    myAs: open.myAs,
    holdTime: open.holdTime,
    bgpId: open.bgpId,
    capabilities: open.capabilities.map(toFsmCapability),
  };
}

function toFsmCapability(c: Capability): OpenCapability {
  switch (c.kind) {
    case 'multiprotocol':
      return { kind: 'multiprotocol', afi: c.afi, safi: c.safi };
    case 'route-refresh':
      return { kind: 'route-refresh' };
    case 'enhanced-route-refresh':
      return { kind: 'enhanced-route-refresh' };
    case 'four-octet-as':
      return { kind: 'as4', asn: c.asn };
    case 'graceful-restart':
      return {
        kind: 'graceful-restart',
        restarting: c.restarting,
        notification: c.notification,
        restartTimeSec: c.restartTime,
        families: c.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingPreserved: f.forwardingState })),
      };
    case 'add-path':
      return {
        kind: 'add-path',
        families: c.families.map((f) => ({
          afi: f.afi,
          safi: f.safi,
          send: (f.direction & AddPathDirection.SEND) !== 0,
          receive: (f.direction & AddPathDirection.RECEIVE) !== 0,
        })),
      };
    case 'extended-message':
      return { kind: 'extended-message' };
    case 'extended-next-hop':
      return { kind: 'extended-next-hop', entries: c.entries.map((e) => ({ ...e })) };
    case 'fqdn':
    case 'unknown':
      return { kind: 'unknown', code: c.kind === 'fqdn' ? 73 : c.code };
  }
}

/** Our OPEN for a peer, from the policy the FSM validates the peer's OPEN against. */
export function buildLocalOpen(policy: OpenPolicy): OpenMessage {
  const caps: LocalCapabilities = policy.capabilities;
  const capabilities: Capability[] = [];
  for (const f of caps.families) capabilities.push({ kind: 'multiprotocol', afi: f.afi, safi: f.safi });
  if (caps.routeRefresh) capabilities.push({ kind: 'route-refresh', code: 2 });
  if (caps.enhancedRouteRefresh) capabilities.push({ kind: 'enhanced-route-refresh' });
  if (caps.as4 !== false) capabilities.push({ kind: 'four-octet-as', asn: policy.localAs });
  if (caps.gracefulRestart) {
    const gr = caps.gracefulRestart;
    capabilities.push({
      kind: 'graceful-restart',
      restarting: gr.restarting,
      notification: gr.notification,
      restartTime: gr.restartTimeSec,
      families: gr.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingState: f.forwardingPreserved })),
    });
  }
  if (caps.addPath.length > 0) {
    capabilities.push({
      kind: 'add-path',
      families: caps.addPath.map((f) => ({
        afi: f.afi,
        safi: f.safi,
        direction: (f.receive ? AddPathDirection.RECEIVE : 0) | (f.send ? AddPathDirection.SEND : 0),
      })),
    });
  }
  if (caps.extendedMessage) capabilities.push({ kind: 'extended-message' });
  if (caps.extendedNextHop.length > 0) capabilities.push({ kind: 'extended-next-hop', entries: caps.extendedNextHop.map((e) => ({ ...e })) });
  return {
    version: policy.supportedVersion ?? 4,
    myAs: myAsField(policy.localAs),
    holdTime: policy.holdTimeSec,
    bgpId: policy.localRouterId,
    capabilities,
  };
}
