// OPEN validation error codes (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 5492) and negotiation.
import { expect } from 'chai';
import {
  AS_TRANS,
  describeNotification,
  validateOpen,
  type NegotiatedSession,
  type OpenPolicy,
  type PeerOpen,
} from '../../../../src/bgp/fsm/index.js';
import { LOCAL_ID, PEER_ID, config, peerOpen } from './fixtures.js';

const policy = (over: Partial<OpenPolicy> = {}): OpenPolicy => ({ ...config().open, ...over });

function rejects(open: PeerOpen, pol: OpenPolicy = policy()) {
  const v = validateOpen(open, pol);
  if (v.ok) throw new Error('OPEN was accepted but should not have been');
  const n = v.notification;
  return { code: `${n.code}/${n.subcode}`, data: Buffer.from(n.data).toString('hex'), text: describeNotification(n.code, n.subcode, n.data), reason: v.reason };
}

function accepts(open: PeerOpen, pol: OpenPolicy = policy()): NegotiatedSession {
  const v = validateOpen(open, pol);
  if (!v.ok) throw new Error(`OPEN was refused: ${v.reason}`);
  return v.negotiated;
}

describe('bgp/fsm: OPEN validation', () => {
  it('2/1 for another BGP version, with the version we support as data', () => {
    const r = rejects(peerOpen({ version: 3 }));
    expect(r).to.deep.include({ code: '2/1', data: '0004' });
    expect(r.text).to.equal('OPEN Message Error / Unsupported Version Number (supported version 4)');
  });

  it('2/2 for an AS other than the configured one, naming what the peer said', () => {
    const twoOctet = rejects(peerOpen({ myAs: 65003, capabilities: [] }));
    expect(twoOctet).to.deep.include({ code: '2/2', data: 'fdeb' });
    expect(twoOctet.text).to.equal('OPEN Message Error / Bad Peer AS (peer said 65003)');
    const fourOctet = rejects(peerOpen({ myAs: AS_TRANS, capabilities: [{ kind: 'as4', asn: 4200000000 }] }));
    expect(fourOctet.code).to.equal('2/2');
    expect(fourOctet.text).to.equal('OPEN Message Error / Bad Peer AS (peer said 4200000000)');
  });

  it('takes a 4-octet AS from the capability when My AS is AS_TRANS', () => {
    const n = accepts(
      peerOpen({ myAs: AS_TRANS, capabilities: [{ kind: 'as4', asn: 4200000000 }] }),
      policy({ peerAs: 4200000000 }),
    );
    expect(n).to.deep.include({ peerAs: 4200000000, as4: true, type: 'ebgp' });
  });

  it('refuses AS_TRANS without the 4-octet capability unless configured so, and AS_TRANS inside it', () => {
    expect(rejects(peerOpen({ myAs: AS_TRANS, capabilities: [] }), policy({ peerAs: 4200000000 })).code).to.equal('2/2');
    expect(rejects(peerOpen({ capabilities: [{ kind: 'as4', asn: AS_TRANS }] }), policy({ peerAs: undefined })).code).to.equal('2/2');
  });

  it('accepts any AS when none is configured, and tells iBGP from eBGP', () => {
    const n = accepts(peerOpen({ myAs: 65001, capabilities: [{ kind: 'as4', asn: 65001 }] }), policy({ peerAs: undefined }));
    expect(n.type).to.equal('ibgp');
    expect(n.as4).to.equal(true);
  });

  it('2/3 for a zero BGP identifier, and for our own identifier on iBGP only (RFC 6286)', () => {
    expect(rejects(peerOpen({ bgpId: 0 })).code).to.equal('2/3');
    const ibgp = policy({ peerAs: 65001 });
    const same = peerOpen({ myAs: 65001, bgpId: LOCAL_ID, capabilities: [{ kind: 'as4', asn: 65001 }] });
    const r = rejects(same, ibgp);
    expect(r.code).to.equal('2/3');
    expect(r.text).to.equal('OPEN Message Error / Bad BGP Identifier (identifier 10.0.0.1)');
    // eBGP peers may share our identifier.
    expect(accepts(peerOpen({ bgpId: LOCAL_ID })).peerRouterId).to.equal(LOCAL_ID);
  });

  it('2/6 for hold times 1 and 2, or below a configured minimum; 0 and 3 are fine', () => {
    expect(rejects(peerOpen({ holdTime: 1 })).code).to.equal('2/6');
    expect(rejects(peerOpen({ holdTime: 2 })).code).to.equal('2/6');
    expect(rejects(peerOpen({ holdTime: 5 }), policy({ minHoldTimeSec: 10 })).code).to.equal('2/6');
    expect(accepts(peerOpen({ holdTime: 0 })).holdTimeSec).to.equal(0);
    expect(accepts(peerOpen({ holdTime: 3 }))).to.deep.include({ holdTimeSec: 3, keepaliveSec: 1 });
  });

  it('2/7 only for a capability we require, listing the missing ones', () => {
    const r = rejects(peerOpen({ capabilities: [] }), policy({ requiredCapabilities: ['as4', 'route-refresh'] }));
    expect(r).to.deep.include({ code: '2/7', data: '41000200' });
    expect(r.text).to.equal('OPEN Message Error / Unsupported Capability (missing 4-octet AS, route refresh)');
    // Unknown capabilities are never a reason to refuse.
    accepts(peerOpen({ capabilities: [{ kind: 'unknown', code: 200 }, { kind: 'as4', asn: 65002 }] }));
  });
});

describe('bgp/fsm: capability negotiation', () => {
  it('takes the lower hold time of both sides', () => {
    expect(accepts(peerOpen({ holdTime: 30 })).holdTimeSec).to.equal(30);
    expect(accepts(peerOpen({ holdTime: 300 })).holdTimeSec).to.equal(90);
  });

  it('keeps the families both sides offer; no multiprotocol capability means IPv4 unicast', () => {
    const both = accepts(
      peerOpen({
        capabilities: [
          { kind: 'multiprotocol', afi: 2, safi: 1 },
          { kind: 'multiprotocol', afi: 1, safi: 2 },
        ],
      }),
    );
    expect(both.families).to.deep.equal([{ afi: 2, safi: 1 }]);
    expect(accepts(peerOpen({ capabilities: [] })).families).to.deep.equal([{ afi: 1, safi: 1 }]);
  });

  it('negotiates ADD-PATH per family and direction', () => {
    const pol = policy({
      capabilities: {
        ...config().open.capabilities,
        addPath: [
          { afi: 1, safi: 1, send: true, receive: true },
          { afi: 2, safi: 1, send: true, receive: false },
        ],
      },
    });
    const n = accepts(
      peerOpen({
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'multiprotocol', afi: 2, safi: 1 },
          {
            kind: 'add-path',
            families: [
              { afi: 1, safi: 1, send: false, receive: true },
              { afi: 2, safi: 1, send: true, receive: false },
            ],
          },
        ],
      }),
      pol,
    );
    // IPv4: we send (peer receives), we do not receive (peer does not send). IPv6: nothing fits.
    expect(n.addPath).to.deep.equal([{ afi: 1, safi: 1, send: true, receive: false }]);
  });

  it('records the peer graceful restart for negotiated families, and the flags both must offer', () => {
    const n = accepts(
      peerOpen({
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'route-refresh' },
          { kind: 'extended-message' },
          {
            kind: 'graceful-restart',
            restarting: true,
            notification: false,
            restartTimeSec: 120,
            families: [
              { afi: 1, safi: 1, forwardingPreserved: true },
              { afi: 2, safi: 1, forwardingPreserved: true },
            ],
          },
        ],
      }),
    );
    expect(n.peerGracefulRestart).to.deep.equal({
      restarting: true,
      notification: false,
      restartTimeSec: 120,
      families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
    });
    expect(n).to.deep.include({ routeRefresh: true, enhancedRouteRefresh: false, extendedMessage: true, as4: false });
    expect(n.peerRouterId).to.equal(PEER_ID);
  });

  it('extended next hop only for entries both sides list', () => {
    const pol = policy({
      capabilities: { ...config().open.capabilities, extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    });
    const n = accepts(
      peerOpen({
        capabilities: [{ kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }, { afi: 1, safi: 2, nextHopAfi: 2 }] }],
      }),
      pol,
    );
    expect(n.extendedNextHop).to.deep.equal([{ afi: 1, safi: 1, nextHopAfi: 2 }]);
  });
});
