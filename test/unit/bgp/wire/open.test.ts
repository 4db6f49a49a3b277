import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeCapability,
  decodeOpen,
  encodeOpen,
  familyKey,
  IPV4_UNICAST,
  IPV6_UNICAST,
  myAsField,
  negotiatedFamilies,
  negotiateWireFormat,
  openAsn,
  type Capability,
  type OpenMessage,
} from '../../../../src/bgp/wire/index.js';
import { capabilityArb, openArb } from './arbitraries.js';
import { loadGoldenVectors } from './fixtures.js';

function open(caps: Capability[], extra: Partial<OpenMessage> = {}): OpenMessage {
  return { version: 4, myAs: 65001, holdTime: 90, bgpId: 0x0a000001, capabilities: caps, ...extra };
}

describe('bgp/wire OPEN and capabilities', () => {
  it('round-trips every OPEN (property)', () => {
    fc.assert(
      fc.property(openArb, (o) => {
        const r = decodeOpen(encodeOpen(o));
        expect(r.ok).to.equal(true);
        if (!r.ok) return;
        const { extendedParameters, ...rest } = r.value;
        const { extendedParameters: wanted, ...orig } = o;
        expect(rest).to.deep.equal(orig);
        // Extended layout is used when asked, and only then or when the parameters need it.
        if (wanted) expect(extendedParameters).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips every capability value (property)', () => {
    fc.assert(
      fc.property(capabilityArb, (c) => {
        const o = encodeOpen(open([c]));
        const r = decodeOpen(o);
        expect(r.ok && r.value.capabilities).to.deep.equal([c]);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes the hand-made RFC vector byte for byte', () => {
    const v = loadGoldenVectors().find((g) => g.note.startsWith('OPEN AS 65001'));
    expect(v).to.not.equal(undefined);
    const r = decodeOpen(v!.message);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value).to.deep.include({ version: 4, myAs: 65001, holdTime: 90, bgpId: 0x0a000001 });
    expect(r.value.capabilities).to.deep.equal([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh', code: 2 },
      { kind: 'four-octet-as', asn: 65001 },
      { kind: 'graceful-restart', restarting: true, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: true }] },
    ]);
    expect(encodeOpen(r.value).equals(v!.message)).to.equal(true);
  });

  it('reads and writes RFC 9072 extended optional parameters', () => {
    const v = loadGoldenVectors().find((g) => g.note.includes('RFC 9072'));
    const r = decodeOpen(v!.message);
    expect(r.ok && r.value.extendedParameters).to.equal(true);
    expect(r.ok && r.value.capabilities.length).to.equal(4);
    if (r.ok) expect(encodeOpen(r.value).equals(v!.message)).to.equal(true);
    // Over 255 bytes of parameters switches to the extended layout by itself.
    const many = Array.from({ length: 60 }, (_, i): Capability => ({ kind: 'multiprotocol', afi: 1, safi: i }));
    const big = decodeOpen(encodeOpen(open(many)));
    expect(big.ok && big.value.extendedParameters).to.equal(true);
    expect(big.ok && big.value.capabilities).to.deep.equal(many);
  });

  it('rejects a wrong version with 2/1 and data 4', () => {
    const b = encodeOpen(open([]));
    b[19] = 3;
    const r = decodeOpen(b);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect([r.problems[0]?.code, r.problems[0]?.subcode, r.problems[0]?.data.readUInt16BE(0)]).to.deep.equal([2, 1, 4]);
  });

  it('rejects an unknown optional parameter with 2/4 and bad parameter lengths with 2/0', () => {
    const b = encodeOpen(open([{ kind: 'extended-message' }]));
    b[29] = 1; // parameter type 1 (deprecated authentication)
    const r = decodeOpen(b);
    expect(!r.ok && r.problems[0]?.subcode).to.equal(4);
    const c = encodeOpen(open([{ kind: 'extended-message' }]));
    c[28] = 9; // optional parameters length past the end
    const r2 = decodeOpen(c);
    expect(!r2.ok && [r2.problems[0]?.code, r2.problems[0]?.subcode]).to.deep.equal([2, 0]);
    const d = encodeOpen(open([{ kind: 'extended-message' }]));
    d[32] = 5; // capability length past its parameter
    const r3 = decodeOpen(d);
    expect(r3.ok).to.equal(false);
  });

  it('keeps known capabilities with a wrong length as unknown, never an error', () => {
    expect(decodeCapability(65, Buffer.from([0, 1]))).to.deep.equal({ kind: 'unknown', code: 65, value: Buffer.from([0, 1]) });
    expect(decodeCapability(1, Buffer.alloc(3))).to.have.property('kind', 'unknown');
    expect(decodeCapability(69, Buffer.from([0, 1, 1, 9]))).to.have.property('kind', 'unknown');
  });

  it('finds the 4-octet AS and writes AS_TRANS for it', () => {
    expect(myAsField(4200000001)).to.equal(23456);
    expect(myAsField(65001)).to.equal(65001);
    expect(openAsn(open([{ kind: 'four-octet-as', asn: 4200000001 }], { myAs: 23456 }))).to.equal(4200000001);
    expect(openAsn(open([]))).to.equal(65001);
  });

  describe('negotiateWireFormat', () => {
    const full: Capability[] = [
      { kind: 'four-octet-as', asn: 65001 },
      { kind: 'extended-message' },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, direction: 3 }, { afi: 2, safi: 1, direction: 1 }] },
      { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
    ];
    it('needs both sides for as4, ADD-PATH directions and extended next hop', () => {
      const peer: Capability[] = [
        { kind: 'four-octet-as', asn: 65002 },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, direction: 2 }, { afi: 2, safi: 1, direction: 2 }] },
        { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
      ];
      const w = negotiateWireFormat(open(full), open(peer));
      expect(w.as4).to.equal(true);
      expect([...w.addPathReceive].sort()).to.deep.equal([IPV4_UNICAST, IPV6_UNICAST].sort());
      expect([...w.addPathSend]).to.deep.equal([]); // the peer cannot receive
      expect([...w.extendedNextHop]).to.deep.equal([IPV4_UNICAST]);
      // RFC 8654: we accept big messages because we advertised; we may not send them.
      expect(w.maxReceiveLength).to.equal(65535);
      expect(w.maxSendLength).to.equal(4096);
      expect([...negotiatedFamilies(open(full), open(peer))]).to.deep.equal([IPV6_UNICAST]);
    });
    it('sends extended messages only when both sides advertised them (FRR 8.4 resets otherwise)', () => {
      const ext: Capability[] = [{ kind: 'extended-message' }];
      expect(negotiateWireFormat(open(ext), open(ext))).to.deep.include({ maxReceiveLength: 65535, maxSendLength: 65535 });
      expect(negotiateWireFormat(open([]), open(ext))).to.deep.include({ maxReceiveLength: 4096, maxSendLength: 4096 });
      expect(negotiateWireFormat(open(ext), open([]))).to.deep.include({ maxReceiveLength: 65535, maxSendLength: 4096 });
    });
    it('falls back to plain RFC 4271 against a bare OPEN', () => {
      const w = negotiateWireFormat(open(full), open([]));
      expect(w).to.deep.include({ as4: false, maxReceiveLength: 65535, maxSendLength: 4096 });
      expect(w.addPathReceive.size + w.addPathSend.size + w.extendedNextHop.size).to.equal(0);
      expect([...negotiatedFamilies(open([]), open([]))]).to.deep.equal([familyKey(1, 1)]);
    });
  });
});
