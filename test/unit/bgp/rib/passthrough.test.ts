import { expect } from 'chai';
import { AsPathSegmentType } from '../../../../src/bgp/wire/index.js';
import { ebgpAttrs, LOCAL_ASN, makeRib, peer, Receiver, send } from './helpers.js';

describe('bgp/rib pass-through', () => {
  it('passes an eBGP route to another eBGP peer with our AS prepended and next hop self, then End-of-RIB', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(peer('192.0.2.1', { peerAsn: 65001 }));
    rib.peerUp(peer('192.0.2.2', { peerAsn: 65002 }));
    send(rib, '192.0.2.1', { prefixes: ['10.0.0.1/32', '10.0.0.2/32'], attrs: ebgpAttrs(65001, { med: 5, communities: [0xfde80001] }), nextHop: '192.0.2.1' });
    rib.commit();
    const rx = new Receiver().drain(rib, '192.0.2.2');
    expect([...rx.routes.keys()].sort()).to.deep.equal(['10.0.0.1/32', '10.0.0.2/32']);
    const r = rx.routes.get('10.0.0.1/32')!;
    expect(r.nextHop).to.equal('192.0.2.254');
    expect(r.attrs.asPath).to.deep.equal([{ type: AsPathSegmentType.AS_SEQUENCE, asns: [LOCAL_ASN, 65001] }]);
    expect(r.attrs.med, 'MED is not passed from one AS to another').to.equal(undefined);
    expect(r.attrs.communities).to.deep.equal([0xfde80001]);
    expect(r.attrs.localPref).to.equal(undefined);
    expect(rx.eor).to.deep.equal(['ipv4-unicast', 'ipv6-unicast']);
    expect(rx.messages).to.equal(3);
    expect(fib).to.have.length(1);
    expect(fib[0]!.map((c) => [c.prefix, c.nextHops])).to.deep.equal([
      ['10.0.0.1/32', ['192.0.2.1']],
      ['10.0.0.2/32', ['192.0.2.1']],
    ]);
    expect(rib.peerStats('192.0.2.2')).to.deep.equal({ received: 0, accepted: 0, advertised: 2, stale: 0 });
    expect(rib.peerStats('192.0.2.1')).to.include({ received: 2, accepted: 2, advertised: 0 });
  });

  it('does not send a route back to the peer it came from', () => {
    const { rib } = makeRib();
    rib.peerUp(peer('192.0.2.1'));
    send(rib, '192.0.2.1', { prefixes: ['10.0.0.1/32'], attrs: ebgpAttrs(65001) });
    rib.commit();
    const rx = new Receiver().drain(rib, '192.0.2.1');
    expect(rx.routes.size).to.equal(0);
    expect(rx.eor).to.deep.equal(['ipv4-unicast', 'ipv6-unicast']);
  });

  it('withdraws downstream when the route is withdrawn, and removes it from the FIB', () => {
    const { rib, fib } = makeRib();
    rib.peerUp(peer('192.0.2.1'));
    rib.peerUp(peer('192.0.2.2', { peerAsn: 65002 }));
    send(rib, '192.0.2.1', { prefixes: ['10.0.0.1/32'], attrs: ebgpAttrs(65001) });
    rib.commit();
    const rx = new Receiver().drain(rib, '192.0.2.2');
    expect(rx.routes.has('10.0.0.1/32')).to.equal(true);
    send(rib, '192.0.2.1', { withdraw: ['10.0.0.1/32'] });
    rib.commit();
    rx.drain(rib, '192.0.2.2');
    expect(rx.routes.size).to.equal(0);
    expect(fib[1]).to.deep.equal([{ prefix: '10.0.0.1/32', afi: 1, nextHops: null }]);
    expect(rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });

  it('carries IPv6 routes in MP_REACH with next hop self towards an IPv6 session', () => {
    const { rib } = makeRib();
    rib.peerUp(peer('2001:db8::1', { peerAsn: 65001 }));
    rib.peerUp(peer('2001:db8::2', { peerAsn: 65002 }));
    send(rib, '2001:db8::1', { v6: ['2001:db8:1::/48'], attrs: ebgpAttrs(65001), nextHop6: '2001:db8::1' });
    rib.commit();
    const rx = new Receiver().drain(rib, '2001:db8::2');
    expect(rx.routes.get('2001:db8:1::/48')?.nextHop).to.equal('2001:db8::ff');
  });
});
