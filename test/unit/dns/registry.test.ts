import { expect } from 'chai';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { DnsCache } from '../../../src/dns/cache.js';
import { decodeDnsRecord, DNS_PREFIX } from '../../../src/dns/records.js';
import { DnsRegistrar } from '../../../src/dns/registry.js';
import { logger } from '../../../src/log/logger.js';
import { waitFor } from '../../helpers/wait.js';
import { endpointDoc } from './fixtures.js';

const log = logger('dns-test');
log.level = 'error';

/**
 * What etcd does when a host stops renewing its lease: every key of the lease goes in one
 * revision. MemoryKV does this in its (private) dropLease; etcd is exercised for real in
 * test/integration/dns.
 */
function expireLease(kv: MemoryKV, id: string): void {
  (kv as unknown as { dropLease(id: string): void }).dropLease(id);
}


describe('dns: registrar and cache on the memory store', function () {
  let kv: MemoryKV;
  let store: ResourceStore;
  const regs: DnsRegistrar[] = [];
  let cache: DnsCache;

  beforeEach(function () {
    kv = new MemoryKV();
    store = new ResourceStore(kv);
    cache = new DnsCache(kv, log);
    cache.start();
  });
  afterEach(async function () {
    for (const r of regs.splice(0)) await r.stop();
    await cache.stop();
    await kv.close();
  });

  const registrar = (nodeName: string) => {
    const r = new DnsRegistrar({ kv, nodeName, leaseTtlSeconds: 30, log });
    regs.push(r);
    return r;
  };

  it('writes one leased record per workload and host, with addresses and named ports, only for its own node', async function () {
    const a = registrar('host-a');
    a.start(store);
    await store.create(endpointDoc('web', 'host-a', ['10.65.0.7/32', 'fd00:65::7/128'], { ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] }));
    await store.create(endpointDoc('db', 'host-b', ['10.65.1.2/32']));
    const pair = await waitFor(() => kv.get(`${DNS_PREFIX}prod/web/host-a`), { what: 'the record of web' });
    expect(pair.lease).to.equal(a.leaseId);
    expect(decodeDnsRecord(pair.value)).to.deep.equal({
      name: 'web',
      namespace: 'prod',
      node: 'host-a',
      addresses: ['10.65.0.7', 'fd00:65::7'],
      ports: [{ name: 'http', protocol: 'tcp', port: 8080 }],
    });
    await a.synced();
    expect((await kv.list(DNS_PREFIX)).items.map((p) => p.key)).to.deep.equal([`${DNS_PREFIX}prod/web/host-a`]);
    await waitFor(() => cache.lookup('prod', 'web').length === 1, { what: 'the cache to see web' });
    expect(cache.hasNamespace('prod')).to.equal(true);
  });

  it('follows a workload that is deleted on one host and added on another; revoking a host\'s lease drops its records', async function () {
    const a = registrar('host-a');
    const b = registrar('host-b');
    a.start(store);
    b.start(store);
    await store.create(endpointDoc('web', 'host-a', ['10.65.0.7/32']));
    await store.create(endpointDoc('api', 'host-b', ['10.65.1.3/32']));
    await waitFor(() => cache.lookup('prod', 'web')[0]?.addresses[0] === '10.65.0.7', { what: 'web on host-a' });
    await store.delete({ kind: 'WorkloadEndpoint', name: 'web', namespace: 'prod' });
    await waitFor(() => cache.lookup('prod', 'web').length === 0, { what: 'web gone' });
    await store.create(endpointDoc('web', 'host-b', ['10.65.1.9/32']));
    const moved = await waitFor(() => cache.lookup('prod', 'web').find((r) => r.node === 'host-b'), { what: 'web on host-b' });
    expect(moved.addresses).to.deep.equal(['10.65.1.9']);
    expect(cache.lookup('prod', 'web')).to.have.length(1);
    // Host b "dies": its lease goes, and every record of it.
    const lease = b.leaseId;
    expect(lease).to.be.a('string');
    await b.stop({ keepRecords: true });
    regs.splice(regs.indexOf(b), 1);
    await (await kv.grantLease(30)).revoke(); // an unrelated lease changes nothing
    expect(cache.lookup('prod', 'api')).to.have.length(1);
    // Revoke b's lease as etcd would expire it.
    expireLease(kv, lease!);
    await waitFor(() => cache.lookup('prod', 'web').length === 0 && cache.lookup('prod', 'api').length === 0, { what: 'host-b records gone' });
    expect(cache.hasNamespace('prod')).to.equal(false);
  });

  it('register/unregister by hand; merges several endpoints of one workload; rejects names that are not DNS labels', async function () {
    const a = registrar('host-a');
    const ep1 = { ...endpointDoc('w1-eth0', 'host-a', ['10.65.0.1/32'], { workload: 'Worker' }), metadata: { name: 'w1-eth0', namespace: 'prod' } };
    const ep2 = { ...endpointDoc('w1-eth1', 'host-a', ['10.65.0.2/32'], { workload: 'worker' }), metadata: { name: 'w1-eth1', namespace: 'prod' } };
    const bad = endpointDoc('under_score', 'host-a', ['10.65.0.3/32']);
    a.register(ep1 as never);
    a.register(ep2 as never);
    a.register(bad as never);
    await a.synced();
    const listing = await kv.list(DNS_PREFIX);
    expect(listing.items.map((p) => p.key)).to.deep.equal([`${DNS_PREFIX}prod/worker/host-a`]);
    expect(decodeDnsRecord(listing.items[0]!.value)!.addresses).to.deep.equal(['10.65.0.1', '10.65.0.2']);
    a.unregister(ep1 as never);
    await a.synced();
    expect(decodeDnsRecord((await kv.get(`${DNS_PREFIX}prod/worker/host-a`))!.value)!.addresses).to.deep.equal(['10.65.0.2']);
    a.unregister(ep2 as never);
    await a.synced();
    expect((await kv.list(DNS_PREFIX)).items).to.deep.equal([]);
  });

  it('sweeps records of its node left by an earlier run once in sync, and re-registers after a lost lease', async function () {
    await kv.put(`${DNS_PREFIX}prod/stale/host-a`, JSON.stringify({ name: 'stale', namespace: 'prod', node: 'host-a', addresses: ['10.65.0.99'], ports: [] }));
    await kv.put(`${DNS_PREFIX}prod/other/host-z`, JSON.stringify({ name: 'other', namespace: 'prod', node: 'host-z', addresses: ['10.65.9.9'], ports: [] }));
    await store.create(endpointDoc('web', 'host-a', ['10.65.0.7/32']));
    const a = registrar('host-a');
    a.start(store);
    await waitFor(async () => (await kv.get(`${DNS_PREFIX}prod/stale/host-a`)) === null && (await kv.get(`${DNS_PREFIX}prod/web/host-a`)) !== null, { what: 'stale swept, web written' });
    expect(await kv.get(`${DNS_PREFIX}prod/other/host-z`)).to.not.equal(null);
    const first = a.leaseId!;
    // The lease is lost behind the registrar's back: the keys go; it must write them again.
    expireLease(kv, first);
    expect(await kv.get(`${DNS_PREFIX}prod/web/host-a`)).to.equal(null);
    // MemoryKV's dropLease does not call onLost (only expiry does); a write with the dead lease fails instead.
    a.register(endpointDoc('web2', 'host-a', ['10.65.0.8/32']) as never);
    const back = await waitFor(() => kv.get(`${DNS_PREFIX}prod/web/host-a`), { what: 'web written again', timeoutMs: 8000 });
    expect(back.lease).to.not.equal(first);
    expect(back.lease).to.equal(a.leaseId);
  });
});
