/**
 * Random announce/withdraw sequences from two peers, with commits, restarts and partial
 * sends in between: the Loc-RIB must equal a brute-force recomputation from what the peers
 * last said, and what a third peer received over the wire must equal the best paths as
 * exported.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Origin, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import { IPV4_UNICAST, IPV6_UNICAST, LOCAL_ASN, makeRib, peer, Receiver, send } from './helpers.js';

const A = { id: '192.0.2.1', asn: 65001, routerId: 1, ebgp: true };
const B = { id: '192.0.2.2', asn: LOCAL_ASN, routerId: 2, ebgp: false };
const C = '192.0.2.3';
const V4 = ['10.0.0.0/8', '10.1.0.0/16', '10.1.1.0/24', '10.1.1.1/32', '192.168.0.0/16', '0.0.0.0/0'];
const V6 = ['2001:db8::/32', '2001:db8:1::/48'];

interface Route {
  attrs: PathAttributes;
  nextHop: string;
}

const attrsArb = (ebgp: boolean): fc.Arbitrary<PathAttributes> =>
  fc
    .record({
      origin: fc.constantFrom(Origin.IGP, Origin.IGP, Origin.INCOMPLETE),
      tail: fc.array(fc.constantFrom(65001, 65007, 65008), { maxLength: 1 }),
      first: fc.constantFrom(65001, 65007),
      med: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      localPref: fc.option(fc.constantFrom(90, 100, 110), { nil: undefined, freq: 2 }),
      communities: fc.option(fc.constantFrom<number[]>([1], [2, 3]), { nil: undefined }),
    })
    .map((r) => {
      const a: PathAttributes = { origin: r.origin, asPath: [{ type: 2, asns: [ebgp ? 65001 : r.first, ...r.tail] }] };
      if (r.med !== undefined) a.med = r.med;
      if (r.localPref !== undefined) a.localPref = r.localPref;
      if (r.communities !== undefined) a.communities = r.communities;
      return a;
    });

type Op =
  | { kind: 'announce'; from: 0 | 1; v4: string[]; v6: string[]; attrs: PathAttributes; nh: number }
  | { kind: 'withdraw'; from: 0 | 1; v4: string[]; v6: string[] }
  | { kind: 'commit' }
  | { kind: 'take'; bytes: number }
  | { kind: 'restartA' }
  | { kind: 'eorA' };

const prefixesArb = fc.record({ v4: fc.subarray(V4), v6: fc.subarray(V6) });
// Weighted towards announcements, so that both peers often have paths for one prefix that
// tie down to MED, eBGP/iBGP or router id.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ from: fc.constantFrom(0 as const, 1 as const), p: prefixesArb, nh: fc.integer({ min: 1, max: 3 }) }).chain(({ from, p, nh }) =>
    attrsArb(from === 0).map((attrs): Op => ({ kind: 'announce', from, v4: p.v4, v6: p.v6, attrs, nh })),
  ) },
  { weight: 2, arbitrary: fc.record({ from: fc.constantFrom(0 as const, 1 as const), p: prefixesArb }).map(({ from, p }): Op => ({ kind: 'withdraw', from, v4: p.v4, v6: p.v6 })) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: 'commit' }) },
  { weight: 2, arbitrary: fc.integer({ min: 30, max: 5000 }).map((bytes): Op => ({ kind: 'take', bytes })) },
  fc.constant<Op>({ kind: 'restartA' }),
  fc.constant<Op>({ kind: 'eorA' }),
);

/** The decision process written out plainly, as the reference. */
function referenceBest(cands: { peer: typeof A; stale: boolean; r: Route }[]): (typeof A)['id'] | undefined {
  let c = cands;
  const keep = (score: (x: (typeof c)[number]) => number) => {
    const m = Math.max(...c.map(score));
    c = c.filter((x) => score(x) === m);
  };
  keep((x) => (x.stale ? 0 : 1));
  keep((x) => (x.peer.ebgp ? 100 : (x.r.attrs.localPref ?? 100)));
  keep((x) => -x.r.attrs.asPath![0]!.asns.length);
  keep((x) => -x.r.attrs.origin!);
  const nAs = (x: (typeof c)[number]) => x.r.attrs.asPath![0]!.asns[0];
  c = c.filter((x) => !c.some((y) => nAs(y) === nAs(x) && (y.r.attrs.med ?? 0) < (x.r.attrs.med ?? 0)));
  keep((x) => (x.peer.ebgp ? 1 : 0));
  keep((x) => -x.peer.routerId);
  return c[0]?.peer.id;
}

describe('bgp/rib against a brute-force model (property)', () => {
  it('Loc-RIB equals recomputation; a third peer holds exactly the exported best paths', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const { rib } = makeRib();
        const peers = [A, B];
        for (const p of peers) rib.peerUp(peer(p.id, { peerAsn: p.asn, routerId: p.routerId }));
        rib.peerUp(peer(C, { peerAsn: 65003, selfNextHops: { ipv6: '2001:db8::ff' } }));
        // What each peer last said, per prefix, and whether it is stale.
        const said = [new Map<string, Route>(), new Map<string, Route>()];
        const stale = new Set<string>();
        const rx = new Receiver();
        for (const op of ops) {
          switch (op.kind) {
            case 'announce': {
              const p = peers[op.from]!;
              const nh = `198.51.100.${op.nh}`;
              const nh6 = `2001:db8:ff::${op.nh}`;
              send(rib, p.id, { prefixes: op.v4, v6: op.v6, attrs: op.attrs, nextHop: nh, nextHop6: nh6 });
              for (const x of op.v4) said[op.from]!.set(x, { attrs: op.attrs, nextHop: nh });
              for (const x of op.v6) said[op.from]!.set(x, { attrs: op.attrs, nextHop: nh6 });
              if (op.from === 0) for (const x of [...op.v4, ...op.v6]) stale.delete(x);
              break;
            }
            case 'withdraw':
              send(rib, peers[op.from]!.id, { withdraw: op.v4, withdraw6: op.v6 });
              for (const x of [...op.v4, ...op.v6]) {
                said[op.from]!.delete(x);
                if (op.from === 0) stale.delete(x);
              }
              break;
            case 'commit':
              rib.commit();
              break;
            case 'take':
              rx.apply(rib.takeOutgoing(C, op.bytes));
              break;
            case 'restartA':
              rib.peerDown(A.id, { staleForMs: 1000 });
              rib.peerUp(peer(A.id, { peerAsn: A.asn, routerId: A.routerId }));
              for (const x of said[0]!.keys()) stale.add(x);
              break;
            case 'eorA':
              rib.receiveEndOfRib(A.id, IPV4_UNICAST);
              rib.receiveEndOfRib(A.id, IPV6_UNICAST);
              for (const x of stale) said[0]!.delete(x);
              stale.clear();
              break;
          }
        }
        rib.commit();
        rx.drain(rib, C);

        for (const prefix of [...V4, ...V6]) {
          const cands = peers.flatMap((p, i) => {
            const r = said[i]!.get(prefix);
            return r === undefined ? [] : [{ peer: p, stale: i === 0 && stale.has(prefix), r }];
          });
          const views = rib.routes({ prefix });
          expect(views.map((v) => [v.peer, v.nextHop, v.stale]).sort(), prefix).to.deep.equal(cands.map((c) => [c.peer.id, c.r.nextHop, c.stale]).sort());
          const want = referenceBest(cands);
          expect(views.find((v) => v.best)?.peer, `best of ${prefix}`).to.equal(want);

          // What C should hold: the best path, exported to eBGP.
          const got = rx.routes.get(prefix);
          const bestRoute = cands.find((c) => c.peer.id === want)?.r;
          if (bestRoute === undefined) {
            expect(got, `C still has ${prefix}`).to.equal(undefined);
            continue;
          }
          const exported: PathAttributes = { origin: bestRoute.attrs.origin!, asPath: [{ type: 2, asns: [LOCAL_ASN, ...bestRoute.attrs.asPath![0]!.asns] }] };
          if (bestRoute.attrs.communities) exported.communities = bestRoute.attrs.communities;
          expect(got, `C lacks ${prefix}`).to.not.equal(undefined);
          expect(got!.attrs, prefix).to.deep.equal(exported);
          expect(got!.nextHop).to.equal(prefix.includes(':') ? '2001:db8::ff' : '192.0.2.254');
        }
        expect(rx.routes.size).to.be.at.most(V4.length + V6.length);
        expect(rx.eor).to.deep.equal(['ipv4-unicast', 'ipv6-unicast']);
      }),
      { numRuns: 300 },
    );
  });
});
