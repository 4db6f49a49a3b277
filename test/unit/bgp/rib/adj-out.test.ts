import { expect } from 'chai';
import { Afi, createNlriList, decodeUpdate, encodeAttributes, nlriToStrings, Origin, packAnnouncements } from '../../../../src/bgp/wire/index.js';
import { AS4, ebgpAttrs, makeRib, peer, Receiver, send } from './helpers.js';

const A = '192.0.2.1';
const B = '192.0.2.2';

function twoPeers() {
  const t = makeRib();
  t.rib.peerUp(peer(A, { peerAsn: 65001 }));
  t.rib.peerUp(peer(B, { peerAsn: 65002 }));
  // B's initial (empty) table and End-of-RIB are out of the way.
  new Receiver().drain(t.rib, B);
  return t;
}

function hosts(n: number, base = 0x0a000000): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (base + i) >>> 0;
    out.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`);
  }
  return out;
}

describe('bgp/rib Adj-RIB-Out', () => {
  it('coalesces announce, withdraw, announce inside one batch into one announcement of the last state', () => {
    const { rib } = twoPeers();
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001, { communities: [1] }) });
    rib.commit();
    send(rib, A, { withdraw: ['10.1.0.0/24'] });
    rib.commit();
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001, { communities: [3] }) });
    rib.commit();
    const rx = new Receiver().drain(rib, B);
    expect(rx.messages).to.equal(1);
    expect(rx.routes.get('10.1.0.0/24')?.attrs.communities).to.deep.equal([3]);
  });

  it('sends nothing for a prefix announced and withdrawn before it was ever sent', () => {
    const { rib } = twoPeers();
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001) });
    rib.commit();
    send(rib, A, { withdraw: ['10.1.0.0/24'] });
    rib.commit();
    expect(rib.takeOutgoing(B, 1 << 16)).to.deep.equal([]);
    expect(rib.hasOutgoing(B)).to.equal(false);
    expect(rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });

  it('sends nothing when a route changes back to what the peer already has', () => {
    const { rib } = twoPeers();
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001) });
    rib.commit();
    const rx = new Receiver().drain(rib, B);
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001, { med: 4 }) }); // MED is not sent to eBGP
    rib.commit();
    expect(rib.takeOutgoing(B, 1 << 16)).to.deep.equal([]);
    expect(rx.messages).to.equal(1);
  });

  for (const n of [1, 799, 800, 4321]) {
    it(`packs ${n} prefixes with one attribute set into as few UPDATEs of at most 4096 bytes as the codec's packer`, () => {
      const { rib } = twoPeers();
      const prefixes = hosts(n);
      // Sent in UPDATEs of 100, as a peer might.
      for (let i = 0; i < n; i += 100) send(rib, A, { prefixes: prefixes.slice(i, i + 100), attrs: ebgpAttrs(65001) });
      rib.commit();
      const msgs = rib.takeOutgoing(B, 1 << 24);
      // The fewest messages possible: what packAnnouncements makes of the same prefixes and attributes.
      const attrs = decodeUpdate(msgs[0]!, AS4).update!.attributes;
      const list = createNlriList(Afi.IPV4, n, false);
      list.lengths.fill(32);
      const bound = packAnnouncements({ attributes: encodeAttributes(attrs, AS4), prefixes: list }, AS4).length;
      expect(msgs.length).to.equal(bound);
      expect(msgs.length).to.equal(Math.ceil(n / Math.floor((4096 - 23 - encodeAttributes(attrs, AS4).length) / 5)));
      const got: string[] = [];
      for (const m of msgs) {
        expect(m.length).to.be.at.most(4096);
        const u = decodeUpdate(m, AS4);
        expect(u.problems).to.deep.equal([]);
        got.push(...nlriToStrings(u.update!.announced));
      }
      expect(got.sort()).to.deep.equal([...prefixes].sort());
    });
  }

  it('groups prefixes by attribute set: one run of UPDATEs per set', () => {
    const { rib } = twoPeers();
    const p1 = hosts(1000, 0x0a000000);
    const p2 = hosts(1000, 0x0b000000);
    // Interleaved arrivals.
    for (let i = 0; i < 1000; i += 50) {
      send(rib, A, { prefixes: p1.slice(i, i + 50), attrs: ebgpAttrs(65001, { communities: [1] }) });
      send(rib, A, { prefixes: p2.slice(i, i + 50), attrs: ebgpAttrs(65001, { communities: [2] }) });
    }
    rib.commit();
    const rx = new Receiver().drain(rib, B);
    // 1000 /32s with one set need 2 UPDATEs; sets are never mixed or split more than that.
    expect(rx.messages).to.equal(4);
    expect(rx.updates.map((u) => u.attributes.communities)).to.deep.equal([[1], [1], [2], [2]]);
    expect(rx.routes.size).to.equal(2000);
  });

  it('sends the right thing when takeOutgoing comes between a withdrawal and commit', () => {
    const { rib } = twoPeers();
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001) });
    rib.commit();
    send(rib, A, { withdraw: ['10.1.0.0/24'] });
    send(rib, A, { prefixes: ['10.9.0.0/24'], attrs: ebgpAttrs(65001, { communities: [9] }) }); // may reuse the freed path row
    const rx = new Receiver().drain(rib, B);
    rib.commit();
    rx.drain(rib, B);
    expect([...rx.routes.keys()]).to.deep.equal(['10.9.0.0/24']);
  });

  it('hands out about maxBytes per call and keeps the rest queued', () => {
    const { rib } = twoPeers();
    const prefixes = hosts(5000);
    for (let i = 0; i < 5000; i += 500) send(rib, A, { prefixes: prefixes.slice(i, i + 500), attrs: ebgpAttrs(65001) });
    rib.commit();
    const rx = new Receiver();
    let calls = 0;
    while (rib.hasOutgoing(B)) {
      const msgs = rib.takeOutgoing(B, 8192);
      const bytes = msgs.reduce((s, m) => s + m.length, 0);
      expect(bytes).to.be.at.most(8192 + 4096);
      rx.apply(msgs);
      calls++;
    }
    expect(calls).to.be.greaterThan(3);
    expect(rx.routes.size).to.equal(5000);
    expect(rx.eor, 'End-of-RIB went out with the (empty) initial table').to.deep.equal([]);
  });

  it('sends End-of-RIB after the initial table, once, and only after all of it', () => {
    const { rib } = makeRib();
    rib.peerUp(peer(A, { peerAsn: 65001 }));
    const all = hosts(2000);
    for (let i = 0; i < 2000; i += 500) send(rib, A, { prefixes: all.slice(i, i + 500), attrs: ebgpAttrs(65001) });
    rib.commit();
    rib.peerUp(peer(B, { peerAsn: 65002 }));
    const first = new Receiver().apply(rib.takeOutgoing(B, 4096));
    expect(first.eor).to.deep.equal([]);
    const rx = new Receiver().drain(rib, B);
    expect(rx.eor).to.deep.equal(['ipv4-unicast', 'ipv6-unicast']);
    expect(first.routes.size + rx.routes.size).to.equal(2000);
    send(rib, A, { prefixes: ['10.200.0.0/16'], attrs: ebgpAttrs(65001) });
    rib.commit();
    expect(new Receiver().drain(rib, B).eor).to.deep.equal([]);
  });

  it('reports when a peer goes over its maximum prefixes', () => {
    const { rib } = makeRib();
    rib.peerUp(peer(A, { peerAsn: 65001, maxPrefixes: 3 }));
    expect(send(rib, A, { prefixes: hosts(3), attrs: ebgpAttrs(65001) }).maxPrefixesExceeded).to.equal(false);
    expect(send(rib, A, { prefixes: hosts(3), attrs: ebgpAttrs(65001, { med: 1 }) }).maxPrefixesExceeded, 'replacing is not adding').to.equal(false);
    expect(send(rib, A, { prefixes: hosts(1, 0x0b000000), attrs: ebgpAttrs(65001) }).maxPrefixesExceeded).to.equal(true);
  });

  it('stops sending to a peer that went down, and starts over with its whole table when it comes back', () => {
    const { rib } = twoPeers();
    send(rib, A, { prefixes: ['10.1.0.0/24'], attrs: ebgpAttrs(65001) });
    rib.commit();
    new Receiver().drain(rib, B);
    rib.peerDown(B);
    rib.commit();
    expect(rib.hasOutgoing(B)).to.equal(false);
    expect(rib.takeOutgoing(B, 4096)).to.deep.equal([]);
    rib.peerUp(peer(B, { peerAsn: 65002 }));
    const rx = new Receiver().drain(rib, B);
    expect([...rx.routes.keys()]).to.deep.equal(['10.1.0.0/24']);
    expect(rib.peerStats(B).advertised).to.equal(1);
  });

  it('withdraws from other peers what a peer that went down had sent', () => {
    const { rib } = twoPeers();
    send(rib, A, { prefixes: ['10.1.0.0/24', '10.2.0.0/24'], attrs: { origin: Origin.IGP, asPath: [{ type: 2, asns: [65001] }] } });
    rib.commit();
    const rx = new Receiver().drain(rib, B);
    expect(rx.routes.size).to.equal(2);
    rib.peerDown(A);
    rib.commit();
    rx.drain(rib, B);
    expect(rx.routes.size).to.equal(0);
    expect(rib.size).to.deep.equal({ prefixes: 0, paths: 0 });
  });
});
