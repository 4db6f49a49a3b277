/**
 * The BGP decision process (RFC 4271 §9.1.2.2, RFC 4456 §9) over one prefix's candidate
 * paths, done as the RFC describes it: eliminate in rounds, so that the result does not
 * depend on the order paths arrived in (pairwise MED comparison would).
 *
 *   0. a locally originated route wins (FRR's weight 32768, BIRD's protocol preference);
 *      then a fresh path beats a stale one (BIRD's rule for graceful restart);
 *   1. highest LOCAL_PREF;  2. shortest AS_PATH;  3. lowest ORIGIN;
 *   4. lowest MED among paths from the same neighbour AS (any AS with alwaysCompareMed);
 *   5. eBGP over iBGP;
 *   (IGP cost to the next hop: not known to the RIB, all equal)
 *   -- the paths left are equal for multipath (ECMP) --
 *   6. lowest BGP identifier (ORIGINATOR_ID when present);  7. shortest CLUSTER_LIST;
 *   8. lowest peer address;  9. lowest ADD-PATH path id from that peer.
 */
import type { AttrStore } from './attr-store.js';
import { PathFlag, type PathPool } from './paths.js';
import { NONE } from './prefix-table.js';

export interface DecisionPeer {
  readonly local: boolean;
  readonly ebgp: boolean;
  /** The peer's BGP identifier, uint32. */
  readonly routerId: number;
  /** addressSortKey() of the peer address. */
  readonly addrKey: string;
}

export class DecisionProcess {
  /** After run(): the multipath set, best first, distinct next hops, at most multipathMax. */
  readonly ecmp: Int32Array;
  ecmpCount = 0;
  private cand = new Int32Array(16);

  constructor(
    private readonly multipathMax: number,
    private readonly alwaysCompareMed: boolean,
  ) {
    this.ecmp = new Int32Array(Math.max(1, multipathMax));
  }

  /** The best path of the list starting at `head`, or NONE. Fills ecmp / ecmpCount. */
  run(head: number, paths: PathPool, attrs: AttrStore, peers: readonly DecisionPeer[]): number {
    if (head === NONE) {
      this.ecmpCount = 0;
      return NONE;
    }
    const next = paths.next;
    if (next[head] === NONE) {
      this.ecmp[0] = head;
      this.ecmpCount = 1;
      return head;
    }
    let n = 0;
    for (let p = head; p !== NONE; p = next[p] as number) {
      if (n === this.cand.length) {
        const c = new Int32Array(n * 2);
        c.set(this.cand);
        this.cand = c;
      }
      this.cand[n++] = p;
    }
    const c = this.cand;
    const pa = paths.attr;
    const pp = paths.peer;
    const pf = paths.flags;
    const entry = (row: number) => attrs.get(pa[row] as number);
    const peer = (row: number) => peers[pp[row] as number] as DecisionPeer;

    // 0. local, then fresh over stale.
    n = keepMax(c, n, (r) => (peer(r).local ? 1 : 0));
    n = keepMax(c, n, (r) => (((pf[r] as number) & PathFlag.STALE) === 0 ? 1 : 0));
    // 1-3.
    n = keepMax(c, n, (r) => entry(r).localPref);
    n = keepMax(c, n, (r) => -entry(r).asPathLen);
    n = keepMax(c, n, (r) => -entry(r).origin);
    // 4. MED: drop a path when another one comparable with it has a lower MED.
    if (n > 1) {
      let m = 0;
      for (let i = 0; i < n; i++) {
        const a = entry(c[i] as number);
        let beaten = false;
        for (let j = 0; j < n && !beaten; j++) {
          const b = entry(c[j] as number);
          beaten = (this.alwaysCompareMed || a.neighborAs === b.neighborAs) && b.med < a.med;
        }
        if (!beaten) c[m++] = c[i] as number;
      }
      n = m;
    }
    // 5.
    n = keepMax(c, n, (r) => (peer(r).ebgp ? 1 : 0));

    // 6-9 order the survivors: the first is the best, the others may share the load.
    for (let i = 1; i < n; i++) {
      const r = c[i] as number;
      let j = i - 1;
      while (j >= 0 && this.tieBreak(r, c[j] as number, paths, attrs, peers) < 0) {
        c[j + 1] = c[j] as number;
        j--;
      }
      c[j + 1] = r;
    }
    const best = c[0] as number;
    this.ecmp[0] = best;
    let k = 1;
    for (let i = 1; i < n && k < this.ecmp.length; i++) {
      const nh = entry(c[i] as number).nextHopText;
      if (nh === null) continue;
      let dup = false;
      for (let j = 0; j < k && !dup; j++) dup = entry(this.ecmp[j] as number).nextHopText === nh;
      if (!dup) this.ecmp[k++] = c[i] as number;
    }
    this.ecmpCount = k;
    return best;
  }

  /** Negative when path a comes before path b on steps 6-9. */
  private tieBreak(a: number, b: number, paths: PathPool, attrs: AttrStore, peers: readonly DecisionPeer[]): number {
    const ea = attrs.get(paths.attr[a] as number);
    const eb = attrs.get(paths.attr[b] as number);
    const pa = peers[paths.peer[a] as number] as DecisionPeer;
    const pb = peers[paths.peer[b] as number] as DecisionPeer;
    const ida = ea.originatorId >= 0 ? ea.originatorId : pa.routerId;
    const idb = eb.originatorId >= 0 ? eb.originatorId : pb.routerId;
    if (ida !== idb) return ida - idb;
    if (ea.clusterListLen !== eb.clusterListLen) return ea.clusterListLen - eb.clusterListLen;
    if (pa.addrKey !== pb.addrKey) return pa.addrKey < pb.addrKey ? -1 : 1;
    return paths.rxPathId(a) - paths.rxPathId(b);
  }
}

/** Keep the candidates with the highest score, in order; returns how many are left. */
function keepMax(c: Int32Array, n: number, score: (row: number) => number): number {
  if (n <= 1) return n;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const s = score(c[i] as number);
    if (s > max) max = s;
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (score(c[i] as number) === max) c[m++] = c[i] as number;
  return m;
}
