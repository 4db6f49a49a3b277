import { expect } from 'chai';
import { decodeUpdate, nlriToStrings, Origin, wireFormat, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import { AS4, ebgpAttrs, IPV4_UNICAST, IPV6_UNICAST, makeRib, peer, Receiver, send } from './helpers.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const C = '192.0.2.3';
const D = '192.0.2.4';
const P = '10.1.0.0/24';

/** C negotiated ADD-PATH send (we send, it receives); its decoder expects path ids. */
const SEND_WIRE = wireFormat({ as4: true, addPathSend: new Set([IPV4_UNICAST, IPV6_UNICAST]) });
const RX_WIRE = wireFormat({ as4: true, addPathReceive: new Set([IPV4_UNICAST, IPV6_UNICAST]) });

function pathIdsOf(rx: Receiver, prefix: string): number[] {
  return [...rx.routes.keys()]
    .filter((k) => k.startsWith(`${prefix}#`))
    .map((k) => Number(k.slice(prefix.length + 1)))
    .sort((x, y) => x - y);
}

function setup(over: { ibgp?: boolean } = {}) {
  const t = makeRib();
  const asn = (n: number) => (over.ibgp === true ? 65000 : n);
  const rr = over.ibgp === true ? { routeReflectorClient: true } : {};
  t.rib.peerUp(peer(A, { peerAsn: asn(65001), ...rr }));
  t.rib.peerUp(peer(B, { peerAsn: asn(65002), ...rr }));
  t.rib.peerUp(peer(C, { peerAsn: asn(65003), wire: SEND_WIRE, selfNextHops: { ipv6: '2001:db8::ff' }, ...rr }));
  t.rib.peerUp(peer(D, { peerAsn: asn(65004), ...rr }));
  const c = new Receiver(RX_WIRE).drain(t.rib, C);
  const d = new Receiver(AS4).drain(t.rib, D);
  return { ...t, c, d };
}

function bothPaths(ibgp = false) {
  const t = setup({ ibgp });
  const attrsA: PathAttributes = ibgp ? { origin: Origin.IGP, asPath: [], localPref: 100 } : ebgpAttrs(65001);
  const attrsB: PathAttributes = ibgp ? { origin: Origin.IGP, asPath: [], localPref: 100, med: 5 } : ebgpAttrs(65002);
  send(t.rib, A, { prefixes: [P], attrs: attrsA, nextHop: A });
  send(t.rib, B, { prefixes: [P], attrs: attrsB, nextHop: B });
  t.rib.commit();
  t.c.drain(t.rib, C);
  t.d.drain(t.rib, D);
  return t;
}

describe('bgp/rib ADD-PATH send (RFC 7911)', () => {
  it('sends every path of a prefix, each with its own path id, to a peer with ADD-PATH send', () => {
    const { c } = bothPaths();
    const ids = pathIdsOf(c, P);
    expect(ids).to.have.length(2);
    expect(ids[0]).to.not.equal(ids[1]);
    for (const id of ids) expect(id).to.be.greaterThan(0);
    const firstAs = ids.map((id) => c.routes.get(`${P}#${id}`)?.attrs.asPath?.[0]?.asns).map((a) => a?.[1]);
    expect(firstAs.sort()).to.deep.equal([65001, 65002]);
    expect([...c.routes.keys()].every((k) => k.includes('#'))).to.equal(true);
  });

  it('sends only the best path to a peer without ADD-PATH send', () => {
    const { d } = bothPaths();
    expect([...d.routes.keys()]).to.deep.equal([P]);
  });

  it('withdraws exactly the path id of a path that goes; the other stays', () => {
    const t = bothPaths();
    const before = pathIdsOf(t.c, P);
    const aId = before.find((id) => t.c.routes.get(`${P}#${id}`)?.attrs.asPath?.[0]?.asns[1] === 65001) as number;
    const bId = before.find((id) => id !== aId) as number;
    send(t.rib, A, { withdraw: [P] });
    t.rib.commit();
    const msgs = t.rib.takeOutgoing(C, 1 << 16);
    const withdrawn: string[] = [];
    const announced: string[] = [];
    for (const m of msgs) {
      const r = decodeUpdate(m, RX_WIRE);
      expect(r.problems).to.deep.equal([]);
      withdrawn.push(...nlriToStrings(r.update!.withdrawn));
      announced.push(...nlriToStrings(r.update!.announced));
    }
    expect(withdrawn).to.deep.equal([`${P}#${aId}`]);
    expect(announced).to.deep.equal([]);
    t.c.apply(msgs);
    expect(pathIdsOf(t.c, P)).to.deep.equal([bId]);
    expect(t.rib.peerStats(C).advertised).to.equal(1);
    // The last path goes too: the prefix is gone at C and nothing is held for it.
    send(t.rib, B, { withdraw: [P] });
    t.rib.commit();
    t.c.drain(t.rib, C);
    t.d.drain(t.rib, D);
    expect(t.c.routes.size).to.equal(0);
    expect(t.d.routes.size).to.equal(0);
    expect(t.rib.peerStats(C).advertised).to.equal(0);
    expect(t.rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });

  it('re-announces only the path that changed, under the same path id', () => {
    const t = bothPaths();
    const before = pathIdsOf(t.c, P);
    send(t.rib, B, { prefixes: [P], attrs: ebgpAttrs(65002, { communities: [7] }), nextHop: B });
    t.rib.commit();
    const msgs = t.rib.takeOutgoing(C, 1 << 16);
    const announced = msgs.flatMap((m) => nlriToStrings(decodeUpdate(m, RX_WIRE).update!.announced));
    expect(announced).to.have.length(1);
    t.c.apply(msgs);
    expect(pathIdsOf(t.c, P)).to.deep.equal(before);
    expect(t.c.routes.get(announced[0] as string)?.attrs.communities).to.deep.equal([7]);
  });

  it('coalesces: a path announced and withdrawn before sending is never sent', () => {
    const t = setup();
    send(t.rib, A, { prefixes: [P], attrs: ebgpAttrs(65001) });
    t.rib.commit();
    send(t.rib, A, { withdraw: [P] });
    t.rib.commit();
    expect(t.rib.takeOutgoing(C, 1 << 16)).to.deep.equal([]);
    expect(t.rib.hasOutgoing(C)).to.equal(false);
    expect(t.rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });

  it('as a route reflector, reflects both client paths with ORIGINATOR_ID, never a client its own', () => {
    const t = bothPaths(true);
    const ids = pathIdsOf(t.c, P);
    expect(ids).to.have.length(2);
    const originators = ids.map((id) => t.c.routes.get(`${P}#${id}`)?.attrs.originatorId).sort();
    expect(originators).to.have.length(2);
    expect(new Set(originators).size).to.equal(2);
    // C announces its own path: the others get three candidates, C still sees only A's and B's.
    send(t.rib, C, { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], localPref: 100 }, nextHop: C });
    t.rib.commit();
    t.c.drain(t.rib, C);
    expect(pathIdsOf(t.c, P)).to.deep.equal(ids);
    for (const r of t.c.routes.values()) expect(r.nextHop).to.not.equal(C);
  });

  it('sends IPv6 paths with path ids in MP_REACH and forgets all on session down', () => {
    const t = setup();
    send(t.rib, A, { v6: ['2001:db8:1::/48'], attrs: ebgpAttrs(65001), nextHop6: '2001:db8::1' });
    send(t.rib, B, { v6: ['2001:db8:1::/48'], attrs: ebgpAttrs(65002), nextHop6: '2001:db8::2' });
    t.rib.commit();
    t.c.drain(t.rib, C);
    expect(pathIdsOf(t.c, '2001:db8:1::/48')).to.have.length(2);
    t.rib.peerDown(C);
    t.rib.peerDown(A);
    t.rib.peerDown(B);
    t.rib.commit();
    t.d.drain(t.rib, D);
    expect(t.rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });
});
