/**
 * IPAM on real etcd with real processes: many hosts allocating at once, an allocator killed
 * with SIGKILL in the middle of its work, and an etcd member killed and restarted under load.
 * Allocators are built JS (dist/bench/ipam/allocator.js): run `npm run build` first.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AllocatorResult } from '../../../bench/ipam/allocator.js';
import { Fleet } from '../../../bench/ipam/fleet.js';
import type { KV } from '../../../src/datastore/kv.js';
import { openKV } from '../../../src/datastore/open.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { contains, mustParseCidr, parseIp } from '../../../src/ipam/addr.js';
import { checkIpam } from '../../../src/ipam/check.js';
import { Ipam } from '../../../src/ipam/ipam.js';
import { ResourceConfigSource } from '../../../src/ipam/resource-source.js';
import { showIpam } from '../../../src/ipam/show.js';
import { tortie } from '../../helpers/cli.js';
import { startEtcd, startEtcdCluster, type EtcdCluster, type EtcdServer } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

const POOL = '10.70.0.0/20';

async function seed(kv: KV, hosts: string[]): Promise<void> {
  const store = new ResourceStore(kv);
  await store.applyAll(
    [
      { apiVersion: 'tortie.dev/v1', kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: POOL, blockSize: 26 } },
      ...hosts.map((name) => ({ apiVersion: 'tortie.dev/v1', kind: 'Node', metadata: { name }, spec: {} })),
    ],
    'apply',
  );
}

function hostNames(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
}

function insidePool(ip: string): boolean {
  const p = parseIp(ip)!;
  return contains(mustParseCidr(POOL), p.family, p.value);
}

/** Releases every handle the allocators still hold, 16 at a time. */
async function releaseAll(kv: KV, results: AllocatorResult[]): Promise<void> {
  const ipam = new Ipam(kv, new ResourceConfigSource(new ResourceStore(kv)));
  const handles = results.flatMap((r) => r.held.map((h) => h.handle));
  const lanes = Array.from({ length: 16 }, (_, lane) => handles.filter((_, i) => i % 16 === lane));
  await Promise.all(lanes.map(async (lane) => {
    for (const h of lane) await ipam.releaseByHandle(h);
  }));
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

describe('ipam on etcd: concurrent hosts (integration)', function () {
  this.timeout(120_000);
  let etcd: EtcdServer;
  let kv: KV;
  let fleet: Fleet | undefined;
  let tmp: string;

  // A fresh etcd per test: each one ends by checking that the store is clean.
  beforeEach(async () => {
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    tmp = mkdtempSync(join(tmpdir(), 'tortie-ipam-'));
  });
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
    await kv?.close();
    await etcd?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('16 processes x 250 allocations in a /20 of /26 blocks: 4,000 distinct addresses, borrowing, then a clean check', async () => {
    const hosts = hostNames(16, 'host');
    await seed(kv, [...hosts, 'host-extra']);
    // Another host already holds one block (half used): 63 blocks are left for 16 hosts
    // that need 4 each, so the blocks run out and some host must borrow to get its 250.
    const extra = new Ipam(kv, new ResourceConfigSource(new ResourceStore(kv)));
    await extra.assign({ node: 'host-extra', handle: 'reserved', count: 32, attrs: { purpose: 'script' } });
    fleet = await Fleet.start(hosts.map((node) => ({ datastore: etcd.url, node, count: 250, mode: 'hold' as const, handlePrefix: `${node}-w` })));
    fleet.go();
    const results = await fleet.results();

    const errors = results.flatMap((r) => r.errors);
    expect(errors, JSON.stringify(errors.slice(0, 3))).to.deep.equal([]);
    const ips = results.flatMap((r) => r.held.map((h) => h.ip));
    expect(ips).to.have.length(4000);
    expect(new Set(ips).size).to.equal(4000);
    expect(ips.filter((ip) => !insidePool(ip))).to.deep.equal([]);

    const shown = await showIpam(kv, new ResourceConfigSource(new ResourceStore(kv)));
    expect(shown.pools[0]).to.include({ used: '4032', free: '64', blocks: 64 });
    expect(shown.borrowed.length).to.be.greaterThan(0);
    console.log(`      (${shown.borrowed.length} addresses borrowed; ${results.reduce((n, r) => n + r.conflicts, 0)} lost races retried)`);

    await releaseAll(kv, results);
    const check = await tortie(['ipam', 'check', '--datastore', etcd.url]);
    expect(check.exitCode, check.stderr).to.equal(0);
    expect(lastLine(check.stdout)).to.equal('Found 0 problems.');
  });

  it('kill -9 of an allocator mid-run leaves at most its in-flight allocation, which check reports and release --from-report frees', async () => {
    const hosts = hostNames(2, 'kill');
    await seed(kv, hosts);
    fleet = await Fleet.start(hosts.map((node) => ({ datastore: etcd.url, node, count: 1_000_000, mode: 'cycle' as const, handlePrefix: `${node}-c` })));
    const [victim, survivor] = fleet.allocators as [(typeof fleet.allocators)[0], (typeof fleet.allocators)[0]];
    fleet.go();
    const target = 20 + Math.floor(Math.random() * 20);
    await waitFor(() => victim.cycles >= target && survivor.cycles >= 5, { timeoutMs: 30_000, what: 'both allocators to make progress' });
    victim.kill('SIGKILL');
    survivor.kill('SIGTERM');
    const done = await survivor.done;
    expect(done.errors).to.deep.equal([]);
    await victim.exited();

    const report = join(tmp, 'report.json');
    const check = await tortie(['ipam', 'check', '--datastore', etcd.url, '-o', report]);
    expect(check.exitCode, check.stderr).to.equal(0);
    const problems = check.stdout.split('\n').filter((l) => l.startsWith('  '));
    expect(problems.length).to.be.at.most(1);
    for (const p of problems) expect(p).to.match(/^ {2}leaked-allocation: 10\.70\.\S+ \(handle "kill-00-c-\d+", purpose workload, node kill-00, workload bench\/kill-00-c-\d+\) is leaked: no live workload endpoint carries it$/);
    expect(lastLine(check.stdout)).to.equal(`Found ${problems.length} problem${problems.length === 1 ? '' : 's'}.`);

    const fix = await tortie(['ipam', 'release', '--datastore', etcd.url, '--from-report', report]);
    expect(fix.exitCode, fix.stderr).to.equal(0);
    expect(lastLine(fix.stdout)).to.equal(`Fixed ${problems.length} of ${problems.length} problems (0 no longer problems, 0 need a person).`);
    const again = await tortie(['ipam', 'check', '--datastore', etcd.url]);
    expect(lastLine(again.stdout)).to.equal('Found 0 problems.');
  });
});

describe('ipam on etcd: a member killed and restarted under load (integration)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let kv: KV;
  let fleet: Fleet | undefined;

  before(async () => {
    cluster = await startEtcdCluster(3);
    kv = await openKV(cluster.url);
  });
  after(async () => {
    await fleet?.stop();
    await kv?.close();
    await cluster?.stop();
  });

  it('no duplicate, no leak, and every failed call got a clear error', async () => {
    const hosts = hostNames(8, 'fault');
    await seed(kv, hosts);
    fleet = await Fleet.start(hosts.map((node) => ({ datastore: cluster.url, node, count: 150, mode: 'hold' as const, handlePrefix: `${node}-f` })));
    fleet.go();
    const progress = () => fleet!.allocators.reduce((n, a) => n + a.cycles, 0);
    await waitFor(() => progress() >= 200, { timeoutMs: 30_000, what: 'allocations to get going' });
    const member = cluster.members[0]!;
    await member.kill('SIGKILL');
    const atKill = progress();
    await waitFor(() => progress() >= atKill + 200, { timeoutMs: 60_000, what: 'allocations to go on with one member down' });
    await member.restart();
    const results = await fleet.results();

    const ips = results.flatMap((r) => r.held.map((h) => h.ip));
    expect(new Set(ips).size, 'duplicate addresses').to.equal(ips.length);
    expect(ips.filter((ip) => !insidePool(ip))).to.deep.equal([]);
    const errors = results.flatMap((r) => r.errors);
    for (const e of errors) {
      expect(e.userError, `${e.name}: ${e.message}`).to.equal(true);
      expect(e.message).to.not.include('\n');
      expect(e.message.length).to.be.greaterThan(10);
    }
    const failedAssigns = errors.filter((e) => e.op === 'assign').length;
    expect(ips.length + failedAssigns).to.equal(8 * 150);

    // What the store holds is exactly what the allocators think they hold.
    const report = await checkIpam(kv, new ResourceConfigSource(new ResourceStore(kv)));
    const leaked = report.problems.filter((p) => p.kind === 'leaked-allocation').map((p) => p.ip).sort();
    expect(leaked).to.deep.equal([...ips].sort());
    expect(report.problems.filter((p) => p.kind !== 'leaked-allocation')).to.deep.equal([]);

    await releaseAll(kv, results);
    const check = await tortie(['ipam', 'check', '--datastore', cluster.url]);
    expect(lastLine(check.stdout), check.stdout + check.stderr).to.equal('Found 0 problems.');
    console.log(`      (${failedAssigns} of ${8 * 150} assignments failed while the member was down, each with a clear error${errors[0] ? `, e.g. ${errors[0].name}: ${errors[0].message}` : ''})`);
  });
});
