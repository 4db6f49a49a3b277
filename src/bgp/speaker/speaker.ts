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
import { Rib, type FibChanges, type RibPeerInfo, type RouteView } from '../rib/index.js';
import { FibInputError, KernelFib, type FibFailure, type FibReport } from '../fib/index.js';
import { encodeRouteRefresh } from '../wire/route-refresh.js';
import { listenBgp } from '../sockopt/index.js';
import { Afi, IPV4_UNICAST, IPV6_UNICAST, Safi, familyKey, familyName, type FamilyKey } from '../wire/index.js';
import { plainAddress, Peer, type EstablishedSession, type PeerEvents, type SessionDown } from '../session/peer.js';
import type { OriginateConfig, PeerConfig, SpeakerConfig } from './config.js';

/** What `GET /fib` shows: the kernel side of the speaker. */
export interface FibStatus {
  install: boolean;
  table: number | null;
  /** Routes of ours in the kernel, as far as the FIB knows. */
  installed: number;
  /** Changes queued for the next write. */
  pending: number;
  /** Prefixes whose wanted route is not in the kernel. */
  failures: number;
  /** A few of them, with the reason. */
  failed: FibFailure[];
  /** Graceful restart (restarting speaker): stale kernel routes of the previous run are kept. */
  restarting: boolean;
  /** Peers (address/family) whose End-of-RIB the restart still waits for. */
  waitingForEndOfRib: string[];
  /** Routes found in the kernel at start (a previous run's). */
  foundAtStart: number;
  lastRepair: (FibReport & { at: string }) | null;
  writes: number;
}

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
  /** Taken out of the configuration: goes once its session is down. */
  removed?: boolean;
}

/** Restarting-speaker state (RFC 4724 §4.1), from start until stale kernel routes are swept. */
interface RestartState {
  /** Per configured peer: families whose End-of-RIB is still owed; null until Established. */
  waiting: Map<string, Set<FamilyKey> | null>;
  timer: NodeJS.Timeout;
}

export class Speaker {
  readonly rib: Rib;
  private readonly peers = new Map<string, PeerEntry>();
  private listener: Server | null = null;
  private flushScheduled = false;
  private staleTimer: NodeJS.Timeout | null = null;
  private readonly routerId: number;
  private policies: Map<string, RoutePolicy>;
  private config: SpeakerConfig;

  /** The kernel routing table, when fib.install is on. */
  private fib: KernelFib | null = null;
  private fibFlushing = false;
  private fibWrites = 0;
  private fibFoundAtStart = 0;
  private lastRepair: FibStatus['lastRepair'] = null;
  private restart: RestartState | null = null;
  /** Kernel routes of a previous run were kept: OPENs say R (restarted) and F (forwarding kept). */
  private restarted = false;
  private started = false;

  constructor(
    config: SpeakerConfig,
    private readonly log: Logger,
  ) {
    this.config = config;
    this.routerId = parseRouterId(config.routerId);
    this.rib = new Rib({
      localAsn: config.asn,
      routerId: this.routerId,
      clusterId: config.clusterId === undefined ? undefined : parseRouterId(config.clusterId),
      multipathMax: config.multipath,
      now: Date.now,
      // Forwarding state is only worth tracking when it goes to the kernel.
      onFibChanges: config.fib.install ? (changes) => this.onFibChanges(changes) : undefined,
    });
    this.policies = compilePolicies(config.policies, 'policies');
    for (const pc of config.peers) this.peers.set(pc.address, this.makeEntry(pc));
  }

  get currentConfig(): SpeakerConfig {
    return this.config;
  }

  private policiesFor(pc: PeerConfig, config: SpeakerConfig, policies: Map<string, RoutePolicy>): { importPolicy: RoutePolicy; exportPolicy: RoutePolicy } {
    const ebgp = pc.asn !== config.asn;
    // RFC 8212: no policy given on an eBGP session means nothing in and nothing out.
    const fallback = ebgp && config.ebgpRequiresPolicy ? REJECT_ALL_POLICY : ACCEPT_ALL_POLICY;
    return { importPolicy: resolvePolicy(pc.import, policies, fallback), exportPolicy: resolvePolicy(pc.export, policies, fallback) };
  }

  private makeEntry(pc: PeerConfig): PeerEntry {
    const config = this.config;
    const ebgp = pc.asn !== config.asn;
    const restart = this.restarted && pc.gracefulRestart.enabled ? { restarting: true, forwardingPreserved: true } : undefined;
    const entry: PeerEntry = {
      config: pc,
      peer: new Peer(peerSettings(pc, config, this.routerId, restart), this.peerEvents, this.log.child({ peer: pc.address })),
      ...this.policiesFor(pc, config, this.policies),
      inRib: false,
    };
    if (ebgp && config.ebgpRequiresPolicy && (pc.import === undefined || pc.export === undefined)) {
      this.log.warn({ peer: pc.address }, 'eBGP peer without import/export policy: routes are refused in that direction (RFC 8212)');
    }
    return entry;
  }

  async start(): Promise<void> {
    if (this.config.fib.install) await this.startFib();
    this.started = true;
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

  /**
   * The kernel side: adopt routes of ours a previous run left (graceful restart: they stay,
   * stale, until we have learned again), then the repair loop.
   */
  private async startFib(): Promise<void> {
    const fib = new KernelFib({ table: this.config.fib.table, log: this.log.child({ component: 'bgp.fib' }) });
    this.fib = fib;
    this.fibFoundAtStart = await fib.markAllStale();
    if (this.fibFoundAtStart > 0) {
      this.restarted = true;
      const gr = this.config.peers.filter((p) => p.gracefulRestart.enabled);
      // The OPENs of graceful-restart peers now carry R and F (forwarding state kept).
      for (const pc of gr) this.peers.set(pc.address, this.makeEntry(pc));
      const waiting = new Map<string, Set<FamilyKey> | null>();
      for (const pc of this.config.peers) waiting.set(pc.address, null);
      const deferral = this.config.gracefulRestart.selectionDeferralTime * 1000;
      const timer = setTimeout(() => {
        this.log.warn({ waiting: this.restartWaiting() }, 'graceful restart: no End-of-RIB from every peer in time; sweeping stale kernel routes now');
        this.finishRestart();
      }, deferral);
      timer.unref();
      this.restart = { waiting, timer };
      this.log.info({ routes: this.fibFoundAtStart, peers: gr.length, deferralSeconds: deferral / 1000 }, 'graceful restart: kernel routes of the previous run kept until the peers have sent their tables');
      if (waiting.size === 0) this.finishRestart();
    }
    fib.startRepairLoop(this.config.fib.repairIntervalMs, () => this.rib.fibRoutes(), (report) => {
      this.lastRepair = { ...report, at: new Date().toISOString() };
    });
  }

  private onFibChanges(changes: FibChanges): void {
    const fib = this.fib;
    if (fib === null) return;
    const hops = changes.nextHops;
    for (let i = 0; i < changes.count; i++) {
      const prefix = changes.prefix(i);
      const h = hops[i] ?? null;
      try {
        if (h === null) fib.remove(prefix);
        else fib.replace(prefix, h);
      } catch (err) {
        if (!(err instanceof FibInputError)) throw err;
        this.log.warn({ prefix, nextHops: h }, `not installed: ${err.message}`);
      }
    }
    this.scheduleFibFlush();
  }

  /** One kernel write at a time; what changes meanwhile coalesces into the next one. */
  private scheduleFibFlush(): void {
    const fib = this.fib;
    if (fib === null || this.fibFlushing || fib.pending === 0) return;
    this.fibFlushing = true;
    setImmediate(() => {
      fib
        .flushWithReport()
        .then((report) => {
          this.fibWrites++;
          if (report.failed > 0) this.log.warn({ ...report, failures: fib.failures.size }, 'some routes could not be written to the kernel');
        })
        .catch((err: unknown) => this.log.error({ err }, 'kernel route write failed'))
        .finally(() => {
          this.fibFlushing = false;
          this.scheduleFibFlush();
        });
    });
  }

  private restartWaiting(): string[] {
    const out: string[] = [];
    for (const [peer, fams] of this.restart?.waiting ?? []) {
      if (fams === null) out.push(`${peer} (not established)`);
      else for (const f of fams) out.push(`${peer} ${familyName(f)}`);
    }
    return out;
  }

  /** Called after each commit: sweep once every peer has sent End-of-RIB for every family. */
  private checkRestartDone(): void {
    const r = this.restart;
    if (r === null || r.waiting.size > 0) return;
    this.finishRestart();
  }

  private finishRestart(): void {
    const r = this.restart;
    const fib = this.fib;
    if (r === null || fib === null) return;
    clearTimeout(r.timer);
    this.restart = null;
    void fib
      .sweepStale()
      .then((report) => this.log.info({ ...report }, 'graceful restart done: stale kernel routes swept'))
      .catch((err: unknown) => this.log.error({ err }, 'stale kernel route sweep failed'));
  }

  fibStatus(): FibStatus {
    const fib = this.fib;
    return {
      install: fib !== null,
      table: fib?.table ?? null,
      installed: fib?.size ?? 0,
      pending: fib?.pending ?? 0,
      failures: fib?.failures.size ?? 0,
      failed: fib ? [...fib.failures.values()].slice(0, 20) : [],
      restarting: fib?.restarting ?? false,
      waitingForEndOfRib: this.restartWaiting(),
      foundAtStart: this.fibFoundAtStart,
      lastRepair: this.lastRepair,
      writes: this.fibWrites,
    };
  }

  /** Cease / Administrative Shutdown to every peer, then close. Kernel routes stay (for a restart). */
  async stop(communication = 'tortie shutting down'): Promise<void> {
    if (this.staleTimer) clearInterval(this.staleTimer);
    if (this.restart) clearTimeout(this.restart.timer);
    for (const { peer } of this.peers.values()) peer.stop(communication);
    await new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    this.listener = null;
    // Give the NOTIFICATIONs a moment on the wire before the process goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const { peer } of this.peers.values()) peer.destroy();
    await this.fib?.stop();
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
      const entry = this.entryOf(peer);
      if (!entry?.inRib) return;
      const { maxPrefixesExceeded } = this.rib.receiveUpdate(peer.address, update, action);
      if (maxPrefixesExceeded) {
        this.log.warn({ peer: peer.address, max: entry.config.maxPrefixes }, 'maximum prefix count exceeded');
        peer.cease(1, `more than ${entry.config.maxPrefixes} prefixes`);
      }
      this.scheduleFlush();
    },
    endOfRib: (peer, family) => {
      this.log.debug({ peer: peer.address, family: familyName(family) }, 'End-of-RIB received');
      if (this.entryOf(peer)?.inRib) this.rib.receiveEndOfRib(peer.address, family);
      const owed = this.restart?.waiting.get(peer.address);
      if (owed) {
        owed.delete(family);
        if (owed.size === 0) this.restart!.waiting.delete(peer.address);
      }
      this.scheduleFlush();
    },
    routeRefresh: (peer, message) => {
      const entry = this.entryOf(peer);
      const session = peer.session;
      if (!entry?.inRib || session === null) return;
      const family = familyKey(message.afi, message.safi);
      const name = familyName(family);
      switch (message.subtype) {
        case 0: {
          // RFC 2918: the whole Adj-RIB-Out of the family again; RFC 7313: framed by BoRR/EoRR.
          const enhanced = session.negotiated.enhancedRouteRefresh;
          if (this.rib.refreshPeer(peer.address, family, { enhanced })) {
            this.log.info({ peer: peer.address, family: name, enhanced }, 'route refresh requested: sending the table again');
          } else {
            this.log.info({ peer: peer.address, family: name }, 'route refresh for a family not negotiated: ignored');
          }
          break;
        }
        case 1:
          this.log.debug({ peer: peer.address, family: name }, 'Beginning-of-RIB-Refresh received');
          this.rib.receiveBeginningOfRefresh(peer.address, family);
          break;
        case 2:
          this.log.debug({ peer: peer.address, family: name }, 'End-of-RIB-Refresh received');
          this.rib.receiveEndOfRefresh(peer.address, family);
          break;
        default:
          // RFC 7313 §5: other subtypes are ignored.
          break;
      }
      this.scheduleFlush();
    },
    down: (peer, down) => this.onDown(peer, down),
    writable: (peer) => {
      const entry = this.entryOf(peer);
      if (entry) this.pump(entry);
    },
  };

  private onEstablished(peer: Peer, session: EstablishedSession): void {
    const entry = this.entryOf(peer);
    if (entry === undefined || entry.removed) return;
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
    // RFC 4724 §4.2 (helper): stale routes of a family the restarted peer no longer says it
    // kept forwarding for (F bit clear, family or capability missing) go at once.
    const stale = this.rib.peerStats(peer.address).stale;
    if (stale > 0) {
      const gr = n.peerGracefulRestart;
      for (const family of [IPV4_UNICAST, IPV6_UNICAST]) {
        const kept = gr?.families.some((f) => familyKey(f.afi, f.safi) === family && f.forwardingPreserved) ?? false;
        if (!kept) this.rib.receiveEndOfRib(peer.address, family);
      }
      this.log.info({ peer: peer.address, stale, kept: this.rib.peerStats(peer.address).stale }, 'restarted peer is back: its stale routes wait for its End-of-RIB');
    }
    if (this.restart?.waiting.has(peer.address) && this.restart.waiting.get(peer.address) === null) {
      this.restart.waiting.set(peer.address, new Set(info.families));
    }
    this.log.info(
      { peer: peer.address, asn: n.peerAs, routerId: formatRouterId(n.peerRouterId), hold: n.holdTimeSec, families: info.families.map(familyName) },
      'session established',
    );
    this.scheduleFlush();
  }

  /** The entry of this very Peer object (not of a newer one for the same address). */
  private entryOf(peer: Peer): PeerEntry | undefined {
    const entry = this.peers.get(peer.address);
    return entry !== undefined && entry.peer === peer ? entry : undefined;
  }

  private onDown(peer: Peer, down: SessionDown): void {
    const entry = this.entryOf(peer);
    if (entry === undefined || !entry.inRib) return;
    entry.inRib = false;
    // RFC 4724 helper: keep a restarting peer's routes (stale) if it said it can restart and
    // the session did not end with a NOTIFICATION (RFC 8538's N bit is not offered yet).
    const gr = peer.lastNegotiated?.peerGracefulRestart;
    const keepStale = gr !== undefined && gr.restartTimeSec > 0 && down.notification === null && !down.administrative;
    this.rib.peerDown(peer.address, keepStale ? { staleForMs: gr!.restartTimeSec * 1000 } : undefined);
    this.log.info({ peer: peer.address, keepStale }, `session down: ${down.reason}`);
    this.scheduleFlush();
  }

  /**
   * A new configuration (SIGHUP): policies are recompiled and applied (export at once, import
   * through a ROUTE-REFRESH to peers that support it); peers added start, peers removed
   * stop, peers whose session settings changed restart; originations follow the new list.
   * asn, routerId, listen, fib and control need a restart of the process and are kept.
   */
  reload(next: SpeakerConfig): { added: string[]; removed: string[]; restarted: string[]; policiesChanged: string[]; refreshed: string[] } {
    const old = this.config;
    for (const key of ['asn', 'routerId', 'clusterId', 'multipath'] as const) {
      if (JSON.stringify(old[key]) !== JSON.stringify(next[key])) this.log.warn({ key }, `reload: ${key} changed; it takes effect at the next start only`);
    }
    const policies = compilePolicies(next.policies, 'policies');
    const merged: SpeakerConfig = { ...next, asn: old.asn, routerId: old.routerId, clusterId: old.clusterId, multipath: old.multipath, listen: old.listen, fib: old.fib, control: old.control };
    const result = { added: [] as string[], removed: [] as string[], restarted: [] as string[], policiesChanged: [] as string[], refreshed: [] as string[] };
    const policyText = (ref: string | undefined, rules: Record<string, unknown[]>) => JSON.stringify([ref, ref === undefined ? null : (rules[ref] ?? null)]);
    const sessionKey = (pc: PeerConfig) => JSON.stringify({ ...pc, import: undefined, export: undefined });
    const wanted = new Map(next.peers.map((pc) => [pc.address, pc]));
    this.config = merged;
    this.policies = policies;
    for (const [address, entry] of [...this.peers]) {
      const pc = wanted.get(address);
      if (pc === undefined || sessionKey(pc) !== sessionKey(entry.config)) {
        this.removePeer(entry);
        if (pc === undefined) result.removed.push(address);
        continue;
      }
      const fresh = this.policiesFor(pc, merged, policies);
      const importChanged = policyText(pc.import, next.policies) !== policyText(entry.config.import, old.policies) || old.ebgpRequiresPolicy !== next.ebgpRequiresPolicy;
      const exportChanged = policyText(pc.export, next.policies) !== policyText(entry.config.export, old.policies) || old.ebgpRequiresPolicy !== next.ebgpRequiresPolicy;
      entry.config = pc;
      if (!importChanged && !exportChanged) continue;
      result.policiesChanged.push(address);
      if (importChanged) entry.importPolicy = fresh.importPolicy;
      if (exportChanged) entry.exportPolicy = fresh.exportPolicy;
      if (!entry.inRib) continue;
      this.rib.setPolicies(address, {
        importPolicy: importChanged ? fresh.importPolicy : undefined,
        exportPolicy: exportChanged ? fresh.exportPolicy : undefined,
      });
      const session = entry.peer.session;
      if (importChanged && session !== null) {
        if (session.negotiated.routeRefresh) {
          for (const f of session.negotiated.families) entry.peer.sendRaw(encodeRouteRefresh({ afi: f.afi, safi: f.safi, subtype: 0 }), 'routeRefresh');
          result.refreshed.push(address);
        } else {
          this.log.warn({ peer: address }, 'reload: import policy changed, but the peer cannot refresh: resetting the session');
          entry.peer.cease(6, 'import policy changed');
        }
      }
    }
    for (const pc of next.peers) {
      if (this.peers.has(pc.address) && !this.peers.get(pc.address)!.removed) continue;
      const entry = this.makeEntry(pc);
      this.peers.set(pc.address, entry);
      if (this.started) entry.peer.start();
      if (!old.peers.some((o) => o.address === pc.address)) result.added.push(pc.address);
      else result.restarted.push(pc.address);
    }
    // Originations: withdraw what went, announce what is new or changed.
    const key = (o: OriginateConfig) => JSON.stringify(o);
    const before = new Set(old.originate.map(key));
    const after = new Set(next.originate.map(key));
    for (const o of old.originate) if (!after.has(key(o)) && !next.originate.some((n) => n.prefix === o.prefix)) this.rib.withdrawOriginated(o.prefix);
    for (const o of next.originate) if (!before.has(key(o))) this.originate(o);
    this.scheduleFlush();
    this.log.info(result, 'configuration reloaded');
    return result;
  }

  private removePeer(entry: PeerEntry): void {
    const address = entry.config.address;
    entry.removed = true;
    this.peers.delete(address);
    entry.peer.stop('peer removed from the configuration');
    if (entry.inRib) {
      entry.inRib = false;
      this.rib.peerDown(address);
    }
    this.restart?.waiting.delete(address);
    // Give the NOTIFICATION a moment on the wire.
    setTimeout(() => entry.peer.destroy(), 200).unref();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.rib.commit();
      for (const entry of this.peers.values()) this.pump(entry);
      this.checkRestartDone();
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
export function peerSettings(
  pc: PeerConfig,
  config: SpeakerConfig,
  routerId: number,
  restart?: { restarting: boolean; forwardingPreserved: boolean },
): Peer['settings'] {
  // F: the forwarding state of the routes we advertised survives our restart. It does when
  // the kernel routes of the previous run were kept, and it always does for a speaker that
  // installs nothing (its forwarding never depended on it).
  const forwardingPreserved = restart?.forwardingPreserved ?? !config.fib.install;
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
      enhancedRouteRefresh: true,
      as4: true,
      addPath: addPathSend || addPathReceive ? families.map((f) => ({ ...f, send: addPathSend, receive: addPathReceive })) : [],
      extendedMessage: true,
      extendedNextHop: [],
      gracefulRestart: pc.gracefulRestart.enabled
        ? { restarting: restart?.restarting ?? false, notification: false, restartTimeSec: pc.gracefulRestart.restartTime, families: families.map((f) => ({ ...f, forwardingPreserved })) }
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
