import { expect } from 'chai';
import { Afi } from '../../../../src/bgp/wire/constants.js';
import { NONE, PrefixTable } from '../../../../src/bgp/rib/prefix-table.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('bgp/rib PrefixTable with deferred removal', () => {
  for (const afi of [Afi.IPV4, Afi.IPV6]) {
    it(`agrees with a Map through adds, removes, revivals and flushes (${afi === Afi.IPV4 ? 'IPv4' : 'IPv6'})`, () => {
      const words = afi === Afi.IPV4 ? 1 : 4;
      const t = new PrefixTable(afi);
      const model = new Map<string, number>();
      const rand = rng(afi * 7919);
      const key = new Uint32Array(words);
      const make = (n: number): string => {
        for (let k = 0; k < words; k++) key[k] = k === 0 ? (0x0a000000 + n * 256) >>> 0 : n;
        return `${n}`;
      };
      for (let step = 0; step < 60_000; step++) {
        const r = rand();
        const n = Math.floor(rand() * (step < 30_000 ? 20_000 : 3_000));
        const k = make(n);
        if (r < 0.5) {
          const id = t.findOrAdd(key, 0, 24);
          if (model.has(k)) expect(id).to.equal(model.get(k));
          model.set(k, id);
          expect(t.isLive(id)).to.equal(true);
        } else if (r < 0.8) {
          const id = model.get(k);
          expect(t.find(key, 0, 24)).to.equal(id ?? NONE);
          if (id !== undefined) {
            t.remove(id);
            model.delete(k);
            expect(t.find(key, 0, 24)).to.equal(NONE);
          }
        } else if (r < 0.995) {
          expect(t.find(key, 0, 24)).to.equal(model.get(k) ?? NONE);
        } else if (r < 0.998) {
          t.flushRemovals(); // rebuilds only when removed prefixes are half the hash
        } else {
          t.flushRemovals(true);
          expect(t.pendingRemovals).to.equal(0);
        }
        expect(t.count).to.equal(model.size);
      }
      t.flushRemovals(true);
      const ids = new Set(model.values());
      expect(ids.size).to.equal(model.size);
      for (const [k, id] of model) {
        make(Number(k));
        expect(t.find(key, 0, 24)).to.equal(id);
      }
    });
  }

  it('a whole table removed in one batch leaves an empty, smaller hash whose ids are reused', () => {
    const t = new PrefixTable(Afi.IPV4);
    const key = new Uint32Array(1);
    for (let i = 0; i < 100_000; i++) {
      key[0] = i << 8;
      t.findOrAdd(key, 0, 24);
    }
    for (let id = 0; id < 100_000; id++) t.remove(id);
    expect(t.count).to.equal(0);
    t.flushRemovals();
    key[0] = 42 << 8;
    expect(t.find(key, 0, 24)).to.equal(NONE);
    const id = t.findOrAdd(key, 0, 24);
    expect(id).to.be.lessThan(100_000);
    expect(t.highWater).to.equal(100_000);
  });
});
