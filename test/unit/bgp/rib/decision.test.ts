import { expect } from 'chai';
import { Origin, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import type { Rib } from '../../../../src/bgp/rib/index.js';
import { ebgpAttrs, LOCAL_ASN, makeRib, peer, send } from './helpers.js';

const P = '10.1.0.0/24';
const A = '192.0.2.1';
const B = '192.0.2.2';
const C = '192.0.2.3';

function best(rib: Rib, prefix = P): string | undefined {
  return rib.routes({ prefix }).find((r) => r.best)?.peer;
}

/** Two iBGP peers A (router id 2) and B (router id 1) each announce P with their attributes. */
function race(a: PathAttributes, b: PathAttributes, opts: { aEbgp?: boolean; bEbgp?: boolean; alwaysCompareMed?: boolean } = {}): Rib {
  const { rib } = makeRib(opts.alwaysCompareMed ? { alwaysCompareMed: true } : {});
  rib.peerUp(peer(A, { peerAsn: opts.aEbgp ? 65001 : LOCAL_ASN, routerId: 2 }));
  rib.peerUp(peer(B, { peerAsn: opts.bEbgp ? 65002 : LOCAL_ASN, routerId: 1 }));
  send(rib, A, { prefixes: [P], attrs: a, nextHop: A });
  send(rib, B, { prefixes: [P], attrs: b, nextHop: B });
  rib.commit();
  return rib;
}

const path = (...asns: number[]) => [{ type: 2 as const, asns }];

describe('bgp/rib decision process', () => {
  it('1. prefers the higher LOCAL_PREF, before AS path length', () => {
    const rib = race({ origin: Origin.IGP, asPath: path(1, 2, 3), localPref: 200 }, { origin: Origin.IGP, asPath: path(1), localPref: 100 });
    expect(best(rib)).to.equal(A);
  });

  it('treats a missing LOCAL_PREF as 100 and ignores LOCAL_PREF from eBGP peers', () => {
    expect(best(race({ origin: Origin.IGP, asPath: path(1), localPref: 101 }, { origin: Origin.IGP, asPath: path(1) }))).to.equal(A);
    expect(best(race({ origin: Origin.IGP, asPath: path(1), localPref: 99 }, { origin: Origin.IGP, asPath: path(1) }))).to.equal(B);
    // A is eBGP and claims LOCAL_PREF 500: ignored, so B's 150 wins.
    const rib = race({ origin: Origin.IGP, asPath: path(65001), localPref: 500 }, { origin: Origin.IGP, asPath: path(7), localPref: 150 }, { aEbgp: true });
    expect(best(rib)).to.equal(B);
    expect(rib.routes({ prefix: P, peer: A })[0]!.localPref).to.equal(100);
  });

  it('2. prefers the shorter AS path, an AS_SET counting one, before ORIGIN', () => {
    expect(best(race({ origin: Origin.INCOMPLETE, asPath: path(1, 2) }, { origin: Origin.IGP, asPath: path(1, 2, 3) }))).to.equal(A);
    const set = [{ type: 2 as const, asns: [1] }, { type: 1 as const, asns: [5, 6, 7] }];
    expect(best(race({ origin: Origin.INCOMPLETE, asPath: set }, { origin: Origin.IGP, asPath: path(1, 2, 3) }))).to.equal(A);
  });

  it('3. prefers the lower ORIGIN, before MED', () => {
    expect(best(race({ origin: Origin.IGP, asPath: path(1), med: 50 }, { origin: Origin.EGP, asPath: path(1), med: 0 }))).to.equal(A);
  });

  it('4. prefers the lower MED from the same neighbour AS, before eBGP over iBGP', () => {
    // B is eBGP (would win step 5) but has the higher MED from the same AS 65009.
    const rib = race({ origin: Origin.IGP, asPath: path(65009), med: 10 }, { origin: Origin.IGP, asPath: path(65009), med: 20 }, { bEbgp: true });
    expect(best(rib)).to.equal(A);
  });

  it('4. ignores MED between different neighbour ASes unless alwaysCompareMed', () => {
    const a = { origin: Origin.IGP, asPath: path(65008), med: 10 };
    const b = { origin: Origin.IGP, asPath: path(65009), med: 20 };
    // B has the lower router id: it wins when MED does not count.
    expect(best(race(a, b))).to.equal(B);
    expect(best(race(a, b, { alwaysCompareMed: true }))).to.equal(A);
  });

  it('4. a missing MED counts as 0', () => {
    expect(best(race({ origin: Origin.IGP, asPath: path(65009) }, { origin: Origin.IGP, asPath: path(65009), med: 1 }))).to.equal(A);
  });

  it('4. eliminates by MED the way RFC 4271 does, whatever order the paths came in', () => {
    // Pairwise comparison is cyclic here: X beats Y (router id), Y beats Z (router id),
    // Z beats X (MED, same AS). The RFC drops X first, then picks Y on router id.
    const X = { id: A, routerId: 1, attrs: { origin: Origin.IGP, asPath: path(65001), med: 20 } };
    const Y = { id: B, routerId: 2, attrs: { origin: Origin.IGP, asPath: path(65002) } };
    const Z = { id: C, routerId: 3, attrs: { origin: Origin.IGP, asPath: path(65001), med: 10 } };
    for (const order of [[X, Y, Z], [Y, Z, X], [Z, X, Y], [X, Z, Y], [Z, Y, X], [Y, X, Z]]) {
      const { rib } = makeRib();
      for (const p of order) rib.peerUp(peer(p.id, { peerAsn: LOCAL_ASN, routerId: p.routerId }));
      for (const p of order) {
        send(rib, p.id, { prefixes: [P], attrs: p.attrs, nextHop: p.id });
        rib.commit();
      }
      expect(best(rib), order.map((o) => o.id).join(' ')).to.equal(B);
    }
  });

  it('5. prefers eBGP over iBGP, before router id', () => {
    // A is eBGP with the higher router id.
    expect(best(race({ origin: Origin.IGP, asPath: path(65001) }, { origin: Origin.IGP, asPath: path(7) }, { aEbgp: true }))).to.equal(A);
  });

  it('6. prefers the lower BGP identifier, ORIGINATOR_ID standing in for it', () => {
    expect(best(race({ origin: Origin.IGP, asPath: path(1) }, { origin: Origin.IGP, asPath: path(1) }))).to.equal(B);
    // A's path was reflected from originator 0.0.0.0, below B's router id 1.
    expect(best(race({ origin: Origin.IGP, asPath: path(1), originatorId: 0 }, { origin: Origin.IGP, asPath: path(1) }))).to.equal(A);
    expect(best(race({ origin: Origin.IGP, asPath: path(1) }, { origin: Origin.IGP, asPath: path(1), originatorId: 9 }))).to.equal(A);
  });

  it('7. prefers the shorter CLUSTER_LIST, before peer address', () => {
    // Same originator; A (lower address) has the longer cluster list.
    const rib = race(
      { origin: Origin.IGP, asPath: path(1), originatorId: 7, clusterList: [1, 2] },
      { origin: Origin.IGP, asPath: path(1), originatorId: 7, clusterList: [1] },
    );
    expect(best(rib)).to.equal(B);
  });

  it('8. prefers the lower peer address last', () => {
    const { rib } = makeRib();
    rib.peerUp(peer(B, { peerAsn: LOCAL_ASN, routerId: 5 }));
    rib.peerUp(peer(A, { peerAsn: LOCAL_ASN, routerId: 5 }));
    send(rib, B, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [] }, nextHop: B });
    send(rib, A, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [] }, nextHop: A });
    rib.commit();
    expect(best(rib)).to.equal(A);
  });

  it('0. a locally originated route beats any learned one', () => {
    const { rib } = makeRib();
    rib.peerUp(peer(A, { peerAsn: LOCAL_ASN }));
    send(rib, A, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], localPref: 1000 } });
    rib.originate({ prefix: P });
    rib.commit();
    expect(best(rib)).to.equal('local');
    expect(rib.withdrawOriginated(P)).to.equal(true);
    expect(rib.withdrawOriginated(P)).to.equal(false);
    rib.commit();
    expect(best(rib)).to.equal(A);
  });

  it('reports the multipath set (equal up to router id, distinct next hops) to the FIB, best first', () => {
    const { rib, fib } = makeRib({ multipathMax: 2 });
    rib.peerUp(peer(A, { peerAsn: 65001, routerId: 9 }));
    rib.peerUp(peer(B, { peerAsn: 65002, routerId: 1 }));
    rib.peerUp(peer(C, { peerAsn: 65003, routerId: 5 }));
    for (const [id, asn] of [[A, 65001], [B, 65002], [C, 65003]] as const) send(rib, id, { prefixes: [P], attrs: ebgpAttrs(asn), nextHop: id });
    rib.commit();
    expect(fib.at(-1)).to.deep.equal([{ prefix: P, afi: 1, nextHops: [B, C] }]);
    const views = rib.routes({ prefix: P });
    expect(views.filter((v) => v.ecmp).map((v) => v.peer).sort()).to.deep.equal([B, C]);
    // C's path gets longer: it leaves the set, A comes in.
    send(rib, C, { prefixes: [P], attrs: ebgpAttrs(65003, { asPath: path(65003, 65003) }), nextHop: C });
    rib.commit();
    expect(fib.at(-1)).to.deep.equal([{ prefix: P, afi: 1, nextHops: [B, A] }]);
    // An iBGP path never joins eBGP ones.
    const { rib: rib2, fib: fib2 } = makeRib({ multipathMax: 4 });
    rib2.peerUp(peer(A, { peerAsn: 65001 }));
    rib2.peerUp(peer(B, { peerAsn: LOCAL_ASN }));
    send(rib2, A, { prefixes: [P], attrs: ebgpAttrs(65001), nextHop: A });
    send(rib2, B, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: path(65001) }, nextHop: B });
    rib2.commit();
    expect(fib2.at(-1)).to.deep.equal([{ prefix: P, afi: 1, nextHops: [A] }]);
  });

  it('does not report a FIB change when the best path changes but its next hops do not', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(peer(A, { peerAsn: LOCAL_ASN }));
    send(rib, A, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [] }, nextHop: '198.51.100.1' });
    rib.commit();
    send(rib, A, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], med: 5 }, nextHop: '198.51.100.1' });
    rib.commit();
    expect(fib).to.have.length(1);
  });
});
