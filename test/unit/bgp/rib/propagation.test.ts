import { expect } from 'chai';
import { ipv4FromString, Origin, wireFormat } from '../../../../src/bgp/wire/index.js';
import { ebgpAttrs, IPV4_UNICAST, LOCAL_ASN, makeRib, peer, Receiver, send, update } from './helpers.js';
import { compilePolicy, functionPolicy, REJECT_ALL_POLICY } from './policies.js';

const P = '10.1.0.0/24';
const ip = (s: string) => ipv4FromString(s) as number;
const ROUTER_ID = ip('192.0.2.254');

describe('bgp/rib propagation rules', () => {
  describe('iBGP and route reflection (RFC 4456)', () => {
    function mesh(opts: { aClient?: boolean; clusterId?: number } = {}) {
      const t = makeRib(opts.clusterId !== undefined ? { clusterId: opts.clusterId } : {});
      t.rib.peerUp(peer('192.0.2.1', { peerAsn: LOCAL_ASN, routeReflectorClient: opts.aClient ?? false }));
      t.rib.peerUp(peer('192.0.2.2', { peerAsn: LOCAL_ASN, routeReflectorClient: true }));
      t.rib.peerUp(peer('192.0.2.3', { peerAsn: LOCAL_ASN, routeReflectorClient: false }));
      t.rib.peerUp(peer('192.0.2.4', { peerAsn: 65004 }));
      return t;
    }
    const drainAll = (rib: import('../../../../src/bgp/rib/index.js').Rib) => ({
      client: new Receiver().drain(rib, '192.0.2.2'),
      nonClient: new Receiver().drain(rib, '192.0.2.3'),
      ebgp: new Receiver().drain(rib, '192.0.2.4'),
    });

    it('does not pass iBGP routes to iBGP peers without reflection, but passes them to eBGP', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { peerAsn: LOCAL_ASN }));
      rib.peerUp(peer('192.0.2.3', { peerAsn: LOCAL_ASN }));
      rib.peerUp(peer('192.0.2.4', { peerAsn: 65004 }));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [] } });
      rib.commit();
      expect(new Receiver().drain(rib, '192.0.2.3').routes.size).to.equal(0);
      expect(new Receiver().drain(rib, '192.0.2.4').routes.get(P)?.attrs.asPath).to.deep.equal([{ type: 2, asns: [LOCAL_ASN] }]);
    });

    it('reflects a client route to clients and non-clients, with ORIGINATOR_ID and CLUSTER_LIST', () => {
      const { rib } = mesh({ aClient: true, clusterId: 77 });
      send(rib, '192.0.2.1', { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], localPref: 150, med: 3 }, nextHop: '198.51.100.1' });
      rib.commit();
      const { client, nonClient, ebgp } = drainAll(rib);
      for (const rx of [client, nonClient]) {
        const r = rx.routes.get(P)!;
        expect(r.attrs.originatorId).to.equal(ip('192.0.2.1'));
        expect(r.attrs.clusterList).to.deep.equal([77]);
        expect(r.attrs.localPref).to.equal(150);
        expect(r.attrs.med).to.equal(3);
        expect(r.nextHop, 'iBGP auto keeps the next hop').to.equal('198.51.100.1');
      }
      const e = ebgp.routes.get(P)!;
      expect(e.attrs.originatorId).to.equal(undefined);
      expect(e.attrs.clusterList).to.equal(undefined);
      expect(e.attrs.localPref).to.equal(undefined);
    });

    it('reflects a non-client route to clients only, keeping an ORIGINATOR_ID and prepending to CLUSTER_LIST', () => {
      const { rib } = mesh({ aClient: false });
      send(rib, '192.0.2.1', { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], originatorId: 42, clusterList: [5] } });
      rib.commit();
      const { client, nonClient, ebgp } = drainAll(rib);
      expect(client.routes.get(P)?.attrs.originatorId).to.equal(42);
      expect(client.routes.get(P)?.attrs.clusterList).to.deep.equal([ROUTER_ID, 5]);
      expect(nonClient.routes.size).to.equal(0);
      expect(ebgp.routes.size).to.equal(1);
    });

    it('drops received routes carrying our ORIGINATOR_ID or our cluster id', () => {
      const { rib } = mesh({ aClient: true, clusterId: 77 });
      send(rib, '192.0.2.1', { prefixes: ['10.9.0.0/16'], attrs: { origin: Origin.IGP, asPath: [], originatorId: ROUTER_ID } });
      send(rib, '192.0.2.1', { prefixes: ['10.8.0.0/16'], attrs: { origin: Origin.IGP, asPath: [], originatorId: 1, clusterList: [3, 77] } });
      send(rib, '192.0.2.1', { prefixes: ['10.7.0.0/16'], attrs: { origin: Origin.IGP, asPath: [], originatorId: 1, clusterList: [3] } });
      rib.commit();
      expect(rib.routes().map((r) => r.prefix)).to.deep.equal(['10.7.0.0/16']);
    });
  });

  describe('AS path loops', () => {
    it('drops an eBGP route with our AS in its path, and it withdraws the path it replaces', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1'));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: ebgpAttrs(65001) });
      rib.commit();
      expect(rib.routes()).to.have.length(1);
      send(rib, '192.0.2.1', { prefixes: [P], attrs: ebgpAttrs(65001, { asPath: [{ type: 2, asns: [65001, LOCAL_ASN, 65003] }] }) });
      rib.commit();
      expect(rib.routes()).to.have.length(0);
    });

    it('allows our AS numAllowedLocalAs times (Calico numAllowedLocalASNumbers)', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { numAllowedLocalAs: 1 }));
      send(rib, '192.0.2.1', { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001, { asPath: [{ type: 2, asns: [65001, LOCAL_ASN] }] }) });
      send(rib, '192.0.2.1', { prefixes: ['10.2.0.0/24'], attrs: ebgpAttrs(65001, { asPath: [{ type: 2, asns: [65001, LOCAL_ASN, 7, LOCAL_ASN] }] }) });
      rib.commit();
      expect(rib.routes().map((r) => r.prefix)).to.deep.equal(['10.1.0.0/24']);
    });
  });

  describe('next hops', () => {
    function run(mode: 'auto' | 'self' | 'keep', ibgp: boolean) {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { peerAsn: 65001 }));
      rib.peerUp(peer('192.0.2.9', { peerAsn: ibgp ? LOCAL_ASN : 65009, nextHopMode: mode }));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: ebgpAttrs(65001), nextHop: '198.51.100.7' });
      rib.originate({ prefix: '10.50.0.0/26' });
      rib.originate({ prefix: '10.60.0.0/26', nextHop: '203.0.113.5' });
      rib.commit();
      const rx = new Receiver().drain(rib, '192.0.2.9');
      return [P, '10.50.0.0/26', '10.60.0.0/26'].map((p) => rx.routes.get(p)?.nextHop);
    }
    it('auto: self towards eBGP, kept towards iBGP (ours when a local route has none)', () => {
      expect(run('auto', false)).to.deep.equal(['192.0.2.254', '192.0.2.254', '192.0.2.254']);
      expect(run('auto', true)).to.deep.equal(['198.51.100.7', '192.0.2.254', '203.0.113.5']);
    });
    it('self: always ours', () => {
      expect(run('self', true)).to.deep.equal(['192.0.2.254', '192.0.2.254', '192.0.2.254']);
    });
    it('keep: always the route\'s own, even towards eBGP', () => {
      expect(run('keep', false)).to.deep.equal(['198.51.100.7', '192.0.2.254', '203.0.113.5']);
    });

    it('does not send an IPv6 route to a peer we have no IPv6 next hop for, unless given one', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('2001:db8::1', { peerAsn: 65001 }));
      rib.peerUp(peer('192.0.2.8', { peerAsn: 65008 }));
      rib.peerUp(peer('192.0.2.9', { peerAsn: 65009, selfNextHops: { ipv6: '2001:db8::99' } }));
      send(rib, '2001:db8::1', { v6: ['2001:db8:5::/48'], attrs: ebgpAttrs(65001) });
      rib.commit();
      const no = new Receiver().drain(rib, '192.0.2.8');
      expect(no.routes.size).to.equal(0);
      expect(no.eor).to.deep.equal(['ipv4-unicast', 'ipv6-unicast']);
      expect(new Receiver().drain(rib, '192.0.2.9').routes.get('2001:db8:5::/48')?.nextHop).to.equal('2001:db8::99');
    });

    it('sends an IPv4 route with an IPv6 next hop only to RFC 8950 peers', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('2001:db8::1', { peerAsn: 65001 }));
      rib.peerUp(peer('2001:db8::8', { peerAsn: 65008 }));
      const ext = wireFormat({ as4: true, extendedNextHop: new Set([IPV4_UNICAST]) });
      rib.peerUp(peer('2001:db8::9', { peerAsn: 65009, wire: ext }));
      rib.originate({ prefix: '10.70.0.0/24' });
      rib.commit();
      expect(new Receiver().drain(rib, '2001:db8::8').routes.size).to.equal(0);
      expect(new Receiver(ext).drain(rib, '2001:db8::9').routes.get('10.70.0.0/24')?.nextHop).to.equal('2001:db8::ff');
    });

    it('does not send a peer a route whose next hop is that peer', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { peerAsn: LOCAL_ASN, routeReflectorClient: true }));
      rib.peerUp(peer('192.0.2.2', { peerAsn: LOCAL_ASN, routeReflectorClient: true }));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [] }, nextHop: '192.0.2.2' });
      rib.commit();
      expect(new Receiver().drain(rib, '192.0.2.2').routes.size).to.equal(0);
    });

    it('ignores a route whose next hop is our own address on that session', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1'));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: ebgpAttrs(65001), nextHop: '192.0.2.254' });
      rib.commit();
      expect(rib.size.paths).to.equal(0);
    });
  });

  describe('route server (RFC 7947)', () => {
    it('passes routes between clients transparently: no AS added, next hop and MED kept, not back to the sender', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { peerAsn: 65001, routeServerClient: true }));
      rib.peerUp(peer('192.0.2.2', { peerAsn: 65002, routeServerClient: true }));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: ebgpAttrs(65001, { med: 9, communities: [1] }), nextHop: '192.0.2.1' });
      rib.commit();
      const r = new Receiver().drain(rib, '192.0.2.2').routes.get(P)!;
      expect(r.attrs.asPath).to.deep.equal([{ type: 2, asns: [65001] }]);
      expect(r.nextHop).to.equal('192.0.2.1');
      expect(r.attrs.med).to.equal(9);
      expect(r.attrs.communities).to.deep.equal([1]);
      expect(new Receiver().drain(rib, '192.0.2.1').routes.size).to.equal(0);
    });
  });

  describe('families, errors and policies', () => {
    it('sends a peer only the families negotiated with it, with End-of-RIB for each', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { peerAsn: 65001 }));
      rib.peerUp(peer('192.0.2.2', { peerAsn: 65002, families: [IPV4_UNICAST] }));
      send(rib, '192.0.2.1', { prefixes: [P], v6: ['2001:db8:1::/48'], attrs: ebgpAttrs(65001) });
      rib.commit();
      const rx = new Receiver().drain(rib, '192.0.2.2');
      expect([...rx.routes.keys()]).to.deep.equal([P]);
      expect(rx.eor).to.deep.equal(['ipv4-unicast']);
    });

    it('treat-as-withdraw removes what the peer had for every prefix of the UPDATE', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1'));
      send(rib, '192.0.2.1', { prefixes: [P, '10.2.0.0/24'], attrs: ebgpAttrs(65001) });
      rib.commit();
      const u = update({ prefixes: [P], attrs: ebgpAttrs(65001, { med: 1 }) });
      rib.receiveUpdate('192.0.2.1', u.update, 'treat-as-withdraw');
      rib.commit();
      expect(rib.routes().map((r) => r.prefix)).to.deep.equal(['10.2.0.0/24']);
    });

    it('import policy: reject-all keeps nothing; a policy may refuse or change single routes', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { importPolicy: REJECT_ALL_POLICY }));
      const pol = functionPolicy('lp', (i) =>
        i.length === 16 ? { accept: false } : i.addr[0] === ip('10.1.0.0') ? { accept: true, attrs: { ...i.attrs, med: 77 } } : { accept: true, attrs: i.attrs },
      );
      rib.peerUp(peer('192.0.2.2', { peerAsn: 65002, importPolicy: pol }));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: ebgpAttrs(65001) });
      send(rib, '192.0.2.2', { prefixes: [P, '10.2.0.0/24', '10.3.0.0/16'], attrs: ebgpAttrs(65002) });
      rib.commit();
      const views = rib.routes();
      expect(views.map((v) => [v.prefix, v.peer, v.med])).to.deep.equal([
        [P, '192.0.2.2', 77],
        ['10.2.0.0/24', '192.0.2.2', null],
      ]);
      expect(pol.calls).to.equal(3);
      expect(rib.peerStats('192.0.2.1')).to.include({ received: 1, accepted: 0 });
    });

    it('compiled policies: import sets LOCAL_PREF and a next hop; export sets next hop self towards iBGP', () => {
      const { rib } = makeRib();
      const imp = compilePolicy('in', [
        { match: { prefix: '10.1.0.0/16', length: { min: 16, max: 32 } }, set: { localPref: 300, nextHop: '203.0.113.9' }, action: 'accept' },
        { action: 'accept' },
      ], 'policies.in');
      const exp = compilePolicy('out', [{ set: { nextHop: 'self' }, action: 'accept' }], 'policies.out');
      rib.peerUp(peer('192.0.2.1', { peerAsn: 65001, importPolicy: imp }));
      rib.peerUp(peer('192.0.2.2', { peerAsn: LOCAL_ASN, exportPolicy: exp }));
      rib.peerUp(peer('192.0.2.3', { peerAsn: LOCAL_ASN }));
      send(rib, '192.0.2.1', { prefixes: [P, '10.2.0.0/24'], attrs: ebgpAttrs(65001), nextHop: '192.0.2.1' });
      rib.commit();
      expect(rib.routes().map((r) => [r.prefix, r.localPref, r.nextHop])).to.deep.equal([
        [P, 300, '203.0.113.9'],
        ['10.2.0.0/24', 100, '192.0.2.1'],
      ]);
      const self = new Receiver().drain(rib, '192.0.2.2');
      expect([...self.routes].map(([p, r]) => [p, r.nextHop, r.attrs.localPref])).to.deep.equal([
        [P, '192.0.2.254', 300],
        ['10.2.0.0/24', '192.0.2.254', 100],
      ]);
      const kept = new Receiver().drain(rib, '192.0.2.3');
      expect([...kept.routes].map(([p, r]) => [p, r.nextHop])).to.deep.equal([
        [P, '203.0.113.9'],
        ['10.2.0.0/24', '192.0.2.1'],
      ]);
    });

    it('export policy: a refused route is withdrawn from that peer; a MED it sets reaches eBGP', () => {
      const { rib } = makeRib();
      rib.peerUp(peer('192.0.2.1', { peerAsn: LOCAL_ASN }));
      let refuse = false;
      const pol = functionPolicy('out', (i) => (refuse ? { accept: false } : { accept: true, attrs: { ...i.attrs, med: 500 } }));
      rib.peerUp(peer('192.0.2.2', { peerAsn: 65002, exportPolicy: pol }));
      send(rib, '192.0.2.1', { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], med: 1 } });
      rib.commit();
      const rx = new Receiver().drain(rib, '192.0.2.2');
      expect(rx.routes.get(P)?.attrs.med).to.equal(500);
      refuse = true;
      send(rib, '192.0.2.1', { prefixes: [P], attrs: { origin: Origin.IGP, asPath: [], med: 2 } });
      rib.commit();
      rx.drain(rib, '192.0.2.2');
      expect(rx.routes.size).to.equal(0);
    });
  });
});
