import { expect } from 'chai';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../../src/common/errors.js';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { ResourceError, ValidationError } from '../../../src/datastore/resources/errors.js';
import { resourceKey } from '../../../src/datastore/resources/keys.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import type { AnyResource } from '../../../src/datastore/resources/types.js';
import type { ResourceEvent } from '../../../src/datastore/resources/watch.js';
import { waitFor } from '../../helpers/wait.js';

const pool = (name: string, cidr: string, extra: object = {}) => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, ...extra } });
const peer = (name: string, ip = '192.0.2.1') => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec: { peerIP: ip, asNumber: 64512 } });
const netpol = (name: string, namespace?: string) => ({ apiVersion: 'tortie.dev/v1', kind: 'NetworkPolicy', metadata: { name, ...(namespace ? { namespace } : {}) }, spec: {} });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('ResourceStore on MemoryKV', () => {
  let kv: MemoryKV;
  let store: ResourceStore;
  let uids = 0;

  beforeEach(() => {
    kv = new MemoryKV();
    uids = 0;
    store = new ResourceStore(kv, { now: () => new Date('2024-05-01T10:00:00.123Z'), newUid: () => `uid-${++uids}` });
  });
  afterEach(() => kv.close());

  it('creates under the documented key, with resourceVersion = modRevision, uid and creationTimestamp', async () => {
    const created = await store.create(pool('pool-a', '10.0.0.0/16'));
    const pair = await kv.get('/tortie/v1/resources/ippool/pool-a');
    expect(pair).to.not.equal(null);
    expect(created.metadata).to.deep.equal({ name: 'pool-a', uid: 'uid-1', creationTimestamp: '2024-05-01T10:00:00Z', resourceVersion: String(pair!.modRevision) });
    expect(JSON.parse(pair!.value).metadata.resourceVersion).to.equal(undefined);
    const got = await store.get('IPPool', 'pool-a');
    expect(got).to.deep.equal(created);
    expect(got!.spec.blockSize).to.equal(26);
  });

  it('create fails if the resource exists and leaves it alone', async () => {
    const first = await store.create(peer('p1'));
    const err = await rejection(store.create(peer('p1', '192.0.2.99')));
    expect(err).to.be.instanceOf(AlreadyExistsError);
    expect(err.message).to.equal('BGPPeer "p1" already exists');
    expect(await store.get('BGPPeer', 'p1')).to.deep.equal(first);
  });

  it('replace fails if the resource does not exist', async () => {
    const err = await rejection(store.replace(peer('ghost')));
    expect(err).to.be.instanceOf(NotFoundError);
    expect(err.message).to.equal('BGPPeer "ghost" does not exist');
  });

  it('replace honours a given resourceVersion as compare-and-swap, and keeps uid and creationTimestamp', async () => {
    const v1 = await store.create(peer('p1'));
    const v2 = await store.replace({ ...peer('p1', '192.0.2.2'), metadata: { name: 'p1', resourceVersion: v1.metadata.resourceVersion } });
    expect(Number(v2.metadata.resourceVersion)).to.be.greaterThan(Number(v1.metadata.resourceVersion));
    expect(v2.metadata.uid).to.equal(v1.metadata.uid);
    expect(v2.metadata.creationTimestamp).to.equal(v1.metadata.creationTimestamp);
    const stale = await rejection(store.replace({ ...peer('p1', '192.0.2.3'), metadata: { name: 'p1', resourceVersion: v1.metadata.resourceVersion } }));
    expect(stale).to.be.instanceOf(ConflictError);
    expect((await store.get('BGPPeer', 'p1'))!.spec.peerIP).to.equal('192.0.2.2');
  });

  it('apply creates, then updates', async () => {
    const a = await store.apply(peer('p1'));
    const b = await store.apply(peer('p1', '192.0.2.7'));
    expect(b.metadata.uid).to.equal(a.metadata.uid);
    expect((await store.get('BGPPeer', 'p1'))!.spec.peerIP).to.equal('192.0.2.7');
    expect((await store.list('BGPPeer')).items).to.have.length(1);
  });

  it('delete removes and returns the resource; deleting a missing one is NotFound unless skipped', async () => {
    await store.create(peer('p1'));
    const gone = await store.delete({ kind: 'BGPPeer', name: 'p1' });
    expect(gone!.metadata.name).to.equal('p1');
    expect(await store.get('BGPPeer', 'p1')).to.equal(null);
    expect(await rejection(store.delete({ kind: 'BGPPeer', name: 'p1' }))).to.be.instanceOf(NotFoundError);
    expect(await store.delete({ kind: 'BGPPeer', name: 'p1' }, { skipNotExists: true })).to.equal(null);
  });

  it('keeps namespaced kinds per namespace and lists one or all namespaces', async () => {
    await store.create(netpol('allow'));
    await store.create(netpol('allow', 'prod'));
    expect(await kv.get(resourceKey('NetworkPolicy', 'allow', 'prod'))).to.not.equal(null);
    expect((await kv.get('/tortie/v1/resources/networkpolicy/default/allow'))).to.not.equal(null);
    expect((await store.list('NetworkPolicy', { namespace: 'prod' })).items.map((r) => r.metadata.namespace)).to.deep.equal(['prod']);
    expect((await store.list('NetworkPolicy')).items.map((r) => r.metadata.namespace)).to.deep.equal(['default', 'prod']);
    expect(await store.get('NetworkPolicy', 'allow', { namespace: 'staging' })).to.equal(null);
  });

  it('applyAll writes every document in one revision', async () => {
    const results = await store.applyAll([pool('a', '10.1.0.0/16'), peer('p'), netpol('n')], 'apply');
    const revisions = new Set(results.map((r) => r.resource.metadata.resourceVersion));
    expect(revisions.size).to.equal(1);
    expect(results.every((r) => r.changed)).to.equal(true);
  });

  it('applyAll writes nothing when one document is invalid, and names that document and field', async () => {
    const before = await kv.revision();
    const err = await rejection(store.applyAll([pool('a', '10.1.0.0/16'), pool('b', '10.0.0.0/33'), peer('p')], 'apply'));
    expect(err).to.be.instanceOf(ResourceError);
    const e = err as ResourceError;
    expect(e.index).to.equal(1);
    expect(e.identity).to.deep.equal({ kind: 'IPPool', name: 'b' });
    expect(e.describe('pools.yaml')).to.equal('pools.yaml, document 2 (IPPool "b"): spec.cidr: "10.0.0.0/33" is not a CIDR');
    expect(await kv.revision()).to.equal(before);
    expect((await kv.list('/tortie/')).items).to.have.length(0);
  });

  it('applyAll create writes nothing when one of the names exists already', async () => {
    await store.create(peer('p2'));
    const before = await kv.revision();
    const err = (await rejection(store.applyAll([peer('p1'), peer('p2'), peer('p3')], 'create'))) as ResourceError;
    expect(err.index).to.equal(1);
    expect(err.cause).to.be.instanceOf(AlreadyExistsError);
    expect(await kv.revision()).to.equal(before);
    expect(await store.get('BGPPeer', 'p1')).to.equal(null);
  });

  it('create with skipExists leaves existing resources alone and creates the rest', async () => {
    const first = await store.create(peer('p1'));
    const results = await store.applyAll([peer('p1', '192.0.2.50'), peer('p2')], 'create', { skipExists: true });
    expect(results.map((r) => r.changed)).to.deep.equal([false, true]);
    expect(await store.get('BGPPeer', 'p1')).to.deep.equal(first);
    expect(await store.get('BGPPeer', 'p2')).to.not.equal(null);
  });

  it('refuses the same resource twice in one batch', async () => {
    const err = (await rejection(store.applyAll([peer('p1'), peer('p1')], 'apply'))) as ResourceError;
    expect(err.index).to.equal(1);
    expect(err.detail).to.match(/appears twice in this batch \(also document 1\)/);
  });

  it('refuses overlapping pools, against the store and within one batch', async () => {
    await store.create(pool('a', '10.0.0.0/16'));
    const err = await rejection(store.create(pool('b', '10.0.128.0/17')));
    expect(err).to.be.instanceOf(ValidationError);
    expect(err.message).to.match(/^spec\.cidr: 10\.0\.128\.0\/17 overlaps IPPool "a" \(10\.0\.0\.0\/16\)/);
    const batch = (await rejection(store.applyAll([pool('c', '10.9.0.0/16'), pool('d', '10.9.3.0/24')], 'apply'))) as ResourceError;
    expect(batch.index).to.equal(0);
    expect(batch.detail).to.match(/overlaps IPPool "d"/);
    // Re-applying a pool does not make it overlap itself; v4 and v6 never overlap.
    await store.apply(pool('a', '10.0.0.0/16', { natOutgoing: true }));
    await store.create(pool('v6', 'fd00::/48'));
  });

  it('refuses to change a pool\'s cidr or blockSize', async () => {
    await store.create(pool('a', '10.0.0.0/16'));
    const cidr = await rejection(store.apply(pool('a', '10.0.0.0/15')));
    expect(cidr.message).to.match(/^spec\.cidr: cannot change from 10\.0\.0\.0\/16 to 10\.0\.0\.0\/15/);
    const bs = await rejection(store.replace(pool('a', '10.0.0.0/16', { blockSize: 28 })));
    expect(bs.message).to.match(/^spec\.blockSize: cannot change from 26 to 28/);
  });

  it('applyAll delete removes all or none', async () => {
    await store.applyAll([peer('p1'), peer('p2')], 'create');
    const err = (await rejection(store.applyAll([peer('p1'), peer('nope')], 'delete'))) as ResourceError;
    expect(err.index).to.equal(1);
    expect(await store.get('BGPPeer', 'p1')).to.not.equal(null);
    const results = await store.applyAll([peer('p1'), peer('p2')], 'delete');
    expect(results.map((r) => r.changed)).to.deep.equal([true, true]);
    expect((await store.list('BGPPeer')).items).to.have.length(0);
  });

  it('decodes what it stored as the same resource', async () => {
    const created = (await store.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'g', labels: { a: 'b' } },
      spec: { selector: "role == 'db'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [5432] } }] },
    })) as AnyResource;
    expect((await store.list('GlobalNetworkPolicy')).items[0]).to.deep.equal(created);
  });
});

describe('ResourceStore.watch', () => {
  let kv: MemoryKV;
  let store: ResourceStore;
  let events: ResourceEvent[];
  const summary = () =>
    events.map((e) => (e.type === 'in-sync' ? 'in-sync' : `${e.type} ${e.resource.kind}/${e.resource.metadata.name}${e.type === 'update' && e.previous ? ' (was there)' : ''}`));

  beforeEach(() => {
    kv = new MemoryKV({ historyLimit: 5 });
    store = new ResourceStore(kv);
    events = [];
  });
  afterEach(() => kv.close());

  it('hands over the current state, then in-sync, then changes, for the kinds asked only', async () => {
    await store.create(pool('a', '10.0.0.0/16'));
    await store.create(peer('p1'));
    await store.create(netpol('n'));
    const watch = store.watch(['IPPool', 'BGPPeer'], { onEvents: (batch) => void events.push(...batch) });
    await watch.synced;
    expect(summary()).to.have.members(['update IPPool/a', 'update BGPPeer/p1', 'in-sync']);
    expect(summary().at(-1)).to.equal('in-sync');
    events = [];
    await store.apply(peer('p1', '192.0.2.5'));
    await store.delete({ kind: 'IPPool', name: 'a' });
    await store.create(netpol('other'));
    await store.create(peer('p2'));
    await waitFor(() => events.length >= 3, { what: 'three watch events' });
    expect(summary()).to.deep.equal(['update BGPPeer/p1 (was there)', 'delete IPPool/a', 'update BGPPeer/p2']);
    const update = events[0] as Extract<ResourceEvent, { type: 'update' }>;
    expect(update.resource.kind === 'BGPPeer' && update.resource.spec.peerIP).to.equal('192.0.2.5');
    await watch.cancel();
  });

  it('says in-sync at once for an empty store', async () => {
    const watch = store.watch(['Node'], { onEvents: (batch) => void events.push(...batch) });
    await watch.synced;
    expect(summary()).to.deep.equal(['in-sync']);
    await watch.cancel();
  });

  it('recovers from a compacted watch by listing again and handing over the difference', async () => {
    // A writer that runs between the watcher's listing and its watch, then compacts the
    // store: the watch's start revision is gone, and the watcher must list again.
    let writer: (() => Promise<void>) | undefined;
    class RacingKV extends MemoryKV {
      override async list(prefix: string) {
        const listing = await super.list(prefix);
        const w = writer;
        writer = undefined;
        if (w) await w();
        return listing;
      }
    }
    const racing = new RacingKV();
    const racingStore = new ResourceStore(racing);
    await racingStore.create(peer('p1'));
    await racingStore.create(peer('p2'));
    writer = async () => {
      await racingStore.delete({ kind: 'BGPPeer', name: 'p1' });
      await racingStore.create(peer('p3'));
      await racing.compact(await racing.revision());
    };
    const errors: Error[] = [];
    const watch = racingStore.watch(['BGPPeer'], { onEvents: (batch) => void events.push(...batch), onError: (err) => errors.push(err) });
    await watch.synced;
    await waitFor(() => summary().includes('delete BGPPeer/p1') && summary().includes('update BGPPeer/p3'), { what: 'the relisting to show p1 gone and p3 new' });
    expect(summary().slice(0, 3)).to.have.members(['update BGPPeer/p1', 'update BGPPeer/p2', 'in-sync']);
    expect(errors.map((e) => e.name)).to.deep.equal(['CompactedError']);
    await racingStore.create(peer('p4'));
    await waitFor(() => summary().includes('update BGPPeer/p4'), { what: 'events after the recovery' });
    await watch.cancel();
    await racing.close();
  });
});
