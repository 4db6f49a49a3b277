// Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3).
import { expect } from 'chai';
import { parseRouterId, resolveCollision } from '../../../../src/bgp/fsm/index.js';

const low = parseRouterId('10.0.0.1');
const high = parseRouterId('10.0.0.2');

describe('bgp/fsm: connection collision', () => {
  it('the higher identifier keeps the connection it initiated: both sides agree', () => {
    const us = resolveCollision({ localRouterId: high, peerRouterId: low, localAs: 65001, peerAs: 65002 });
    expect(us).to.deep.include({ keep: 'outgoing', close: 'incoming' });
    const them = resolveCollision({ localRouterId: low, peerRouterId: high, localAs: 65002, peerAs: 65001 });
    expect(them).to.deep.include({ keep: 'incoming', close: 'outgoing' });
    // The same TCP connection survives: our outgoing is their incoming.
    expect(us.notification).to.deep.equal({ code: 6, subcode: 7, data: new Uint8Array() });
  });

  it('compares identifiers as unsigned numbers', () => {
    const r = resolveCollision({ localRouterId: parseRouterId('200.0.0.1'), peerRouterId: parseRouterId('9.0.0.1'), localAs: 1, peerAs: 2 });
    expect(r.keep).to.equal('outgoing');
  });

  it('equal identifiers: the larger AS keeps its own connection (RFC 6286)', () => {
    expect(resolveCollision({ localRouterId: low, peerRouterId: low, localAs: 65010, peerAs: 65002 }).keep).to.equal('outgoing');
    expect(resolveCollision({ localRouterId: low, peerRouterId: low, localAs: 65001, peerAs: 65002 }).keep).to.equal('incoming');
  });

  it('an Established connection wins unless collisions are detected in Established', () => {
    const base = { localRouterId: high, peerRouterId: low, localAs: 1, peerAs: 2 };
    expect(resolveCollision({ ...base, established: 'incoming' }).keep).to.equal('incoming');
    expect(resolveCollision({ ...base, established: 'incoming', collisionDetectEstablished: true }).keep).to.equal('outgoing');
  });
});
