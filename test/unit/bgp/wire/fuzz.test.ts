/**
 * Bounded fuzz: 20,000 mutations (bit flips, byte writes, truncations, extensions, length
 * field edits) of valid messages, through the framer and every decoder, under several
 * session formats. Nothing may throw, and every outcome must be a message or an error value
 * with an RFC 7606 action and a NOTIFICATION code.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeOpen,
  encodeUpdate,
  IPV4_UNICAST,
  IPV6_UNICAST,
  MessageFramer,
  PLAIN_WIRE_FORMAT,
  wireFormat,
  type DecodedMessage,
  type SessionWireFormat,
} from '../../../../src/bgp/wire/index.js';
import { attributesArb, nlriArb, openArb } from './arbitraries.js';
import { loadGoldenVectors } from './fixtures.js';

const ACTIONS = new Set(['session-reset', 'afi-safi-disable', 'treat-as-withdraw', 'attribute-discard']);

/** A small deterministic PRNG so a failure can be replayed from its iteration number. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Buffer, rand: () => number): Buffer {
  let b = Buffer.from(src);
  const ops = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rand() * b.length);
    switch (Math.floor(rand() * 6)) {
      case 0: // bit flip
        b[at] = (b[at] as number) ^ (1 << Math.floor(rand() * 8));
        break;
      case 1: // random byte
        b[at] = Math.floor(rand() * 256);
        break;
      case 2: // truncate
        b = b.subarray(0, at);
        break;
      case 3: // extend with junk
        b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256)))]);
        break;
      case 4: // edit a 1-byte length-ish field to a nearby value
        if (at < b.length) b[at] = ((b[at] as number) + (rand() < 0.5 ? 1 : -1)) & 0xff;
        break;
      default: // edit a 2-byte field (header length, withdrawn/attribute lengths, extended attr lengths)
        if (at + 1 < b.length) b.writeUInt16BE((b.readUInt16BE(at) + Math.floor(rand() * 7) - 3) & 0xffff, at);
        break;
    }
  }
  return b;
}

function checkOutcome(r: DecodedMessage): void {
  if (r.type === 'error') {
    expect(r.action).to.equal('session-reset');
    expect(r.problems.length).to.be.above(0);
  }
  const problems = r.type === 'error' || r.type === 'update' ? r.problems : [];
  for (const p of problems) {
    expect(ACTIONS.has(p.action), p.reason).to.equal(true);
    expect(p.code).to.be.within(1, 7);
    expect(Buffer.isBuffer(p.data)).to.equal(true);
  }
  if (r.type === 'update') {
    const u = r.update;
    expect(u.announced.lengths.length).to.equal(u.announced.count);
    expect(u.withdrawn.lengths.length).to.equal(u.withdrawn.count);
  }
}

describe('bgp/wire fuzz', function () {
  this.timeout(60000);

  it('survives 20,000 mutations of valid messages with errors as values', () => {
    const both = new Set([IPV4_UNICAST, IPV6_UNICAST]);
    const wires: SessionWireFormat[] = [
      PLAIN_WIRE_FORMAT,
      wireFormat({ as4: true }),
      wireFormat({ as4: true, addPathReceive: both, addPathSend: both, extendedNextHop: new Set([IPV4_UNICAST]), maxReceiveLength: 65535 }),
    ];
    // Seeds: the golden vectors plus generated UPDATEs and OPENs.
    const seeds: { msg: Buffer; wire: SessionWireFormat }[] = loadGoldenVectors().map((v) => ({ msg: v.message, wire: v.wire }));
    const genWire = wires[2] as SessionWireFormat;
    const updates = fc.sample(
      fc.record({ a: attributesArb(true, true), n: nlriArb(1, true, 10), v6: nlriArb(2, true, 10) }),
      { numRuns: 30, seed: 7 },
    );
    for (const { a, n, v6 } of updates) {
      seeds.push({ msg: encodeUpdate({ attributes: a, announced: n, mpReach: { afi: 2, safi: 1, nextHop: Buffer.alloc(16, 0x20), nlri: v6 } }, genWire), wire: genWire });
    }
    for (const o of fc.sample(openArb, { numRuns: 10, seed: 8 })) seeds.push({ msg: encodeOpen(o), wire: PLAIN_WIRE_FORMAT });

    const rand = rng(20240607);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20000; i++) {
      const seed = seeds[i % seeds.length]!;
      const m = mutate(seed.msg, rand);
      const wire = i % 4 === 3 ? (wires[i % 3] as SessionWireFormat) : seed.wire;
      try {
        // Through the framer (as a session would see it) ...
        const f = new MessageFramer(wire.maxReceiveLength);
        f.push(m);
        for (let out = f.next(), guard = 0; out !== null && guard < 10; out = f.next(), guard++) {
          if (out.kind === 'error') {
            expect(out.problem.code).to.equal(1);
            break;
          }
          checkOutcome(decodeMessage(out.message, wire));
        }
        // ... and straight into the decoders, header checks bypassed.
        const r = decodeMessage(m, wire);
        checkOutcome(r);
        const key = r.type === 'update' ? `update:${r.action ?? 'clean'}` : r.type;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch (e) {
        throw new Error(`iteration ${i}: ${m.toString('hex')}: ${(e as Error).stack}`);
      }
    }
    // The mutations reach both clean decodes and every kind of verdict.
    expect(counts['error'] ?? 0).to.be.above(100);
    expect(counts['update:clean'] ?? 0).to.be.above(100);
    expect(counts['update:treat-as-withdraw'] ?? 0).to.be.above(10);
  });
});
