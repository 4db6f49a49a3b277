/**
 * RIB micro-benchmark: N unique /32 routes (default 1,000,000) from one eBGP peer to
 * another, through the codec and the RIB, no sockets:
 *
 *   pre-encoded UPDATEs (~800 /32s each, one attribute set, as a real peer sends them)
 *   -> decodeUpdate -> Rib.receiveUpdate -> Rib.commit -> Rib.takeOutgoing (second peer)
 *
 * and the same for withdrawing them all. Prints seconds per phase, heap and RSS.
 * The bar (TOOLCHAIN.md): BIRD passes 1M routes peer to peer in 1.43 s with 94 MiB RSS.
 *
 *   node --import ./test/register.mjs bench/rib.ts [N]        (or from dist/ after a build)
 */
import { Afi, Origin, decodeUpdate, ipv4FromString, IPV4_UNICAST, packAnnouncements, packWithdrawals, createNlriList, encodeAttributes, wireFormat } from '../src/bgp/wire/index.js';
import { Rib, type RibPeerInfo, type RoutePolicy } from '../src/bgp/rib/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const WIRE = wireFormat({ as4: true });
const ACCEPT: RoutePolicy = { name: 'accept-all', acceptAllUnchanged: true, rejectAll: false, evaluate: (i) => ({ accept: true, attrs: i.attrs }) };

function peer(address: string, asn: number): RibPeerInfo {
  return {
    id: address, address, localAddress: '192.0.2.254', localAsn: 65000, peerAsn: asn, ibgp: false,
    routerId: ipv4FromString(address) as number, routeReflectorClient: false, routeServerClient: false,
    nextHopMode: 'auto', wire: WIRE, families: [IPV4_UNICAST], importPolicy: ACCEPT, exportPolicy: ACCEPT,
  };
}

const MiB = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
let peakRss = 0;
const sample = (): void => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); };
const timer = setInterval(sample, 5);

// The injector's UPDATEs, built before the clock starts.
const list = createNlriList(Afi.IPV4, N, false);
for (let i = 0; i < N; i++) {
  list.addrs[i] = (0x0a000000 + i) >>> 0;
  list.lengths[i] = 32;
}
const attrs = encodeAttributes({ origin: Origin.IGP, asPath: [{ type: 2, asns: [65001] }], nextHop: ipv4FromString('192.0.2.1') as number }, WIRE);
const announcements = packAnnouncements({ attributes: attrs, prefixes: list }, WIRE);
const withdrawals = packWithdrawals({ prefixes: list }, WIRE);
const rssBefore = process.memoryUsage.rss();

const rib = new Rib({ localAsn: 65000, routerId: ipv4FromString('192.0.2.254') as number, now: () => 0, onFibChanges: (c) => { fibChanges += c.count; } });
let fibChanges = 0;
rib.peerUp(peer('192.0.2.1', 65001));
rib.peerUp(peer('192.0.2.2', 65002));

function pass(messages: Buffer[]): { seconds: number; cpu: number; receive: number; commit: number; send: number; out: number; outBytes: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const m of messages) {
    const r = decodeUpdate(m, WIRE);
    rib.receiveUpdate('192.0.2.1', r.update!, r.action);
  }
  const t1 = process.hrtime.bigint();
  rib.commit();
  const t2 = process.hrtime.bigint();
  let out = 0;
  let outBytes = 0;
  while (rib.hasOutgoing('192.0.2.2')) {
    for (const b of rib.takeOutgoing('192.0.2.2', 1 << 20)) {
      out++;
      outBytes += b.length;
    }
  }
  const t3 = process.hrtime.bigint();
  const c = process.cpuUsage(c0);
  sample();
  const s = (a: bigint, b: bigint): number => Number(b - a) / 1e9;
  return { seconds: s(t0, t3), cpu: (c.user + c.system) / 1e6, receive: s(t0, t1), commit: s(t1, t2), send: s(t2, t3), out, outBytes };
}

const a = pass(announcements);
const size = rib.size;
// With --expose-gc, measure what is live rather than what the collector has not got to yet.
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
const w = pass(withdrawals);
clearInterval(timer);
const fmt = (x: number): string => x.toFixed(3);
console.log(`load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)} (figures are only meaningful on an idle machine)`);
console.log(`tortie RIB, ${N.toLocaleString('en')} /32 routes, one peer to another (${announcements.length} UPDATEs in)`);
console.log(`  announce: ${fmt(a.seconds)} s, CPU ${fmt(a.cpu)} s  (decode+receive ${fmt(a.receive)}, commit ${fmt(a.commit)}, pack+send ${fmt(a.send)}); ${a.out} UPDATEs out, ${MiB(a.outBytes)}`);
console.log(`  withdraw: ${fmt(w.seconds)} s, CPU ${fmt(w.cpu)} s  (decode+receive ${fmt(w.receive)}, commit ${fmt(w.commit)}, pack+send ${fmt(w.send)}); ${w.out} UPDATEs out`);
console.log(`  RIB after announce: ${size.prefixes.toLocaleString('en')} prefixes, ${size.paths.toLocaleString('en')} paths; FIB changes reported: ${fibChanges.toLocaleString('en')}`);
console.log(`  memory after announce: heap used ${MiB(mem.heapUsed)}, array buffers ${MiB(mem.arrayBuffers)}, RSS ${MiB(mem.rss)}; peak RSS ${MiB(peakRss)} (input UPDATEs alone: ${MiB(rssBefore)})`);
console.log(`  bar: BIRD 1.43 s, 94 MiB for 1M between two peers (TOOLCHAIN.md); ratio ${(a.seconds / 1.43).toFixed(2)}x time, ${(peakRss / 1048576 / 94).toFixed(2)}x RSS`);
