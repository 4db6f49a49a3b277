/**
 * Codec benchmark: pack 1,000,000 IPv4 /32s behind one attribute set into 4096-byte UPDATEs,
 * then decode them all, and print prefixes per second for each direction and the heap used.
 * It shows the codec is not the bottleneck next to BIRD's 1.43 s for 1M routes end to end.
 *
 * Run through ts-node:  node --import ./test/register.mjs bench/codec.ts
 * or built:             npm run build && node dist/bench/codec.js
 * (the built form is the one to quote: no loader, no source-map overhead).
 */
import {
  createNlriList,
  decodeUpdate,
  encodeAttributes,
  ipv4FromString,
  packAnnouncements,
  wireFormat,
} from '../src/bgp/wire/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 5;
const wire = wireFormat({ as4: true });

const prefixes = createNlriList(1, N, false);
const base = ipv4FromString('10.0.0.0') ?? 0;
for (let i = 0; i < N; i++) {
  prefixes.addrs[i] = (base + i) >>> 0;
  prefixes.lengths[i] = 32;
}
const attributes = encodeAttributes(
  { origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], nextHop: ipv4FromString('192.0.2.1') ?? 0, localPref: 100, communities: [65001 * 65536 + 1] },
  wire,
);

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function run(): { encodeS: number; decodeS: number; messages: number; decoded: number } {
  const t0 = process.hrtime.bigint();
  const msgs = packAnnouncements({ attributes, prefixes }, wire);
  const t1 = process.hrtime.bigint();
  let decoded = 0;
  let checksum = 0;
  for (const m of msgs) {
    const r = decodeUpdate(m, wire);
    if (r.update === null || r.action !== null) throw new Error('benchmark UPDATE did not decode cleanly');
    const a = r.update.announced;
    decoded += a.count;
    checksum = (checksum + (a.addrs[a.count - 1] as number)) >>> 0;
  }
  const t2 = process.hrtime.bigint();
  if (decoded !== N) throw new Error(`decoded ${decoded} of ${N} prefixes`);
  return { encodeS: Number(t1 - t0) / 1e9, decodeS: Number(t2 - t1) / 1e9, messages: msgs.length, decoded: checksum };
}

const heapBefore = process.memoryUsage().heapUsed;
const results: ReturnType<typeof run>[] = [];
for (let i = 0; i < ROUNDS; i++) results.push(run());
const heapAfter = process.memoryUsage();
const best = (k: 'encodeS' | 'decodeS') => Math.min(...results.map((r) => r[k]));
const median = (k: 'encodeS' | 'decodeS') => [...results.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] as number;

console.log(`codec benchmark: ${N.toLocaleString('en')} IPv4 /32s, ${results[0]?.messages} UPDATEs of <= 4096 bytes (${(N / (results[0]?.messages ?? 1)).toFixed(0)} prefixes each), ${ROUNDS} rounds`);
console.log(`encode (pack): median ${median('encodeS').toFixed(3)} s, best ${best('encodeS').toFixed(3)} s, ${(N / median('encodeS') / 1e6).toFixed(1)} M prefixes/s`);
console.log(`decode:        median ${median('decodeS').toFixed(3)} s, best ${best('decodeS').toFixed(3)} s, ${(N / median('decodeS') / 1e6).toFixed(1)} M prefixes/s`);
console.log(`heap used: ${mib(heapAfter.heapUsed)} (started at ${mib(heapBefore)}; input prefix arrays ${mib(N * 5)}); rss ${mib(heapAfter.rss)}; external ${mib(heapAfter.external)}`);
