/**
 * `tortie workload add|del|list` through the built CLI, in-process against a real etcd, with
 * a test namespace standing for the host: two workloads on one host reach each other over
 * the host routes ADD installs; none, host and container:X modes; del cleans up.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKV } from '../../../src/datastore/open.js';
import type { KV } from '../../../src/datastore/kv.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { deleteNetns, listLinks, listNetns, netnsExists } from '../../../src/kernel/index.js';
import { tortie } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { makeHosts, ping, useNetnsScope } from '../../helpers/netns.js';
import { addPool } from '../cni/harness.js';

describe('tortie workload add|del|list (built CLI, real etcd)', function () {
  this.timeout(90_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV;
  let stateDir: string;
  let host: string;
  let stem: string;

  before(async () => {
    etcd = await startEtcd();
    kv = await openKV(etcd.url);
    await addPool(kv, 'pool-w', '10.233.0.0/16');
    const seg = await makeHosts(scope(), 1, { subnet: '10.232.0.0/24', forwarding: true });
    host = seg.hosts[0]!.netns;
    stateDir = mkdtempSync(join(tmpdir(), 'tortie-wl-'));
    stem = scope().prefix; // unique per run: workload namespaces are tw-<prefix><n>
  });

  after(async () => {
    // Whatever a failed test left: only namespaces carrying this run's prefix.
    for (const ns of await listNetns()) if (ns.startsWith(`tw-${stem}`)) await deleteNetns(ns).catch(() => undefined);
    await kv?.close();
    await etcd?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const wl = (...args: string[]) => tortie(['workload', ...args, '--datastore', etcd.url, '--state-dir', stateDir, '--host-netns', host, '--node-socket', '']);
  const list = async () => JSON.parse((await wl('list', '-o', 'json')).stdout) as { name: string; net: string; netns: string | null; ips: string[]; present: boolean }[];

  it('two workloads on one host ping each other; none, host and container:X modes; del cleans up', async () => {
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((x) => `${stem}${x}`);
    let r = await wl('add', a!, '--node', 'node-w', '--labels', 'app=web,tier=front');
    expect(r.exitCode, r.stderr).to.equal(0);
    r = await wl('add', b!, '--node', 'node-w', '--namespace', 'shop');
    expect(r.exitCode, r.stderr).to.equal(0);
    let items = await list();
    const wa = items.find((w) => w.name === a)!;
    const wb = items.find((w) => w.name === b)!;
    expect(wa.netns).to.equal(`tw-${a}`);
    expect(wa.ips[0]).to.match(/^10\.233\./);
    expect(wb.ips[0]).to.match(/^10\.233\./);
    expect(await ping(wa.netns!, wb.ips[0]!, { timeoutMs: 2000 })).to.equal(true);
    expect(await ping(wb.netns!, wa.ips[0]!, { timeoutMs: 2000 })).to.equal(true);
    // The host reaches them too (its routes point at the host veths).
    expect(await ping(host, wa.ips[0]!, { timeoutMs: 2000 })).to.equal(true);

    const store = new ResourceStore(kv);
    const weps = (await store.list('WorkloadEndpoint')).items;
    expect(weps.find((w) => w.spec.workload === a)?.metadata.labels).to.include({ app: 'web', tier: 'front' });
    expect(weps.find((w) => w.spec.workload === b)?.metadata.namespace).to.equal('shop');

    expect((await wl('add', c!, '--node', 'node-w', '--net', 'none')).exitCode).to.equal(0);
    expect((await listLinks(`tw-${c}`)).map((l) => l.name)).to.deep.equal(['lo']);
    expect((await wl('add', d!, '--node', 'node-w', '--net', `container:${a}`)).exitCode).to.equal(0);
    expect((await wl('add', e!, '--node', 'node-w', '--net', 'host')).exitCode).to.equal(0);
    items = await list();
    expect(items.find((w) => w.name === d)).to.include({ netns: `tw-${a}`, net: `container:${a}` });
    expect(items.find((w) => w.name === e)).to.include({ netns: host, net: 'host' });
    expect(items.every((w) => w.present)).to.equal(true);

    // Usage and input errors: one line, the right exit status.
    r = await wl('add', a!, '--node', 'node-w');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('exists already');
    r = await wl('add', `${stem}x`, '--node', 'node-w', '--net', 'bogus');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('--net "bogus"');
    r = await wl('del', a!);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include(`${d} share its namespace`);

    for (const name of [d, e, c, b, a]) {
      r = await wl('del', name!);
      expect(r.exitCode, `del ${name}: ${r.stderr}`).to.equal(0);
    }
    expect(await list()).to.deep.equal([]);
    for (const name of [a, b, c]) expect(netnsExists(`tw-${name}`)).to.equal(false);
    expect((await store.list('WorkloadEndpoint')).items.filter((w) => w.spec.node === 'node-w')).to.deep.equal([]);
    expect((await listLinks(host)).filter((l) => l.name.startsWith('tortie'))).to.deep.equal([]);
  });
});
