/**
 * The speaker: configured peers, one listener, the RIB between them.
 *
 * Work is batched per event-loop turn, as the fastest speakers batch per socket read:
 * every message of every chunk that arrived goes into the RIB first, then one commit()
 * runs the decision process over everything touched, and only then are UPDATEs packed and
 * written, as much as each peer's socket takes. A peer that reads slowly gets its changes
 * coalesced in the RIB instead of buffered as bytes.
 */
import type { Server, Socket } from 'node:net';
import { errorMessage, UserError } from '../../common/errors.js';
import type { Logger } from '../../log/logger.js';
import { formatRouterId, parseRouterId, type FsmConfig, type OpenPolicy } from '../fsm/index.js';
import { ACCEPT_ALL_POLICY, REJECT_ALL_POLICY, compilePolicies, resolvePolicy, type RoutePolicy } from '../policy/index.js';
import { Rib, type RibPeerInfo, type RouteView } from '../rib/index.js';
import { listenBgp } from '../sockopt/index.js';
import { Afi, IPV4_UNICAST, IPV6_UNICAST, Safi, familyKey, familyName, type FamilyKey } from '../wire/index.js';
import { plainAddress, Peer, type EstablishedSession, type PeerEvents, type SessionDown } from '../session/peer.js';
import type { OriginateConfig, PeerConfig, SpeakerConfig } from './config.js';

/** How many bytes of UPDATEs to hand a socket per turn before yielding to other work. */
const WRITE_CHUNK_BYTES = 256 * 1024;

export interface PeerStatus {
  address: string;
  port: number;
  asn: number;
  type: 'ibgp' | 'ebgp';
  description?: string;
  state: string;
  /** ISO time of the last state change. */
  since: string;
  uptimeSeconds: number | null;
  localAddress: string | null;
  routerId: string | null;
  holdTime: number | null;
  keepalive: number | null;
  families: string[];
  capabilities: string[];
  messages: { received: Record<string, number>; sent: Record<string, number> };
  prefixes: { received: number; accepted: number; advertised: number; stale: number };
  lastError: string | null;
}

export interface AnnounceRequest {
  prefix: string;
  nextHop?: string;
  communities?: string[];
  localPref?: number;
  med?: number;
}

const NO_PREFIXES = Object.freeze({ received: 0, accepted: 0, advertised: 0, stale: 0 });

interface PeerEntry {
  config: PeerConfig;
  peer: Peer;
  importPolicy: RoutePolicy;
  exportPolicy: RoutePolicy;
  /** RibPeerInfo id while Established. */
  inRib: boolean;
}

export class Speaker {
  readonly rib: Rib;
  private readonly peers = new Map<string, PeerEntry>();
  private listener: Server | null = null;
  private flushScheduled = false;
  private staleTimer: NodeJS.Timeout | null = null;
  private readonly routerId: number;

  constructor(
    readonly config: SpeakerConfig,
    private readonly log: Logger,
  ) {
    this.routerId = parseRouterId(config.routerId);
    this.rib = new Rib({ localAsn: config.asn, routerId: this.routerId, now: Date.now });
    const policies = compilePolicies(config.policies, 'policies');
    for (const pc of config.peers) {
      const ebgp = pc.asn !== config.asn;
      // RFC 8212: no policy given on an eBGP session means nothing in and nothing out.
      const fallback = ebgp && config.ebgpRequiresPolicy ? REJECT_ALL_POLICY : ACCEPT_ALL_POLICY;
      const entry: PeerEntry = {
        config: pc,
        peer: new Peer(peerSettings(pc, config, this.routerId), this.peerEvents, log.child({ peer: pc.address })),
        importPolicy: resolvePolicy(pc.import, policies, fallback),
        exportPolicy: resolvePolicy(pc.export, policies, fallback),
        inRib: false,
      };
      if (ebgp && config.ebgpRequiresPolicy && (pc.import === undefined || pc.export === undefined)) {
        log.warn({ peer: pc.address }, 'eBGP peer without import/export policy: routes are refused in that direction (RFC 8212)');
      }
      this.peers.set(pc.address, entry);
    }
  }

  async start(): Promise<void> {
    for (const o of this.config.originate) this.originate(o);
    if (this.config.listen) {
      const md5Peers = new Map<string, string>();
      for (const pc of this.config.peers) if (pc.password !== undefined) md5Peers.set(pc.address, pc.password);
      const { address, port } = this.config.listen;
      this.listener = await listenBgp({ address, port, md5Peers, onConnection: (s) => this.onIncoming(s) });
      this.log.info({ address, port }, 'listening for BGP connections');
    }
    for (const { peer } of this.peers.values()) peer.start();
    this.staleTimer = setInterval(() => {
      this.rib.expireStale();
      this.scheduleFlush();
    }, 1000);
    this.staleTimer.unref();
    this.scheduleFlush();
  }

  /** Cease / Administrative Shutdown to every peer, then close. */
  async stop(communication = 'tortie shutting down'): Promise<void> {
    if (this.staleTimer) clearInterval(this.staleTimer);
    for (const { peer } of this.peers.values()) peer.stop(communication);
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    this.listener = null;
    // Give the NOTIFICATIONs a moment on the wire before the process goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const { peer } of this.peers.values()) peer.destroy();
  }

  announce(request: AnnounceRequest): void {
    this.originate({ prefix: request.prefix, nextHop: request.nextHop, communities: request.communities ?? [], localPref: request.localPref, med: request.med });
  }

  withdraw(prefix: string): boolean {
    const removed = this.rib.withdrawOriginated(prefix);
    this.scheduleFlush();
    return removed;
  }

  routes(query: { prefix?: string; peer?: string; family?: 'ipv4' | 'ipv6'; limit?: number }): RouteView[] {
    const family = query.family === 'ipv4' ? IPV4_UNICAST : query.family === 'ipv6' ? IPV6_UNICAST : undefined;
    return this.rib.routes({ prefix: query.prefix, peer: query.peer, family, limit: query.limit });
  }

  peerStatus(): PeerStatus[] {
    const now = Date.now();
    return [...this.peers.values()].map(({ config, peer }) => {
      const s = peer.session;
      const n = s?.negotiated;
      return {
        address: config.address,
        port: config.port,
        asn: config.asn,
        type: config.asn === this.config.asn ? 'ibgp' : 'ebgp',
        description: config.description,
        state: peer.state,
        since: new Date(peer.since).toISOString(),
        uptimeSeconds: s ? Math.round((now - peer.since) / 1000) : null,
        localAddress: s?.localAddress ?? null,
        routerId: n ? formatRouterId(n.peerRouterId) : null,
        holdTime: n?.holdTimeSec ?? null,
        keepalive: n?.keepaliveSec ?? null,
        families: n ? n.families.map((f) => familyName(familyKey(f.afi, f.safi))) : [],
        capabilities: n ? describeCapabilities(s!) : [],
        messages: { received: { ...peer.received }, sent: { ...peer.sent } },
        prefixes: this.peers.get(config.address)!.inRib ? this.rib.peerStats(config.address) : NO_PREFIXES,
        lastError: peer.lastError,
      };
    });
  }

  private originate(o: OriginateConfig): void {
    try {
      this.rib.originate({ prefix: o.prefix, nextHop: o.nextHop, communities: o.communities.map(parseCommunity), localPref: o.localPref, med: o.med });
    } catch (err) {
      throw err instanceof UserError ? err : new UserError(`originate ${o.prefix}: ${errorMessage(err)}`);
    }
    this.scheduleFlush();
  }

  private onIncoming(socket: Socket): void {
    const remote = plainAddress(socket.remoteAddress);
    const entry = this.peers.get(remote);
    if (!entry) {
      this.log.info({ remote }, 'connection from an unknown address refused');
      socket.destroy();
      return;
    }
    entry.peer.acceptIncoming(socket);
  }

  private readonly peerEvents: PeerEvents = {
    established: (peer, session) => this.onEstablished(peer, session),
    update: (peer, update, action) => {
      const entry = this.peers.get(peer.address)!;
      if (!entry.inRib) return;
      const { maxPrefixesExceeded } = this.rib.receiveUpdate(peer.address, update, action);
      if (maxPrefixesExceeded) {
        this.log.warn({ peer: peer.address, max: entry.config.maxPrefixes }, 'maximum prefix count exceeded');
        peer.cease(1, `more than ${entry.config.maxPrefixes} prefixes`);
      }
      this.scheduleFlush();
    },
    endOfRib: (peer, family) => {
      this.log.debug({ peer: peer.address, family: familyName(family) }, 'End-of-RIB received');
      if (this.peers.get(peer.address)?.inRib) this.rib.receiveEndOfRib(peer.address, family);
      this.scheduleFlush();
    },
    routeRefresh: (peer, message) => {
      // Re-sending the table on request needs an Adj-RIB-Out replay in the RIB: not there yet.
      this.log.warn({ peer: peer.address, afi: message.afi, safi: message.safi }, 'route refresh requested: not supported yet, ignored');
    },
    down: (peer, down) => this.onDown(peer, down),
    writable: (peer) => this.pump(this.peers.get(peer.address)!),
  };

  private onEstablished(peer: Peer, session: EstablishedSession): void {
    const entry = this.peers.get(peer.address)!;
    const n = session.negotiated;
    const info: RibPeerInfo = {
      id: peer.address,
      address: peer.address,
      localAddress: session.localAddress,
      localAsn: n.localAs,
      peerAsn: n.peerAs,
      ibgp: n.type === 'ibgp',
      routerId: n.peerRouterId,
      routeReflectorClient: entry.config.routeReflectorClient,
      routeServerClient: entry.config.routeServerClient,
      nextHopMode: 'auto',
      wire: session.wire,
      families: n.families.map((f) => familyKey(f.afi, f.safi)),
      importPolicy: entry.importPolicy,
      exportPolicy: entry.exportPolicy,
      maxPrefixes: entry.config.maxPrefixes,
    };
    this.rib.peerUp(info);
    entry.inRib = true;
    this.log.info(
      { peer: peer.address, asn: n.peerAs, routerId: formatRouterId(n.peerRouterId), hold: n.holdTimeSec, families: info.families.map(familyName) },
      'session established',
    );
    this.scheduleFlush();
  }

  private onDown(peer: Peer, down: SessionDown): void {
    const entry = this.peers.get(peer.address)!;
    if (!entry.inRib) return;
    entry.inRib = false;
    // RFC 4724 helper: keep a restarting peer's routes (stale) if it said it can restart and
    // the session did not end with a NOTIFICATION (RFC 8538's N bit is not offered yet).
    const gr = peer.lastNegotiated?.peerGracefulRestart;
    const keepStale = gr !== undefined && gr.restartTimeSec > 0 && down.notification === null && !down.administrative;
    this.rib.peerDown(peer.address, keepStale ? { staleForMs: gr!.restartTimeSec * 1000 } : undefined);
    this.log.info({ peer: peer.address, keepStale }, `session down: ${down.reason}`);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.rib.commit();
      for (const entry of this.peers.values()) this.pump(entry);
    });
  }

  /** Hands a peer as many queued UPDATEs as its socket takes, a chunk per turn. */
  private pump(entry: PeerEntry): void {
    const id = entry.config.address;
    if (!entry.inRib || !this.rib.hasOutgoing(id)) return;
    const messages = this.rib.takeOutgoing(id, WRITE_CHUNK_BYTES);
    const more = entry.peer.sendUpdates(messages);
    // A full socket resumes us through `writable`; otherwise come back next turn.
    if (more && this.rib.hasOutgoing(id)) setImmediate(() => this.pump(entry));
  }
}

const WELL_KNOWN_COMMUNITIES: Record<string, number> = {
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'graceful-shutdown': 0xffff0000,
  blackhole: 0xffff029a,
};

export function parseCommunity(text: string): number {
  const known = WELL_KNOWN_COMMUNITIES[text.toLowerCase()];
  if (known !== undefined) return known;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) throw new UserError(`community "${text}" is not A:B with A and B at most 65535`);
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

function describeCapabilities(s: EstablishedSession): string[] {
  const n = s.negotiated;
  const out: string[] = [];
  if (n.as4) out.push('4-octet-as');
  if (n.routeRefresh) out.push('route-refresh');
  if (n.enhancedRouteRefresh) out.push('enhanced-route-refresh');
  if (n.extendedMessage) out.push('extended-message');
  if (n.peerGracefulRestart) out.push(`graceful-restart(${n.peerGracefulRestart.restartTimeSec}s)`);
  for (const f of n.addPath) {
    const dirs = [f.send ? 'send' : '', f.receive ? 'receive' : ''].filter(Boolean).join('+');
    if (dirs) out.push(`add-path(${familyName(familyKey(f.afi, f.safi))} ${dirs})`);
  }
  for (const e of n.extendedNextHop) out.push(`extended-next-hop(${familyName(familyKey(e.afi, e.safi))})`);
  return out;
}

function familyOf(name: 'ipv4' | 'ipv6'): { afi: number; safi: number } {
  return { afi: name === 'ipv4' ? Afi.IPV4 : Afi.IPV6, safi: Safi.UNICAST };
}

/** The FSM's configuration for one peer: what we offer in OPEN and how the timers run. */
export function peerSettings(pc: PeerConfig, config: SpeakerConfig, routerId: number): Peer['settings'] {
  const families = pc.families.map(familyOf);
  const addPathSend = pc.addPaths === 'send' || pc.addPaths === 'both';
  const addPathReceive = pc.addPaths === 'receive' || pc.addPaths === 'both';
  const open: OpenPolicy = {
    localAs: config.asn,
    localRouterId: routerId,
    peerAs: pc.asn,
    holdTimeSec: pc.holdTime,
    keepaliveSec: pc.keepaliveTime,
    capabilities: {
      families,
      routeRefresh: true,
      enhancedRouteRefresh: false,
      as4: true,
      addPath: addPathSend || addPathReceive ? families.map((f) => ({ ...f, send: addPathSend, receive: addPathReceive })) : [],
      extendedMessage: true,
      extendedNextHop: [],
      gracefulRestart: pc.gracefulRestart.enabled
        ? { restarting: false, notification: false, restartTimeSec: pc.gracefulRestart.restartTime, families: families.map((f) => ({ ...f, forwardingPreserved: false })) }
        : undefined,
    },
  };
  const fsm: FsmConfig = {
    open,
    passive: pc.passive,
    connectRetrySec: pc.connectRetryTime,
    idleHoldInitialSec: 1,
    idleHoldMaxSec: 60,
  };
  return { address: pc.address, port: pc.port, localAddress: pc.localAddress, md5Key: pc.password, ttlSecurityHops: pc.ttlSecurity, fsm };
}

export type { FamilyKey };
