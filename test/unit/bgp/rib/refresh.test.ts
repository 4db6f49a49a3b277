import { expect } from 'chai';
import { decodeRouteRefresh } from '../../../../src/bgp/wire/route-refresh.js';
import { ebgpAttrs, IPV4_UNICAST, IPV6_UNICAST, makeRib, peer, Receiver, send } from './helpers.js';
import { ACCEPT_ALL_POLICY, compilePolicy, REJECT_ALL_POLICY } from './policies.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const ROUTE_REFRESH = 5;

/** Splits what the RIB gave a peer into ROUTE-REFRESH subtypes (as "BoRR"/"EoRR") and UPDATEs, in order. */
function split(msgs: Buffer[]): { order: string[]; updates: Buffer[] } {
  const order: string[] = [];
  const updates: Buffer[] = [];
  for (const m of msgs) {
    if (m[18] === ROUTE_REFRESH) {
      const r = decodeRouteRefresh(m);
      if (!r.ok) throw new Error('bad ROUTE-REFRESH');
      order.push(r.value.subtype === 1 ? 'BoRR' : r.value.subtype === 2 ? 'EoRR' : `RR${r.value.subtype}`);
    } else {
      order.push('UPDATE');
      updates.push(m);
    }
  }
  return { order, updates };
}

function takeAll(t: ReturnType<typeof makeRib>, id: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 100 && t.rib.hasOutgoing(id); i++) out.push(...t.rib.takeOutgoing(id, 1 << 20));
  return out;
}

/** A learns three routes and B has them (and its End-of-RIB). */
function settled() {
  const t = makeRib();
  t.rib.peerUp(peer(A, { peerAsn: 65001 }));
  t.rib.peerUp(peer(B, { peerAsn: 65002 }));
  send(t.rib, A, { prefixes: ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], attrs: ebgpAttrs(65001) });
  t.rib.commit();
  const rx = new Receiver().drain(t.rib, B);
  return { ...t, rx };
}

describe('bgp/rib route refresh (RFC 2918, RFC 7313)', () => {
  it('re-sends the whole Adj-RIB-Out of the family, unchanged routes included, and nothing else', () => {
    const t = settled();
    expect(t.rib.hasOutgoing(B)).to.equal(false);
    expect(t.rib.refreshPeer(B, IPV4_UNICAST)).to.equal(true);
    const { order, updates } = split(takeAll(t, B));
    expect(order.every((o) => o === 'UPDATE')).to.equal(true);
    const rx = new Receiver().apply(updates);
    expect([...rx.routes.keys()].sort()).to.deep.equal(['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24']);
    // A plain refresh needs no End-of-RIB, and no second one is sent.
    expect(rx.eor).to.deep.equal([]);
    expect(rx.routes.get('10.1.0.0/24')!.attrs.asPath).to.deep.equal([{ type: 2, asns: [65000, 65001] }]);
    expect(t.rib.peerStats(B).advertised).to.equal(3);
  });

  it('frames an enhanced refresh with BoRR and EoRR, per family', () => {
    const t = settled();
    send(t.rib, A, { v6: ['2001:db8:1::/48'], attrs: ebgpAttrs(65001) });
    t.rib.commit();
    takeAll(t, B);
    t.rib.refreshPeer(B, IPV4_UNICAST, { enhanced: true });
    const { order } = split(takeAll(t, B));
    expect(order[0]).to.equal('BoRR');
    expect(order[order.length - 1]).to.equal('EoRR');
    expect(order.slice(1, -1).every((o) => o === 'UPDATE') && order.length > 2).to.equal(true);
  });

  it('refuses a family the peer does not have, and an unknown one', () => {
    const t = settled();
    t.rib.peerUp(peer('192.0.2.3', { peerAsn: 65003, families: [IPV4_UNICAST] }));
    expect(t.rib.refreshPeer('192.0.2.3', IPV6_UNICAST)).to.equal(false);
  });

  it('as the receiver of an enhanced refresh, sweeps at EoRR what was not sent again after BoRR', () => {
    const t = settled();
    t.fib.length = 0;
    t.rib.receiveBeginningOfRefresh(A, IPV4_UNICAST);
    t.rib.commit();
    expect(t.rib.peerStats(A)).to.include({ stale: 3, accepted: 0 });
    expect(t.fib.flat()).to.deep.equal([]); // stale routes still forward
    send(t.rib, A, { prefixes: ['10.1.0.0/24', '10.3.0.0/24'], attrs: ebgpAttrs(65001) });
    t.rib.receiveEndOfRefresh(A, IPV4_UNICAST);
    t.rib.commit();
    expect(t.rib.routes({ peer: A }).map((r) => [r.prefix, r.stale])).to.deep.equal([
      ['10.1.0.0/24', false],
      ['10.3.0.0/24', false],
    ]);
    expect(t.fib.flat()).to.deep.equal([{ prefix: '10.2.0.0/24', afi: 1, nextHops: null }]);
    t.rx.drain(t.rib, B);
    expect([...t.rx.routes.keys()]).to.deep.equal(['10.1.0.0/24', '10.3.0.0/24']);
  });

  it('a new export policy applies at once; only what changes is sent', () => {
    const t = settled();
    const only1 = compilePolicy('only-10.1', [{ match: { prefix: '10.1.0.0/24' }, action: 'accept' }], 'policies.only-10.1');
    t.rib.setPolicies(B, { exportPolicy: only1 });
    t.rib.commit();
    const rx = t.rx;
    const before = rx.messages;
    rx.drain(t.rib, B);
    expect([...rx.routes.keys()]).to.deep.equal(['10.1.0.0/24']);
    expect(rx.messages - before).to.equal(1); // one UPDATE withdrawing two
    t.rib.setPolicies(B, { exportPolicy: REJECT_ALL_POLICY });
    rx.drain(t.rib, B);
    expect(rx.routes.size).to.equal(0);
    t.rib.setPolicies(B, { exportPolicy: ACCEPT_ALL_POLICY });
    rx.drain(t.rib, B);
    expect(rx.routes.size).to.equal(3);
  });

  it('a new import policy applies to what the peer sends again', () => {
    const t = settled();
    t.rib.setPolicies(A, { importPolicy: compilePolicy('no-10.2', [{ match: { prefix: '10.2.0.0/24' }, action: 'reject' }, { action: 'accept' }], 'p') });
    send(t.rib, A, { prefixes: ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], attrs: ebgpAttrs(65001) });
    t.rib.commit();
    expect(t.rib.routes({ peer: A }).map((r) => r.prefix)).to.deep.equal(['10.1.0.0/24', '10.3.0.0/24']);
  });

  it('lists what the FIB should hold, with ECMP next-hop sets', () => {
    const t = makeRib({ multipathMax: 4 });
    t.rib.peerUp(peer(A, { peerAsn: 65001 }));
    t.rib.peerUp(peer(B, { peerAsn: 65001 }));
    send(t.rib, A, { prefixes: ['10.1.0.0/24', '10.2.0.0/24'], attrs: ebgpAttrs(65001), nextHop: A });
    send(t.rib, B, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001), nextHop: B });
    t.rib.originate({ prefix: '10.9.0.0/24' });
    t.rib.commit();
    const fib = t.rib.fibRoutes();
    expect([...fib.keys()].sort()).to.deep.equal(['10.1.0.0/24', '10.2.0.0/24']);
    expect([...fib.get('10.1.0.0/24')!].sort()).to.deep.equal([A, B]);
    expect(fib.get('10.2.0.0/24')).to.deep.equal([A]);
  });
});
