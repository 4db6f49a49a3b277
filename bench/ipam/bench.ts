/**
 * IPAM benchmark on a real (throwaway) etcd.
 *
 *   npm run build && node dist/bench/ipam/bench.js [--hosts 1,4,16] [--count 500] [--json FILE]
 *
 * For each K in --hosts: K allocator processes, each a different host, start together,
 * assign --count addresses one at a time (one handle each, as the CNI plugin does), wait
 * for each other, then release them all. Reported: allocations/s over the assign phase
 * (all processes together), p50/p99 latency of one assign and one release, and etcd write
 * transactions (and reads) per allocation. Beside it, the rate of raw single-key CAS
 * transactions on the same etcd with 1 and 16 concurrent writers: the ceiling for any
 * design that needs one transaction per allocation.
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { openKV } from '../../src/datastore/open.js';
import type { KV } from '../../src/datastore/kv.js';
import type { IpPoolInfo } from '../../src/ipam/config.js';
import { startEtcd } from '../../test/helpers/etcd.js';
import type { AllocatorResult } from './allocator.js';
import { Fleet } from './fleet.js';

const POOLS: IpPoolInfo[] = [{ name: 'bench', cidr: '10.96.0.0/14', blockSize: 26 }];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Single-key compare-and-swap transactions per second, `writers` at once, each on its own key. */
async function rawCasRate(kv: KV, writers: number, ms: number): Promise<number> {
  let done = 0;
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: writers }, async (_, i) => {
      const key = `/bench/cas/${writers}/${i}`;
      let rev = (await kv.put(key, '0')).modRevision;
      while (Date.now() < end) {
        const r = await kv.txn([{ op: 'update', key, value: String(done), expectRevision: rev }]);
        rev = r.results[0]!.modRevision;
        done++;
      }
    }),
  );
  return (done / ms) * 1000;
}

interface Row {
  hosts: number;
  /** Raw single-key CAS txn/s with the same number of processes, one txn at a time each. */
  rawCasPerSec: number;
  allocations: number;
  failed: number;
  allocsPerSec: number;
  assignP50Ms: number;
  assignP99Ms: number;
  releaseP50Ms: number;
  releaseP99Ms: number;
  txnPerAlloc: number;
  readsPerAlloc: number;
  txnPerRelease: number;
  conflicts: number;
}

/** Raw CAS transactions per second with `hosts` processes laid out like the allocators. */
async function rawCasProcesses(url: string, hosts: number, count: number): Promise<number> {
  const fleet = await Fleet.start(Array.from({ length: hosts }, (_, i) => ({ datastore: url, node: `cas-${hosts}-${i}`, count, mode: 'cas' as const, handlePrefix: '' })));
  try {
    fleet.go();
    const results = await fleet.results();
    const phase = Math.max(...results.map((r) => r.assignPhaseMs));
    return ((hosts * count) / phase) * 1000;
  } finally {
    await fleet.stop();
  }
}

async function runHosts(url: string, hosts: number, count: number): Promise<Row> {
  const rawCasPerSec = await rawCasProcesses(url, hosts, count);
  const fleet = await Fleet.start(
    Array.from({ length: hosts }, (_, i) => ({ datastore: url, node: `bench-${hosts}-${i}`, count, mode: 'bench' as const, handlePrefix: `b${hosts}-${i}`, pools: POOLS })),
  );
  try {
    fleet.go();
    await Promise.all(fleet.allocators.map((a) => a.assigned));
    fleet.go();
    const results: AllocatorResult[] = await fleet.results();
    const assignMs = results.flatMap((r) => r.assignMs).sort((a, b) => a - b);
    const releaseMs = results.flatMap((r) => r.releaseMs).sort((a, b) => a - b);
    const allocations = assignMs.length;
    const phase = Math.max(...results.map((r) => r.assignPhaseMs));
    const sum = (f: (r: AllocatorResult) => number) => results.reduce((n, r) => n + f(r), 0);
    return {
      hosts,
      rawCasPerSec,
      allocations,
      failed: sum((r) => r.errors.length),
      allocsPerSec: (allocations / phase) * 1000,
      assignP50Ms: percentile(assignMs, 50),
      assignP99Ms: percentile(assignMs, 99),
      releaseP50Ms: percentile(releaseMs, 50),
      releaseP99Ms: percentile(releaseMs, 99),
      txnPerAlloc: sum((r) => r.counts.assignWrites) / allocations,
      readsPerAlloc: sum((r) => r.counts.assignReads) / allocations,
      txnPerRelease: sum((r) => r.counts.releaseWrites) / Math.max(1, releaseMs.length),
      conflicts: sum((r) => r.conflicts),
    };
  } finally {
    await fleet.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { hosts: { type: 'string', default: '1,4,16' }, count: { type: 'string', default: '500' }, json: { type: 'string' } } });
  const hostCounts = values.hosts!.split(',').map(Number);
  const count = Number(values.count);
  if (hostCounts.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(count) || count < 1) {
    process.stderr.write('bench/ipam: --hosts takes numbers like 1,4,16 and --count a whole number\n');
    process.exit(2);
  }
  const etcd = await startEtcd();
  const kv = await openKV(etcd.url);
  try {
    const cas1 = await rawCasRate(kv, 1, 2000);
    const cas16 = await rawCasRate(kv, 16, 2000);
    const rows: Row[] = [];
    for (const k of hostCounts) rows.push(await runHosts(etcd.url, k, count));
    const f = (n: number, d = 1) => n.toFixed(d);
    const lines = [
      `IPAM on etcd ${etcd.url} (one member, loopback), ${count} allocations per host, /26 blocks`,
      `raw single-key CAS txn/s from one process: ${f(cas1, 0)} with 1 writer, ${f(cas16, 0)} with 16 concurrent writers`,
      '',
      'hosts  raw CAS/s  allocations  failed  alloc/s  assign p50/p99 ms  release p50/p99 ms  txn/alloc  reads/alloc  txn/release  conflicts',
      ...rows.map((r) =>
        [
          String(r.hosts).padStart(5),
          f(r.rawCasPerSec, 0).padStart(10),
          String(r.allocations).padStart(12),
          String(r.failed).padStart(7),
          f(r.allocsPerSec, 0).padStart(8),
          `${f(r.assignP50Ms)}/${f(r.assignP99Ms)}`.padStart(18),
          `${f(r.releaseP50Ms)}/${f(r.releaseP99Ms)}`.padStart(19),
          f(r.txnPerAlloc, 3).padStart(10),
          f(r.readsPerAlloc, 3).padStart(12),
          f(r.txnPerRelease, 3).padStart(12),
          String(r.conflicts).padStart(10),
        ].join(' '),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify({ count, rawCasPerSec: { 1: cas1, 16: cas16 }, rows }, null, 2));
  } finally {
    await kv.close();
    await etcd.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/ipam: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
