import { expect } from 'chai';
import { ebgpAttrs, IPV4_UNICAST, IPV6_UNICAST, makeRib, peer, Receiver, send } from './helpers.js';

const A = '192.0.2.1';
const B = '192.0.2.2';

/** A's routes reach B; then A restarts (graceful restart, we are the helper). */
function restarted(staleForMs = 120_000) {
  const t = makeRib();
  t.rib.peerUp(peer(A, { peerAsn: 65001 }));
  t.rib.peerUp(peer(B, { peerAsn: 65002 }));
  send(t.rib, A, { prefixes: ['10.1.0.0/24', '10.2.0.0/24'], v6: ['2001:db8:1::/48'], attrs: ebgpAttrs(65001) });
  t.rib.commit();
  const rx = new Receiver().drain(t.rib, B);
  t.fib.length = 0;
  t.rib.peerDown(A, { staleForMs });
  t.rib.commit();
  return { ...t, rx };
}

describe('bgp/rib graceful restart helper (RFC 4724)', () => {
  it('keeps a restarting peer\'s routes, marked stale, still forwarded and still advertised', () => {
    const { rib, rx, fib } = restarted();
    expect(rib.routes().map((r) => [r.prefix, r.stale])).to.deep.equal([
      ['10.1.0.0/24', true],
      ['10.2.0.0/24', true],
      ['2001:db8:1::/48', true],
    ]);
    expect(fib).to.deep.equal([]);
    rx.drain(rib, B);
    // B is an IPv4 session without an IPv6 next hop of ours: it only ever had the IPv4 routes.
    expect([...rx.routes.keys()]).to.deep.equal(['10.1.0.0/24', '10.2.0.0/24']);
    expect(rib.peerStats(A)).to.include({ accepted: 0, stale: 3 });
  });

  it('refreshed routes lose the mark; End-of-RIB sweeps the rest of that family only', () => {
    const { rib, rx, fib } = restarted();
    rib.peerUp(peer(A, { peerAsn: 65001 }));
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001) });
    rib.commit();
    expect(rib.routes({ peer: A }).map((r) => [r.prefix, r.stale])).to.deep.equal([
      ['10.1.0.0/24', false],
      ['10.2.0.0/24', true],
      ['2001:db8:1::/48', true],
    ]);
    rib.receiveEndOfRib(A, IPV4_UNICAST);
    rib.commit();
    expect(rib.routes({ peer: A }).map((r) => r.prefix)).to.deep.equal(['10.1.0.0/24', '2001:db8:1::/48']);
    expect(fib.flat()).to.deep.equal([{ prefix: '10.2.0.0/24', afi: 1, nextHops: null }]);
    rx.drain(rib, B);
    expect([...rx.routes.keys()]).to.deep.equal(['10.1.0.0/24']);
    rib.receiveEndOfRib(A, IPV6_UNICAST);
    rib.commit();
    expect(rib.peerStats(A)).to.include({ accepted: 1, stale: 0 });
  });

  it('drops stale routes when their time has passed, not before', () => {
    const { rib, clock } = restarted(60_000);
    clock.ms += 59_999;
    rib.expireStale();
    rib.commit();
    expect(rib.size.paths).to.equal(3);
    clock.ms += 1;
    rib.expireStale();
    rib.commit();
    expect(rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });

  it('prefers a fresh path over a stale one', () => {
    const { rib } = restarted();
    rib.peerUp(peer('192.0.2.3', { peerAsn: 65003, routerId: 0xffffffff }));
    send(rib, '192.0.2.3', { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65003, { asPath: [{ type: 2, asns: [65003, 1, 2] }] }), nextHop: '192.0.2.3' });
    rib.commit();
    expect(rib.routes({ prefix: '10.1.0.0/24' }).find((r) => r.best)?.peer).to.equal('192.0.2.3');
  });

  it('without graceful restart, a peer going down takes its routes with it', () => {
    const { rib } = makeRib();
    rib.peerUp(peer(A));
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001) });
    rib.commit();
    rib.peerDown(A);
    rib.commit();
    expect(rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });
});
