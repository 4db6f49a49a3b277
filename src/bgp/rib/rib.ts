/**
 * The RIB of the BGP speaker: Adj-RIBs-In (after import policy), the Loc-RIB with its
 * decision process, Adj-RIBs-Out with update packing, and best-path changes for the FIB.
 * Pure and synchronous: no sockets, no timers; the clock is injected.
 *
 * Work is batched the way BIRD and OpenBGPD do it: receiveUpdate() only records paths and
 * marks their prefixes touched; commit() runs the decision process once per touched prefix
 * and queues changed prefixes for every peer; takeOutgoing() works out each queued
 * prefix's outgoing form as it is at that moment and packs them into UPDATEs.
 */
import { UserError } from '../../common/errors.js';
import { Afi, AsPathSegmentType, Origin, Safi } from '../wire/constants.js';
import { familyAfi, familyKey, familyName, familySafi, IPV4_UNICAST, IPV6_UNICAST, type FamilyKey } from '../wire/family.js';
import { encodeAttributes } from '../wire/attributes/encode.js';
import type { PathAttributes } from '../wire/attributes/types.js';
import type { WireAction } from '../wire/errors.js';
import { ipv4ToString } from '../wire/ip.js';
import type { NlriList } from '../wire/nlri.js';
import { wireFormat } from '../wire/session-format.js';
import { encodeEndOfRib, type UpdateMessage } from '../wire/update.js';
import { encodeRouteRefresh } from '../wire/route-refresh.js';
import { policyNextHop, type PolicyInput, type PolicyPeer } from '../policy/index.js';
import { addressBytes, addressSortKey, formatPrefix, ipv4Bytes, parsePrefix } from './addresses.js';
import { AdjRibOut } from './adj-rib-out.js';
import { AttrStore, type AttrEntry } from './attr-store.js';
import { DecisionProcess, type DecisionPeer } from './decision.js';
import { mayAdvertise, outgoingAttributes, OutStore, type ExportContext, type ExportSource, type ExportTarget, type NextHopMode } from './export.js';
import { FibChanges, NextHopSets } from './fib.js';
import { PathFlag, PathPool } from './paths.js';
import { NONE, PrefixFlag, PrefixTable } from './prefix-table.js';
import type { OriginateRoute, PeerStats, ReceiveResult, RibOptions, RibPeerInfo, RouteQuery, RouteView } from './types.js';
import { packAnnounced, packWithdrawn } from './update-packer.js';

/** How long routes marked stale by a BoRR wait for the EoRR (RFC 7313 §4 suggests a timer). */
const ENHANCED_REFRESH_STALE_MS = 300_000;
/** Peer index of locally originated routes. */
const LOCAL = 0;
/** Wire format used only to build interning keys of attribute sets a policy made. */
const KEY_WIRE = wireFormat({ as4: true });
/** Bytes of an UPDATE with nothing in it, and of an MP_REACH header: for send-size estimates. */
const UPDATE_OVERHEAD = 23 + 4 + 5 + 16;

/** One family's share of the RIB: its prefixes, their paths, and what commit() must look at. */
class FamilyRib {
  readonly afi: number;
  readonly table: PrefixTable;
  readonly paths = new PathPool();
  touched = new Int32Array(1024);
  nTouched = 0;

  constructor(readonly family: FamilyKey) {
    this.afi = familyAfi(family);
    this.table = new PrefixTable(this.afi);
  }

  touch(pid: number): void {
    const flags = this.table.flags;
    if (((flags[pid] as number) & PrefixFlag.TOUCHED) !== 0) return;
    flags[pid] = (flags[pid] as number) | PrefixFlag.TOUCHED;
    if (this.nTouched === this.touched.length) {
      const t = new Int32Array(this.touched.length * 2);
      t.set(this.touched);
      this.touched = t;
    }
    this.touched[this.nTouched++] = pid;
  }
}

class PeerSlot implements DecisionPeer, ExportSource, ExportTarget {
  info: RibPeerInfo | null = null;
  up = false;
  local: boolean;
  ebgp = false;
  routerId = 0;
  addrKey = '';
  routeReflectorClient = false;
  routeServerClient = false;
  nextHopMode: NextHopMode = 'auto';
  selfV4: Buffer | null = null;
  selfV6: Buffer | null = null;
  wire = KEY_WIRE;
  /** The peer as policies see it (one object, reused for every evaluation). */
  policyPeer: PolicyPeer = { address: '', asn: 0, ibgp: false };
  /** Interned export profile: peers with equal ones get equal bytes. */
  profile = 0;
  families = new Set<FamilyKey>();
  out: (AdjRibOut | null)[] = [null, null];
  /** End-of-RIB owed for families the RIB does not carry (sent with an empty table). */
  otherEor: FamilyKey[] = [];
  received = 0;
  accepted = 0;
  stale = 0;
  /** Clock (ms) after which stale paths go; -1 when there are none. */
  staleUntil = -1;

  constructor(
    readonly index: number,
    readonly id: string,
  ) {
    this.local = index === LOCAL;
  }
}

function countAs(attrs: PathAttributes, asn: number): number {
  let n = 0;
  for (const s of attrs.asPath ?? []) for (const a of s.asns) if (a === asn) n++;
  return n;
}

export class Rib {
  private readonly localAsn: number;
  private readonly routerId: number;
  private readonly clusterId: number;
  private readonly multipathMax: number;
  private readonly now: () => number;
  private readonly onFibChanges: ((c: FibChanges) => void) | null;

  private readonly ribs: FamilyRib[] = [new FamilyRib(IPV4_UNICAST), new FamilyRib(IPV6_UNICAST)];
  private readonly peers: PeerSlot[] = [];
  private readonly peerIndex = new Map<string, number>();
  private readonly attrs: AttrStore;
  private readonly outs = new OutStore();
  private readonly nhSets = new NextHopSets();
  private readonly decision: DecisionProcess;
  private readonly fib = new FibChanges();
  private readonly profiles = new Map<string, number>();
  private readonly exportContext: ExportContext;
  /** Set by desired(): the last answer came from a policy looking at that one prefix. */
  private perPrefixVerdict = false;
  /** Prefixes with at least one path. */
  private prefixCount = 0;

  /** One PolicyInput reused for every evaluation: no allocation per prefix. */
  private readonly policyInput: PolicyInput = {
    afi: Afi.IPV4,
    addr: new Uint32Array(4),
    length: 0,
    attrs: {},
    nextHop: null,
    peer: { address: '', asn: 0, ibgp: false },
  };

  // Scratch arrays for takeOutgoing().
  private wPids = new Int32Array(1024);
  private aPids = new Int32Array(1024);
  private aOut = new Int32Array(1024);

  constructor(options: RibOptions) {
    this.localAsn = options.localAsn;
    this.routerId = options.routerId >>> 0;
    this.clusterId = (options.clusterId ?? options.routerId) >>> 0;
    this.multipathMax = Math.max(1, options.multipathMax ?? 1);
    this.now = options.now ?? (() => 0);
    this.onFibChanges = options.onFibChanges ?? null;
    this.exportContext = { localAsn: this.localAsn, clusterId: this.clusterId };
    this.decision = new DecisionProcess(this.multipathMax, options.alwaysCompareMed ?? false);
    this.attrs = new AttrStore(this.localAsn);
    this.attrs.onFree = (e) => this.releaseOutCache(e);
    const local = new PeerSlot(LOCAL, 'local');
    local.routerId = this.routerId;
    this.peers.push(local);
  }

  // ---------------------------------------------------------------- peers

  peerUp(info: RibPeerInfo): void {
    const slot = this.slotFor(info.id);
    if (slot.up) throw new Error(`RIB: peer ${info.id} is already up`);
    slot.info = info;
    slot.up = true;
    slot.ebgp = !info.ibgp;
    slot.routerId = info.routerId >>> 0;
    slot.addrKey = addressSortKey(info.address);
    slot.routeReflectorClient = info.routeReflectorClient;
    slot.routeServerClient = info.routeServerClient;
    slot.nextHopMode = info.nextHopMode;
    slot.wire = info.wire;
    slot.policyPeer = { address: info.address, asn: info.peerAsn, ibgp: info.ibgp };
    const local = addressBytes(info.localAddress);
    const v4 = info.selfNextHops?.ipv4 !== undefined ? addressBytes(info.selfNextHops.ipv4) : null;
    const v6 = info.selfNextHops?.ipv6 !== undefined ? addressBytes(info.selfNextHops.ipv6) : null;
    slot.selfV4 = v4 ?? (local !== null && local.length === 4 ? local : null);
    slot.selfV6 = v6 ?? (local !== null && local.length === 16 ? local : null);
    slot.profile = this.profileOf(slot);
    slot.families = new Set(info.families);
    slot.received = 0;
    slot.otherEor = [];
    for (const family of info.families) {
      const r = this.ribIndex(family);
      if (r < 0) {
        slot.otherEor.push(family);
        continue;
      }
      const rib = this.ribs[r] as FamilyRib;
      const out = new AdjRibOut(family, rib.table, info.wire.addPathSend.has(family));
      slot.out[r] = out;
      // The whole current table, then End-of-RIB.
      const { table } = rib;
      for (let pid = 0; pid < table.highWater; pid++) if (table.best[pid] !== NONE && table.isLive(pid)) out.enqueue(pid);
    }
  }

  peerDown(id: string, options?: { staleForMs?: number }): void {
    const slot = this.requirePeer(id);
    slot.up = false;
    slot.otherEor = [];
    for (let r = 0; r < this.ribs.length; r++) {
      const out = slot.out[r];
      if (out === null || out === undefined) continue;
      slot.out[r] = null;
      const rib = this.ribs[r] as FamilyRib;
      for (const pid of out.clear(this.outs)) this.maybeForget(rib, pid);
      rib.table.flushRemovals();
    }
    const staleFor = options?.staleForMs ?? 0;
    if (staleFor > 0) {
      for (const rib of this.ribs) this.markStale(rib, slot);
      slot.staleUntil = slot.stale > 0 ? this.now() + staleFor : -1;
    } else {
      for (const rib of this.ribs) this.dropPaths(rib, slot, false);
      slot.staleUntil = -1;
    }
  }

  receiveEndOfRib(id: string, family: FamilyKey): void {
    const slot = this.requirePeer(id);
    const r = this.ribIndex(family);
    if (r < 0 || slot.stale === 0) return;
    this.dropPaths(this.ribs[r] as FamilyRib, slot, true);
    if (slot.stale === 0) slot.staleUntil = -1;
  }

  expireStale(): void {
    const now = this.now();
    for (const slot of this.peers) {
      if (slot.staleUntil < 0 || now < slot.staleUntil) continue;
      for (const rib of this.ribs) this.dropPaths(rib, slot, true);
      slot.staleUntil = -1;
    }
  }

  peerStats(id: string): PeerStats {
    const slot = this.requirePeer(id);
    let advertised = 0;
    for (const out of slot.out) if (out) advertised += out.advertised;
    return { received: slot.received, accepted: slot.accepted, advertised, stale: slot.stale };
  }

  /**
   * Route refresh (RFC 2918): send the peer the whole Adj-RIB-Out of `family` again, each
   * prefix as it is now, even if the peer has it already. With `enhanced` (RFC 7313, both
   * sides offered enhanced route refresh) it is framed by BoRR and EoRR, so that the peer
   * can sweep what it no longer gets. Returns false when the peer does not have the family.
   */
  refreshPeer(id: string, family: FamilyKey, options: { enhanced?: boolean } = {}): boolean {
    const slot = this.requirePeer(id);
    const r = this.ribIndex(family);
    const adj = r < 0 ? undefined : slot.out[r];
    if (!slot.up || !adj) return false;
    const { table } = this.ribs[r] as FamilyRib;
    for (let pid = 0; pid < table.highWater; pid++) {
      if (!table.isLive(pid)) continue;
      if (table.best[pid] !== NONE || (adj.sent[pid] ?? 0) !== 0) adj.enqueue(pid, true);
    }
    if (options.enhanced === true) {
      adj.borrPending = true;
      adj.eorrPending = true;
    }
    return true;
  }

  /**
   * New import/export policies for a peer (a configuration reload). Export takes effect at
   * once: every prefix is looked at again for it, and only what changes is sent. Import
   * applies to what the peer sends from now on: ask it for a route refresh.
   */
  setPolicies(id: string, policies: { importPolicy?: RibPeerInfo['importPolicy']; exportPolicy?: RibPeerInfo['exportPolicy'] }): void {
    const slot = this.requirePeer(id);
    const info = slot.info;
    if (info === null) return;
    if (policies.importPolicy !== undefined) info.importPolicy = policies.importPolicy;
    if (policies.exportPolicy !== undefined && policies.exportPolicy !== info.exportPolicy) {
      info.exportPolicy = policies.exportPolicy;
      if (!slot.up) return;
      for (let r = 0; r < this.ribs.length; r++) {
        const adj = slot.out[r];
        if (!adj) continue;
        const { table } = this.ribs[r] as FamilyRib;
        for (let pid = 0; pid < table.highWater; pid++) {
          if (table.isLive(pid) && (table.best[pid] !== NONE || (adj.sent[pid] ?? 0) !== 0)) adj.enqueue(pid);
        }
      }
    }
  }

  /**
   * RFC 7313 receiving side: BoRR from the peer marks its paths of the family stale; what it
   * re-sends before EoRR (receiveEndOfRefresh) is fresh again, the rest goes then.
   */
  receiveBeginningOfRefresh(id: string, family: FamilyKey): void {
    const slot = this.requirePeer(id);
    const r = this.ribIndex(family);
    if (r < 0 || !slot.up) return;
    this.markStale(this.ribs[r] as FamilyRib, slot);
    // RFC 7313 §4: a peer that never sends EoRR must not keep stale routes forever.
    if (slot.stale > 0 && slot.staleUntil < 0) slot.staleUntil = this.now() + ENHANCED_REFRESH_STALE_MS;
  }

  receiveEndOfRefresh(id: string, family: FamilyKey): void {
    this.receiveEndOfRib(id, family);
  }

  /**
   * Every prefix the FIB should hold now (the last commit's forwarding state), with its
   * next hops: what a FIB repair reconciles against. One string per prefix: for timers, not
   * for the hot path. Empty when the RIB was made without onFibChanges (nothing is tracked).
   */
  fibRoutes(): Map<string, readonly string[]> {
    const out = new Map<string, readonly string[]>();
    for (const rib of this.ribs) {
      const t = rib.table;
      for (let pid = 0; pid < t.highWater; pid++) {
        const set = t.fibSet[pid] as number;
        if (set === 0 || !t.isLive(pid)) continue;
        out.set(formatPrefix(rib.afi, t.addrs, pid * t.words, t.lengths[pid] as number), this.nhSets.get(set).hops);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- import

  receiveUpdate(id: string, update: UpdateMessage, action: WireAction | null): ReceiveResult {
    const slot = this.requirePeer(id);
    if (!slot.up) throw new Error(`RIB: UPDATE from peer ${id}, which is not up`);
    const withdrawAll = action === 'treat-as-withdraw' || action === 'session-reset' || action === 'afi-safi-disable';
    if (update.withdrawn.count > 0) this.withdrawList(slot, this.ribs[0] as FamilyRib, update.withdrawn);
    const unreach = update.mpUnreach;
    if (unreach !== null && unreach.nlri !== null && unreach.safi === Safi.UNICAST) {
      const r = this.ribIndex(familyKey(unreach.afi, unreach.safi));
      if (r >= 0) this.withdrawList(slot, this.ribs[r] as FamilyRib, unreach.nlri);
    }
    if (update.announced.count > 0) {
      const nh = update.attributes.nextHop;
      this.announceList(slot, this.ribs[0] as FamilyRib, update.announced, update, 'c', nh === undefined ? null : ipv4Bytes(nh), withdrawAll);
    }
    const reach = update.mpReach;
    if (reach !== null && reach.nlri !== null && reach.nlri.count > 0 && reach.safi === Safi.UNICAST) {
      const r = this.ribIndex(familyKey(reach.afi, reach.safi));
      if (r >= 0) this.announceList(slot, this.ribs[r] as FamilyRib, reach.nlri, update, 'm', reach.nextHop, withdrawAll);
    }
    const max = slot.info?.maxPrefixes;
    return { maxPrefixesExceeded: max !== undefined && slot.accepted > max };
  }

  /**
   * RFC 4271 §9.1.2 and RFC 4456 §8: routes that looped back to us are ignored (treated as
   * withdrawn), as is a next hop that is our own address on the session.
   */
  private refused(slot: PeerSlot, e: AttrEntry): boolean {
    const info = slot.info as RibPeerInfo;
    if (countAs(e.attrs, this.localAsn) > (info.numAllowedLocalAs ?? 0)) return true;
    if (e.originatorId >= 0 && e.originatorId === this.routerId) return true;
    if (e.attrs.clusterList !== undefined && e.attrs.clusterList.includes(this.clusterId)) return true;
    return e.nextHopText !== null && e.nextHopText === info.localAddress;
  }

  private announceList(slot: PeerSlot, rib: FamilyRib, list: NlriList, update: UpdateMessage, via: 'c' | 'm', nextHop: Buffer | null, withdrawAll: boolean): void {
    slot.received += list.count;
    const info = slot.info as RibPeerInfo;
    const policy = info.importPolicy;
    if (withdrawAll || nextHop === null || !slot.families.has(rib.family) || policy.rejectAll) {
      this.withdrawList(slot, rib, list);
      return;
    }
    // One interned entry per UPDATE: the codec's key identifies attributes and next hop.
    const key = `${slot.ebgp ? 'e' : 'i'}${via}${rib.afi}${update.attributeKey.toString('latin1')}`;
    let attrId = this.attrs.lookup(key);
    if (attrId < 0) {
      let attrs = update.attributes;
      // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored.
      if (slot.ebgp && attrs.localPref !== undefined) {
        attrs = { ...attrs };
        delete attrs.localPref;
      }
      attrId = this.attrs.add(key, attrs, nextHop, false);
    }
    const entry = this.attrs.get(attrId);
    if (this.refused(slot, entry)) {
      this.withdrawList(slot, rib, list);
      this.attrs.dropIfUnused(attrId);
      return;
    }
    const now = this.nowSeconds();
    const { table } = rib;
    const w = table.words;
    if (policy.acceptAllUnchanged) {
      for (let i = 0; i < list.count; i++) {
        const pid = table.findOrAdd(list.addrs, i * w, list.lengths[i] as number);
        this.upsert(rib, slot, pid, list.pathIds === null ? 0 : (list.pathIds[i] as number), attrId, now);
      }
    } else {
      const input = this.policyInput;
      input.afi = rib.afi;
      input.attrs = entry.attrs;
      input.nextHop = entry.nextHopText;
      input.peer = slot.policyPeer;
      delete input.originated;
      const made = new Map<PathAttributes, number>();
      for (let i = 0; i < list.count; i++) {
        for (let k = 0; k < w; k++) input.addr[k] = list.addrs[i * w + k] as number;
        input.length = list.lengths[i] as number;
        const v = policy.evaluate(input);
        const rx = list.pathIds === null ? 0 : (list.pathIds[i] as number);
        if (!v.accept) {
          this.withdrawOne(rib, slot, list.addrs, i * w, list.lengths[i] as number, rx);
          continue;
        }
        let id = attrId;
        if (v.attrs !== entry.attrs) {
          id = made.get(v.attrs) ?? this.internPolicyResult(slot, rib, entry, v.attrs);
          made.set(v.attrs, id);
        }
        const pid = table.findOrAdd(list.addrs, i * w, list.lengths[i] as number);
        this.upsert(rib, slot, pid, rx, id, now);
      }
      for (const id of made.values()) this.attrs.dropIfUnused(id);
    }
    this.attrs.dropIfUnused(attrId);
  }

  /** An attribute set an import policy produced, interned by its encoding. */
  private internPolicyResult(slot: PeerSlot, rib: FamilyRib, from: AttrEntry, attrs: PathAttributes): number {
    const marker = policyNextHop(attrs);
    let nh = from.nextHop;
    if (marker !== undefined && marker !== 'self') nh = addressBytes(marker) ?? nh;
    else if (rib.afi === Afi.IPV4 && nh !== null && nh.length === 4 && attrs.nextHop !== undefined) nh = ipv4Bytes(attrs.nextHop);
    const key = `P${slot.ebgp ? 'e' : 'i'}${rib.afi}${encodeAttributes(attrs, KEY_WIRE).toString('latin1')}\u0100${nh?.toString('latin1') ?? ''}`;
    const found = this.attrs.lookup(key);
    return found >= 0 ? found : this.attrs.add(key, attrs, nh, false);
  }

  /** Add or replace the path of (peer, path id) for a prefix. */
  private upsert(rib: FamilyRib, slot: PeerSlot, pid: number, rx: number, attrId: number, now: number): void {
    const { table, paths } = rib;
    const pPeer = paths.peer;
    const me = slot.index;
    let p = table.head[pid] as number;
    while (p !== NONE && !(pPeer[p] === me && paths.rxPathId(p) === rx)) p = paths.next[p] as number;
    if (p === NONE) {
      p = paths.allocate(me, attrId, rx, now);
      this.attrs.retain(attrId);
      if (table.head[pid] === NONE) this.prefixCount++;
      paths.next[p] = table.head[pid] as number;
      table.head[pid] = p;
      slot.accepted++;
    } else {
      const wasStale = ((paths.flags[p] as number) & PathFlag.STALE) !== 0;
      if (wasStale) {
        paths.flags[p] = (paths.flags[p] as number) & ~PathFlag.STALE;
        slot.stale--;
        slot.accepted++;
      }
      const old = paths.attr[p] as number;
      if (old === attrId) {
        if (!wasStale) return; // the same route again: nothing changed
      } else {
        this.attrs.retain(attrId);
        this.attrs.release(old);
        paths.attr[p] = attrId;
        paths.since[p] = now;
      }
      if (table.best[pid] === p) table.flags[pid] = (table.flags[pid] as number) | PrefixFlag.BEST_DIRTY;
    }
    table.flags[pid] = (table.flags[pid] as number) | PrefixFlag.PATHS_DIRTY;
    rib.touch(pid);
  }

  private withdrawList(slot: PeerSlot, rib: FamilyRib, list: NlriList): void {
    const w = rib.table.words;
    for (let i = 0; i < list.count; i++) this.withdrawOne(rib, slot, list.addrs, i * w, list.lengths[i] as number, list.pathIds === null ? 0 : (list.pathIds[i] as number));
  }

  private withdrawOne(rib: FamilyRib, slot: PeerSlot, words: Uint32Array, off: number, len: number, rx: number): boolean {
    const { table, paths } = rib;
    const pid = table.find(words, off, len);
    if (pid === NONE) return false;
    let prev = NONE;
    let p = table.head[pid] as number;
    while (p !== NONE && !(paths.peer[p] === slot.index && paths.rxPathId(p) === rx)) {
      prev = p;
      p = paths.next[p] as number;
    }
    if (p === NONE) return false;
    this.unlink(rib, slot, pid, p, prev);
    return true;
  }

  private unlink(rib: FamilyRib, slot: PeerSlot, pid: number, p: number, prev: number): void {
    const { table, paths } = rib;
    if (prev === NONE) table.head[pid] = paths.next[p] as number;
    else paths.next[prev] = paths.next[p] as number;
    if (table.head[pid] === NONE) this.prefixCount--;
    if (((paths.flags[p] as number) & PathFlag.STALE) !== 0) slot.stale--;
    else slot.accepted--;
    if (table.best[pid] === p) {
      // The row is about to be freed (and may be reused): takeOutgoing() before the next
      // commit() must not follow it. Until then the prefix has no best path.
      table.best[pid] = NONE;
      table.flags[pid] = (table.flags[pid] as number) | PrefixFlag.BEST_DIRTY;
    }
    table.flags[pid] = (table.flags[pid] as number) | PrefixFlag.PATHS_DIRTY;
    this.attrs.release(paths.attr[p] as number);
    paths.free(p);
    rib.touch(pid);
  }

  /** Mark the peer's paths in this family stale (a table walk, as BIRD's refresh does). */
  private markStale(rib: FamilyRib, slot: PeerSlot): void {
    const { paths, table } = rib;
    const me = slot.index;
    for (let pid = 0; pid < table.highWater; pid++) {
      for (let p = table.head[pid] as number; p !== NONE; p = paths.next[p] as number) {
        if (paths.peer[p] !== me || ((paths.flags[p] as number) & PathFlag.STALE) !== 0) continue;
        paths.flags[p] = (paths.flags[p] as number) | PathFlag.STALE;
        slot.accepted--;
        slot.stale++;
        rib.touch(pid);
      }
    }
  }

  /** Remove the peer's paths in this family: all of them, or only the stale ones. */
  private dropPaths(rib: FamilyRib, slot: PeerSlot, staleOnly: boolean): void {
    const { paths, table } = rib;
    const me = slot.index;
    for (let pid = 0; pid < table.highWater; pid++) {
      let prev = NONE;
      for (let p = table.head[pid] as number; p !== NONE; ) {
        const next = paths.next[p] as number;
        if (paths.peer[p] === me && (!staleOnly || ((paths.flags[p] as number) & PathFlag.STALE) !== 0)) this.unlink(rib, slot, pid, p, prev);
        else prev = p;
        p = next;
      }
    }
  }

  // ---------------------------------------------------------------- local routes

  originate(route: OriginateRoute): void {
    const pfx = parsePrefix(route.prefix);
    const rib = this.ribs[pfx.afi === Afi.IPV6 ? 1 : 0] as FamilyRib;
    let nh: Buffer | null = null;
    if (route.nextHop !== undefined) {
      nh = addressBytes(route.nextHop);
      if (nh === null) throw new BadOriginationError(route.prefix, `next hop "${route.nextHop}" is not an address`);
    }
    const attrs: PathAttributes = { origin: Origin.IGP, asPath: [] };
    if (nh !== null && nh.length === 4) attrs.nextHop = nh.readUInt32BE(0);
    if (route.med !== undefined) attrs.med = route.med;
    if (route.localPref !== undefined) attrs.localPref = route.localPref;
    if (route.communities !== undefined && route.communities.length > 0) attrs.communities = [...route.communities];
    const key = `L${pfx.afi}${JSON.stringify([route.nextHop ?? null, route.med ?? null, route.localPref ?? null, route.communities ?? []])}`;
    let attrId = this.attrs.lookup(key);
    if (attrId < 0) attrId = this.attrs.add(key, attrs, nh, true);
    const pid = rib.table.findOrAdd(pfx.words, 0, pfx.length);
    this.upsert(rib, this.peers[LOCAL] as PeerSlot, pid, 0, attrId, this.nowSeconds());
    this.attrs.dropIfUnused(attrId);
  }

  withdrawOriginated(prefix: string): boolean {
    const pfx = parsePrefix(prefix);
    const rib = this.ribs[pfx.afi === Afi.IPV6 ? 1 : 0] as FamilyRib;
    return this.withdrawOne(rib, this.peers[LOCAL] as PeerSlot, pfx.words, 0, pfx.length, 0);
  }

  // ---------------------------------------------------------------- decision

  commit(): void {
    const fib = this.fib;
    fib.clear();
    const multipath = this.multipathMax > 1;
    // Without a FIB consumer there is no forwarding state to keep (nor changes to record).
    const trackFib = this.onFibChanges !== null;
    for (let r = 0; r < this.ribs.length; r++) {
      const rib = this.ribs[r] as FamilyRib;
      if (rib.nTouched === 0) continue;
      const { table, paths } = rib;
      const outs: AdjRibOut[] = [];
      const outPeers: number[] = [];
      // ADD-PATH send peers hear of every path change, not only best-path changes.
      const pathOuts: AdjRibOut[] = [];
      for (const slot of this.peers) {
        const o = slot.out[r];
        if (slot.up && o) {
          if (o.pathsSent !== null) pathOuts.push(o);
          else {
            outs.push(o);
            outPeers.push(slot.index);
          }
        }
      }
      const touched = rib.touched;
      for (let i = 0; i < rib.nTouched; i++) {
        const pid = touched[i] as number;
        const f = table.flags[pid] as number;
        table.flags[pid] = f & ~(PrefixFlag.TOUCHED | PrefixFlag.BEST_DIRTY | PrefixFlag.PATHS_DIRTY);
        const best = this.decision.run(table.head[pid] as number, paths, this.attrs, this.peers);
        const changed = best !== table.best[pid] || (f & PrefixFlag.BEST_DIRTY) !== 0;
        if (changed) {
          table.best[pid] = best;
          const from = best === NONE ? -1 : (paths.peer[best] as number);
          for (let k = 0; k < outs.length; k++) {
            const o = outs[k] as AdjRibOut;
            // Nothing to tell a peer that has nothing for the prefix and still gets nothing:
            // no best path, or the best is its own (never sent back to where it came from).
            if ((from < 0 || from === outPeers[k]) && !o.holds(pid)) continue;
            o.enqueue(pid);
          }
        }
        for (let k = 0; k < pathOuts.length; k++) {
          const o = pathOuts[k] as AdjRibOut;
          if (best !== NONE || o.holds(pid)) o.enqueue(pid);
        }
        if (trackFib && (changed || multipath)) this.updateFib(rib, pid, best);
        if (table.head[pid] === NONE) this.maybeForget(rib, pid);
      }
      rib.nTouched = 0;
      if (rib.touched.length > 65536) rib.touched = new Int32Array(1024);
      table.flushRemovals();
    }
    if (fib.count > 0 && this.onFibChanges !== null) this.onFibChanges(fib);
    fib.clear(); // a big batch's arrays go now, not at the next commit
  }

  /** Compare the forwarding set of a prefix with what the FIB has, and record a change. */
  private updateFib(rib: FamilyRib, pid: number, best: number): void {
    const { table, paths } = rib;
    let set = 0;
    if (best !== NONE && paths.peer[best] !== LOCAL) {
      const d = this.decision;
      if (d.ecmpCount === 1) {
        const nh = this.attrs.get(paths.attr[best] as number).nextHopText;
        if (nh !== null) set = this.nhSets.acquire(nh);
      } else {
        const hops: string[] = [];
        for (let k = 0; k < d.ecmpCount; k++) {
          const row = d.ecmp[k] as number;
          if (paths.peer[row] === LOCAL) continue;
          const nh = this.attrs.get(paths.attr[row] as number).nextHopText;
          if (nh !== null) hops.push(nh);
        }
        if (hops.length > 0) set = this.nhSets.acquire(hops.join(','), hops);
      }
    }
    const old = table.fibSet[pid] as number;
    if (old !== 0) this.nhSets.release(old);
    if (set === old) return;
    table.fibSet[pid] = set;
    this.fib.push(rib.afi, table.addrs, pid * table.words, table.lengths[pid] as number, set === 0 ? null : this.nhSets.get(set).hops);
  }

  /** Free a prefix that has no path and that no peer still needs to hear about. */
  private maybeForget(rib: FamilyRib, pid: number): void {
    const t = rib.table;
    if (!t.isLive(pid) || t.head[pid] !== NONE || t.outRefs[pid] !== 0) return;
    if (((t.flags[pid] as number) & PrefixFlag.TOUCHED) !== 0 || t.fibSet[pid] !== 0) return;
    t.remove(pid);
  }

  // ---------------------------------------------------------------- export

  hasOutgoing(id: string): boolean {
    const slot = this.peers[this.peerIndex.get(id) ?? -1];
    if (slot === undefined || !slot.up) return false;
    if (slot.otherEor.length > 0) return true;
    for (const out of slot.out) if (out && (out.pending > 0 || out.eorPending || out.borrPending || out.eorrPending)) return true;
    return false;
  }

  takeOutgoing(id: string, maxBytes: number): Buffer[] {
    const slot = this.peers[this.peerIndex.get(id) ?? -1];
    const out: Buffer[] = [];
    if (slot === undefined || !slot.up) return out;
    let budget = maxBytes;
    for (let r = 0; r < this.ribs.length && budget > 0; r++) {
      const adj = slot.out[r];
      if (!adj) continue;
      const rib = this.ribs[r] as FamilyRib;
      if (adj.borrPending) {
        out.push(encodeRouteRefresh({ afi: familyAfi(adj.family), safi: familySafi(adj.family), subtype: 1 }));
        adj.borrPending = false;
      }
      if (adj.pathsSent === null) while (budget > 0 && adj.pending > 0) budget -= this.drain(slot, rib, adj, budget, out);
      else while (budget > 0 && adj.pending > 0) budget -= this.drainPaths(slot, rib, adj, budget, out);
      if (adj.pending === 0 && adj.eorPending && budget > 0) {
        const eor = encodeEndOfRib(adj.family);
        out.push(eor);
        budget -= eor.length;
        adj.eorPending = false;
      }
      if (adj.pending === 0 && adj.eorrPending && !adj.eorPending && budget > 0) {
        out.push(encodeRouteRefresh({ afi: familyAfi(adj.family), safi: familySafi(adj.family), subtype: 2 }));
        budget -= 23;
        adj.eorrPending = false;
      }
    }
    if (budget > 0 && slot.otherEor.length > 0) {
      for (const f of slot.otherEor) out.push(encodeEndOfRib(f));
      slot.otherEor = [];
    }
    for (const rib of this.ribs) rib.table.flushRemovals();
    return out;
  }

  /** Take queued prefixes worth about `budget` bytes, pack them; returns the bytes made (at least 1). */
  private drain(slot: PeerSlot, rib: FamilyRib, adj: AdjRibOut, budget: number, out: Buffer[]): number {
    const { table } = rib;
    const wire = slot.wire;
    const made = new Map<PathAttributes, number>();
    let nW = 0;
    let nA = 0;
    let estimate = 0;
    const groups = new Set<number>();
    // One-entry memo: a run of prefixes from one peer with one attribute set costs one lookup.
    let memoAttr = -1;
    let memoPeer = -1;
    let memoOut = -1;
    while (estimate < budget) {
      const pid = adj.dequeue();
      if (pid < 0) break;
      let want = 0;
      const best = table.best[pid] as number;
      if (best !== NONE) {
        const a = rib.paths.attr[best] as number;
        const sp = rib.paths.peer[best] as number;
        if (a === memoAttr && sp === memoPeer) want = memoOut;
        else {
          want = this.desired(slot, rib, pid, a, sp, made);
          // A policy that looked at this very prefix decided for it alone.
          memoAttr = this.perPrefixVerdict ? -1 : a;
          memoPeer = sp;
          memoOut = want;
        }
      }
      if (want === (adj.sent[pid] as number) && (want === 0 || !adj.forced(pid))) {
        if (adj.settle(pid, want, this.outs)) this.maybeForget(rib, pid);
        continue;
      }
      const bytes = 1 + ((table.lengths[pid] as number) + 7 >> 3);
      if (want === 0) {
        if (nW === this.wPids.length) this.wPids = grow(this.wPids);
        this.wPids[nW++] = pid;
      } else {
        if (nA === this.aPids.length) {
          this.aPids = grow(this.aPids);
          this.aOut = grow(this.aOut);
        }
        this.aPids[nA] = pid;
        this.aOut[nA++] = want - 1;
        if (!groups.has(want)) {
          groups.add(want);
          estimate += this.outs.get(want - 1).bytes.length + UPDATE_OVERHEAD;
        }
      }
      estimate += bytes;
    }
    let made_bytes = packWithdrawn(table, this.wPids, nW, wire, out);
    made_bytes += packAnnounced(table, this.aPids, this.aOut, nA, this.outs, wire, out);
    for (let i = 0; i < nW; i++) {
      const pid = this.wPids[i] as number;
      if (adj.settle(pid, 0, this.outs)) this.maybeForget(rib, pid);
    }
    for (let i = 0; i < nA; i++) adj.settle(this.aPids[i] as number, (this.aOut[i] as number) + 1, this.outs);
    for (const id of made.values()) if (id >= 0) this.outs.release(id);
    return Math.max(1, made_bytes);
  }

  /**
   * drain() for a peer with ADD-PATH send (RFC 7911): every path of a queued prefix that the
   * export rules and policy let through goes with its own path id (its row + 1, stable while
   * the path lives); a path id the peer has and should no longer have is withdrawn.
   */
  private drainPaths(slot: PeerSlot, rib: FamilyRib, adj: AdjRibOut, budget: number, out: Buffer[]): number {
    const { table, paths } = rib;
    const sentAll = adj.pathsSent as Map<number, Map<number, number>>;
    const made = new Map<PathAttributes, number>();
    const wPids: number[] = [];
    const wIds: number[] = [];
    const aPids: number[] = [];
    const aIds: number[] = [];
    const aOut: number[] = [];
    const settled: number[] = [];
    const next: (Map<number, number> | null)[] = [];
    const groups = new Set<number>();
    let estimate = 0;
    while (estimate < budget) {
      const pid = adj.dequeue();
      if (pid < 0) break;
      const old = sentAll.get(pid);
      const force = adj.forced(pid);
      let now: Map<number, number> | null = null;
      for (let p = table.head[pid] as number; p !== NONE; p = paths.next[p] as number) {
        const want = this.desired(slot, rib, pid, paths.attr[p] as number, paths.peer[p] as number, made);
        if (want === 0) continue;
        (now ??= new Map()).set(p + 1, want);
      }
      const bytes = 5 + ((table.lengths[pid] as number) + 7 >> 3);
      if (old !== undefined) {
        for (const txId of old.keys()) {
          if (now !== null && now.has(txId)) continue;
          wPids.push(pid);
          wIds.push(txId);
          estimate += bytes;
        }
      }
      if (now !== null) {
        for (const [txId, want] of now) {
          if (!force && old !== undefined && old.get(txId) === want) continue;
          aPids.push(pid);
          aIds.push(txId);
          aOut.push(want - 1);
          if (!groups.has(want)) {
            groups.add(want);
            estimate += this.outs.get(want - 1).bytes.length + UPDATE_OVERHEAD;
          }
          estimate += bytes;
        }
      }
      settled.push(pid);
      next.push(now);
    }
    const wire = slot.wire;
    let madeBytes = packWithdrawn(table, Int32Array.from(wPids), wPids.length, wire, out, Int32Array.from(wIds));
    madeBytes += packAnnounced(table, Int32Array.from(aPids), Int32Array.from(aOut), aPids.length, this.outs, wire, out, Int32Array.from(aIds));
    for (let i = 0; i < settled.length; i++) {
      const pid = settled[i] as number;
      if (adj.settlePaths(pid, next[i] as Map<number, number> | null, this.outs)) this.maybeForget(rib, pid);
    }
    for (const id of made.values()) if (id >= 0) this.outs.release(id);
    return Math.max(1, madeBytes);
  }

  /**
   * What `slot` should have for prefix pid whose best path has attribute set `attrId` and
   * comes from peer `srcIndex`: OutStore id + 1, or 0 for nothing. Sets perPrefixVerdict
   * when an export policy looked at the prefix (so the answer is not shared by others).
   */
  private desired(slot: PeerSlot, rib: FamilyRib, pid: number, attrId: number, srcIndex: number, made: Map<PathAttributes, number>): number {
    this.perPrefixVerdict = false;
    const src = this.peers[srcIndex] as PeerSlot;
    if (!mayAdvertise(src, srcIndex, slot, slot.index)) return 0;
    const info = slot.info as RibPeerInfo;
    const policy = info.exportPolicy;
    if (policy.rejectAll) return 0;
    const e = this.attrs.get(attrId);
    if (policy.acceptAllUnchanged) return this.cachedOut(slot, rib, e, src) + 1;
    const input = this.policyInput;
    const { table } = rib;
    input.afi = rib.afi;
    for (let k = 0; k < table.words; k++) input.addr[k] = table.addrs[pid * table.words + k] as number;
    input.length = table.lengths[pid] as number;
    input.attrs = e.attrs;
    input.nextHop = e.nextHopText;
    input.peer = slot.policyPeer;
    input.originated = e.local;
    this.perPrefixVerdict = true;
    const v = policy.evaluate(input);
    if (!v.accept) return 0;
    if (v.attrs === e.attrs) return this.cachedOut(slot, rib, e, src) + 1;
    let id = made.get(v.attrs);
    if (id === undefined) {
      const marker = policyNextHop(v.attrs);
      const o = outgoingAttributes(rib.afi, v.attrs, e.nextHop, src, slot, this.exportContext, {
        ...(marker !== undefined ? { nextHop: marker } : {}),
        medSet: v.attrs.med !== undefined && v.attrs.med !== e.attrs.med,
      });
      id = o === null ? -1 : this.outs.intern(o, slot.wire);
      made.set(v.attrs, id);
    }
    if (id >= 0 && this.outs.get(id).nextHopText === info.address) return 0;
    return id + 1;
  }

  /** The outgoing form of an attribute set towards peers of slot's profile, cached on the entry. */
  private cachedOut(slot: PeerSlot, rib: FamilyRib, e: AttrEntry, src: PeerSlot): number {
    // Reflected routes get ORIGINATOR_ID from their source peer when they lack one.
    const bySource = !slot.ebgp && !src.ebgp && !src.local && e.originatorId < 0;
    const key = slot.profile * 65536 + (bySource ? src.index + 1 : 0);
    let cache = e.out;
    if (cache === null) cache = e.out = new Map();
    let id = cache.get(key);
    if (id === undefined) {
      const o = outgoingAttributes(rib.afi, e.attrs, e.nextHop, src, slot, this.exportContext, {});
      id = o === null ? -1 : this.outs.intern(o, slot.wire);
      cache.set(key, id);
    }
    if (id >= 0 && this.outs.get(id).nextHopText === (slot.info as RibPeerInfo).address) return -1;
    return id;
  }

  private releaseOutCache(e: AttrEntry): void {
    if (e.out === null) return;
    for (const id of e.out.values()) if (id >= 0) this.outs.release(id);
    e.out = null;
  }

  private profileOf(slot: PeerSlot): number {
    const key = [
      slot.ebgp,
      slot.routeServerClient,
      slot.nextHopMode,
      slot.selfV4?.toString('hex') ?? '',
      slot.selfV6?.toString('hex') ?? '',
      slot.wire.as4,
      slot.wire.extendedNextHop.has(IPV4_UNICAST),
    ].join('|');
    let id = this.profiles.get(key);
    if (id === undefined) {
      id = this.profiles.size + 1;
      this.profiles.set(key, id);
    }
    return id;
  }

  // ---------------------------------------------------------------- views

  get size(): { prefixes: number; paths: number } {
    let paths = 0;
    for (const rib of this.ribs) paths += rib.paths.count;
    return { prefixes: this.prefixCount, paths };
  }

  routes(query: RouteQuery = {}): RouteView[] {
    const out: RouteView[] = [];
    const limit = query.limit ?? Infinity;
    const only = query.prefix !== undefined ? parsePrefix(query.prefix) : null;
    const peerIdx = query.peer === undefined ? -1 : query.peer === 'local' ? LOCAL : (this.peerIndex.get(query.peer) ?? -2);
    if (peerIdx === -2) return out;
    const nowS = this.nowSeconds();
    for (const rib of this.ribs) {
      if (query.family !== undefined && query.family !== rib.family) continue;
      if (only !== null && only.afi !== rib.afi) continue;
      const { table, paths } = rib;
      const visit = (pid: number): boolean => {
        if (table.head[pid] === NONE) return true;
        const best = this.decision.run(table.head[pid] as number, paths, this.attrs, this.peers);
        const ecmp = new Set<number>();
        for (let k = 0; k < this.decision.ecmpCount; k++) ecmp.add(this.decision.ecmp[k] as number);
        for (let p = table.head[pid] as number; p !== NONE; p = paths.next[p] as number) {
          if (peerIdx >= 0 && paths.peer[p] !== peerIdx) continue;
          if (out.length >= limit) return false;
          out.push(this.view(rib, pid, p, p === best, ecmp.has(p) && paths.peer[p] !== LOCAL, nowS));
        }
        return true;
      };
      if (only !== null) {
        const pid = table.find(only.words, 0, only.length);
        if (pid !== NONE) visit(pid);
        continue;
      }
      for (let pid = 0; pid < table.highWater; pid++) if (table.isLive(pid) && !visit(pid)) return out;
    }
    return out;
  }

  private view(rib: FamilyRib, pid: number, p: number, best: boolean, ecmp: boolean, nowS: number): RouteView {
    const { table, paths } = rib;
    const e = this.attrs.get(paths.attr[p] as number);
    const a = e.attrs;
    const slot = this.peers[paths.peer[p] as number] as PeerSlot;
    const v: RouteView = {
      prefix: formatPrefix(rib.afi, table.addrs, pid * table.words, table.lengths[pid] as number),
      family: familyName(rib.family),
      nextHop: e.nextHopText,
      asPath: asPathText(a),
      origin: e.origin === Origin.IGP ? 'IGP' : e.origin === Origin.EGP ? 'EGP' : 'incomplete',
      localPref: e.localPref,
      med: a.med ?? null,
      communities: [
        ...(a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
        ...(a.largeCommunities ?? []).map((c) => `${c.globalAdmin}:${c.localData1}:${c.localData2}`),
      ],
      peer: slot.id,
      best,
      ecmp,
      stale: ((paths.flags[p] as number) & PathFlag.STALE) !== 0,
      ageSeconds: Math.max(0, nowS - (paths.since[p] as number)),
    };
    if (slot.info?.wire.addPathReceive.has(rib.family)) v.pathId = paths.rxPathId(p);
    if (a.originatorId !== undefined) v.originatorId = ipv4ToString(a.originatorId);
    if (a.clusterList !== undefined) v.clusterList = a.clusterList.map(ipv4ToString);
    return v;
  }

  // ---------------------------------------------------------------- helpers

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000) >>> 0;
  }

  private ribIndex(family: FamilyKey): number {
    if (family === IPV4_UNICAST) return 0;
    if (family === IPV6_UNICAST) return 1;
    return -1;
  }

  private slotFor(id: string): PeerSlot {
    const i = this.peerIndex.get(id);
    if (i !== undefined) return this.peers[i] as PeerSlot;
    if (id === 'local') throw new Error('RIB: "local" is reserved for originated routes');
    if (this.peers.length > 0xffff) throw new Error('RIB: too many peers');
    const slot = new PeerSlot(this.peers.length, id);
    this.peers.push(slot);
    this.peerIndex.set(id, slot.index);
    return slot;
  }

  private requirePeer(id: string): PeerSlot {
    const i = this.peerIndex.get(id);
    if (i === undefined) throw new Error(`RIB: unknown peer ${id}`);
    return this.peers[i] as PeerSlot;
  }
}

export class BadOriginationError extends UserError {
  constructor(prefix: string, why: string) {
    super(`originate ${prefix}: ${why}`);
    this.name = 'BadOriginationError';
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function asPathText(a: PathAttributes): string {
  return (a.asPath ?? [])
    .map((s) => {
      const list = s.asns.join(' ');
      if (s.type === AsPathSegmentType.AS_SET) return `{${s.asns.join(',')}}`;
      if (s.type === AsPathSegmentType.AS_CONFED_SEQUENCE) return `(${list})`;
      if (s.type === AsPathSegmentType.AS_CONFED_SET) return `[${s.asns.join(',')}]`;
      return list;
    })
    .join(' ');
}
