/**
 * The KV contract as one suite, run against every backend (MemoryKV in one process, EtcdKV
 * on a real etcd): whatever passes here behaves the same to the code above the datastore.
 * Every test works under its own key prefix, so the tests can share one store.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../../src/common/errors.js';
import { CompactedError, type Compactable, type KV, type WatchEvent } from '../../../src/datastore/kv.js';
import { waitFor } from '../../helpers/wait.js';

export interface ContractOptions {
  /** TTL for lease tests; etcd's shortest TTL depends on its election timeout. */
  leaseTtlSeconds: number;
  /** How long a lease may take past its TTL to be reaped (etcd checks every 500 ms). */
  leaseSlackMs: number;
}

/** Collects a watch's events, and how many onEvents calls were in flight at once. */
export class EventLog {
  readonly events: WatchEvent[] = [];
  readonly errors: Error[] = [];
  inFlight = 0;
  maxInFlight = 0;

  onEvents = async (events: WatchEvent[]): Promise<void> => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // Yield a few turns, so that an overlapping delivery would show in maxInFlight.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    this.events.push(...events);
    this.inFlight--;
  };

  onError = (err: Error): void => {
    this.errors.push(err);
  };

  /** `type key=value@revision` lines, easy to compare and to read in a failure. */
  lines(): string[] {
    return this.events.map((e) => (e.type === 'put' ? `put ${e.kv.key}=${e.kv.value}@${e.kv.modRevision}` : `delete ${e.key}@${e.modRevision}`));
  }

  async waitForKey(key: string, what: string): Promise<void> {
    await waitFor(() => this.events.some((e) => (e.type === 'put' ? e.kv.key : e.key) === key), { what, timeoutMs: 10_000 });
  }
}

export function uniquePrefix(name: string): string {
  return `/tortie-contract/${name}-${randomBytes(4).toString('hex')}/`;
}

export function kvContract(
  name: string,
  makeKV: () => Promise<KV & Compactable>,
  options: ContractOptions = { leaseTtlSeconds: 1, leaseSlackMs: 3000 },
): void {
  describe(`KV contract: ${name}`, function () {
    let kv: KV & Compactable;

    before(async function () {
      kv = await makeKV();
    });

    after(async function () {
      await kv?.close();
    });

    describe('reads and single writes', function () {
      it('creates, reads, updates, puts and deletes a key, with revisions', async function () {
        const p = uniquePrefix('crud');
        const before = await kv.revision();
        const created = await kv.create(`${p}a`, 'one');
        expect(created.key).to.equal(`${p}a`);
        expect(created.value).to.equal('one');
        expect(created.modRevision).to.be.greaterThan(before);
        expect(created.createRevision).to.equal(created.modRevision);
        expect(await kv.get(`${p}a`)).to.deep.include({ key: `${p}a`, value: 'one', modRevision: created.modRevision });

        const updated = await kv.update(`${p}a`, 'two', { expectRevision: created.modRevision });
        expect(updated.value).to.equal('two');
        expect(updated.modRevision).to.be.greaterThan(created.modRevision);
        expect(updated.createRevision).to.equal(created.createRevision);

        const put = await kv.put(`${p}a`, 'three');
        expect(put.modRevision).to.be.greaterThan(updated.modRevision);
        expect(put.createRevision).to.equal(created.createRevision);
        const fresh = await kv.put(`${p}b`, 'new');
        expect(fresh.createRevision).to.equal(fresh.modRevision);
        expect(await kv.revision()).to.equal(fresh.modRevision);

        await kv.delete(`${p}a`, { expectRevision: put.modRevision });
        expect(await kv.get(`${p}a`)).to.equal(null);
        const again = await kv.create(`${p}a`, 'reborn');
        expect(again.createRevision, 'a key made again has a new create revision').to.be.greaterThan(created.createRevision);
      });

      it('reads a missing key as null', async function () {
        expect(await kv.get(`${uniquePrefix('missing')}nothing`)).to.equal(null);
      });

      it('lists a prefix in key order, and nothing outside it', async function () {
        const p = uniquePrefix('list');
        for (const k of ['c', 'a', 'b/2', 'b/1']) await kv.put(`${p}items/${k}`, k);
        await kv.put(`${p}itemsX`, 'outside');
        await kv.put(`${p}item`, 'outside');
        const listed = await kv.list(`${p}items/`);
        expect(listed.items.map((i) => i.key)).to.deep.equal(['a', 'b/1', 'b/2', 'c'].map((k) => `${p}items/${k}`));
        expect(listed.items.map((i) => i.value)).to.deep.equal(['a', 'b/1', 'b/2', 'c']);
        expect(listed.revision).to.equal(await kv.revision());
        expect((await kv.list(`${p}none/`)).items).to.deep.equal([]);
      });

      it('refuses to create a key that exists, and leaves it alone', async function () {
        const p = uniquePrefix('exists');
        const first = await kv.create(`${p}k`, 'first');
        const err = await kv.create(`${p}k`, 'second').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(AlreadyExistsError);
        expect((err as Error).message).to.contain(`${p}k`);
        expect(await kv.get(`${p}k`)).to.deep.include({ value: 'first', modRevision: first.modRevision });
      });

      it('refuses to update or delete a missing key', async function () {
        const p = uniquePrefix('notfound');
        const update = await kv.update(`${p}k`, 'v').catch((e: unknown) => e);
        expect(update).to.be.instanceOf(NotFoundError);
        expect((update as Error).message).to.contain(`${p}k`);
        expect(await kv.delete(`${p}k`).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
        expect(await kv.get(`${p}k`)).to.equal(null);
      });

      it('loses a compare-and-swap with a stale revision and writes nothing', async function () {
        const p = uniquePrefix('cas');
        const v1 = await kv.create(`${p}k`, 'v1');
        const v2 = await kv.update(`${p}k`, 'v2', { expectRevision: v1.modRevision });
        const storeRevision = await kv.revision();
        const err = await kv.update(`${p}k`, 'stale', { expectRevision: v1.modRevision }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(ConflictError);
        expect((err as Error).message).to.contain(`${p}k`);
        expect(await kv.get(`${p}k`)).to.deep.include({ value: 'v2', modRevision: v2.modRevision });
        expect(await kv.revision(), 'a lost CAS must not move the revision').to.equal(storeRevision);
        expect(await kv.delete(`${p}k`, { expectRevision: v1.modRevision }).catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
        expect(await kv.get(`${p}k`)).to.deep.include({ value: 'v2' });
      });
    });

    describe('transactions', function () {
      it('writes every step at one revision and returns the written pairs', async function () {
        const p = uniquePrefix('txn');
        const old = await kv.put(`${p}old`, 'x');
        const gone = await kv.put(`${p}gone`, 'y');
        const result = await kv.txn([
          { op: 'check', key: `${p}absent`, expectRevision: 0 },
          { op: 'create', key: `${p}new`, value: 'n' },
          { op: 'update', key: `${p}old`, value: 'x2', expectRevision: old.modRevision },
          { op: 'put', key: `${p}any`, value: 'a' },
          { op: 'delete', key: `${p}gone`, expectRevision: gone.modRevision },
        ]);
        expect(result.results).to.have.length(5);
        expect(result.results[0]).to.equal(null);
        expect(result.results[4]).to.equal(null);
        for (const i of [1, 2, 3]) expect(result.results[i]!.modRevision).to.equal(result.revision);
        expect(result.results[2]).to.deep.include({ value: 'x2', createRevision: old.createRevision });
        expect(result.results[1]).to.deep.include({ value: 'n', createRevision: result.revision });
        const listed = await kv.list(p);
        expect(listed.items.map((i) => `${i.key.slice(p.length)}=${i.value}@${i.modRevision}`)).to.deep.equal([
          `any=a@${result.revision}`,
          `new=n@${result.revision}`,
          `old=x2@${result.revision}`,
        ]);
      });

      it('writes nothing when one guard fails, and names the key', async function () {
        const p = uniquePrefix('atomic');
        const taken = await kv.put(`${p}taken`, 'mine');
        const base = await kv.put(`${p}base`, 'b');
        const cases: { ops: Parameters<KV['txn']>[0]; error: Function; key: string }[] = [
          { ops: [{ op: 'put', key: `${p}w1`, value: '1' }, { op: 'create', key: `${p}taken`, value: 'theirs' }], error: AlreadyExistsError, key: `${p}taken` },
          { ops: [{ op: 'put', key: `${p}w2`, value: '2' }, { op: 'update', key: `${p}nope`, value: 'x' }], error: NotFoundError, key: `${p}nope` },
          {
            ops: [{ op: 'put', key: `${p}w3`, value: '3' }, { op: 'update', key: `${p}base`, value: 'x', expectRevision: base.modRevision - 1 }],
            error: ConflictError,
            key: `${p}base`,
          },
          { ops: [{ op: 'delete', key: `${p}taken` }, { op: 'check', key: `${p}base`, expectRevision: 0 }], error: ConflictError, key: `${p}base` },
          { ops: [{ op: 'put', key: `${p}w4`, value: '4' }, { op: 'delete', key: `${p}nope` }], error: NotFoundError, key: `${p}nope` },
        ];
        const revisionBefore = await kv.revision();
        for (const c of cases) {
          const err = await kv.txn(c.ops).catch((e: unknown) => e);
          expect(err, JSON.stringify(c.ops)).to.be.instanceOf(c.error);
          expect((err as Error).message).to.contain(c.key);
        }
        expect(await kv.revision(), 'failed transactions must not move the revision').to.equal(revisionBefore);
        const listed = await kv.list(p);
        expect(listed.items.map((i) => `${i.key.slice(p.length)}=${i.value}`)).to.deep.equal(['base=b', 'taken=mine']);
        expect(listed.items[1]!.modRevision).to.equal(taken.modRevision);
      });
    });

    describe('watch', function () {
      it('delivers exactly the events after the start revision, in order, for its prefix only', async function () {
        const p = uniquePrefix('watch');
        const a1 = await kv.put(`${p}w/a`, '1');
        const b1 = await kv.put(`${p}w/b`, '1');
        const a2 = await kv.put(`${p}w/a`, '2');
        await kv.put(`${p}other`, 'not watched');
        const log = new EventLog();
        const watch = kv.watch(`${p}w/`, { fromRevision: b1.modRevision + 1 }, log);
        try {
          expect(watch.lastRevision).to.equal(b1.modRevision);
          await kv.delete(`${p}w/b`);
          const t = await kv.txn([
            { op: 'put', key: `${p}w/c`, value: '1' },
            { op: 'put', key: `${p}w/d`, value: '1' },
          ]);
          await kv.put(`${p}w/a`, '3');
          const end = await kv.put(`${p}w/end`, 'sentinel');
          await log.waitForKey(`${p}w/end`, 'the sentinel event');
          const r = a2.modRevision;
          expect(log.lines()).to.deep.equal([
            `put ${p}w/a=2@${r}`,
            `delete ${p}w/b@${r + 2}`,
            `put ${p}w/c=1@${t.revision}`,
            `put ${p}w/d=1@${t.revision}`,
            `put ${p}w/a=3@${t.revision + 1}`,
            `put ${p}w/end=sentinel@${end.modRevision}`,
          ]);
          const del = log.events[1]!;
          expect(del.type === 'delete' && del.prev?.value).to.equal('1');
          const put = log.events[0]!;
          expect(put.type === 'put' && put.prev?.modRevision).to.equal(a1.modRevision);
          expect(log.maxInFlight, 'batches must not overlap').to.equal(1);
          expect(log.errors).to.deep.equal([]);
          expect(watch.lastRevision).to.equal(end.modRevision);
        } finally {
          await watch.cancel();
        }
      });

      it('delivers one batch at a time under a burst of writes', async function () {
        const p = uniquePrefix('burst');
        const log = new EventLog();
        const watch = kv.watch(p, {}, log);
        try {
          await Promise.all(Array.from({ length: 40 }, (_, i) => kv.put(`${p}k${i % 7}`, String(i))));
          await kv.put(`${p}zz-end`, 'end');
          await log.waitForKey(`${p}zz-end`, 'the last event of the burst');
          expect(log.events).to.have.length(41);
          const revisions = log.events.map((e) => (e.type === 'put' ? e.kv.modRevision : e.modRevision));
          expect(revisions).to.deep.equal([...revisions].sort((a, b) => a - b));
          expect(new Set(revisions).size, 'each revision once').to.equal(41);
          expect(log.maxInFlight).to.equal(1);
        } finally {
          await watch.cancel();
        }
      });

      it('reports a start revision that was compacted away', async function () {
        const p = uniquePrefix('compacted');
        const first = await kv.put(`${p}k`, '1');
        await kv.put(`${p}k`, '2');
        const last = await kv.put(`${p}k`, '3');
        await kv.compact(last.modRevision);
        const log = new EventLog();
        const watch = kv.watch(p, { fromRevision: first.modRevision }, log);
        try {
          const err = await waitFor(() => log.errors[0], { what: 'the watch to report compaction' });
          expect(err).to.be.instanceOf(CompactedError);
          expect((err as CompactedError).compactRevision).to.equal(last.modRevision);
          expect(err.message).to.contain('compacted');
          expect(log.events).to.deep.equal([]);
        } finally {
          await watch.cancel();
        }
      });
    });

    describe('leases', function () {
      const ttl = options.leaseTtlSeconds;
      const reapMs = ttl * 1000 + options.leaseSlackMs;

      it('removes a key when its lease expires, and a kept-alive lease keeps its key', async function () {
        this.timeout(reapMs + 10_000);
        const p = uniquePrefix('lease');
        const lost = await kv.grantLease(ttl);
        const kept = await kv.grantLease(ttl);
        kept.keepAlive();
        const log = new EventLog();
        const watch = kv.watch(p, {}, log);
        try {
          const bound = await kv.put(`${p}lost`, 'v', { lease: lost.id });
          expect(bound.lease).to.equal(lost.id);
          expect((await kv.get(`${p}lost`))?.lease).to.equal(lost.id);
          await kv.put(`${p}kept`, 'v', { lease: kept.id });
          await waitFor(async () => (await kv.get(`${p}lost`)) === null, { what: 'the expired lease to remove its key', timeoutMs: reapMs });
          expect(await kv.get(`${p}kept`), 'the kept-alive key must outlive the other lease').to.deep.include({ value: 'v' });
          await log.waitForKey(`${p}lost`, 'events for the leased key');
          await waitFor(() => log.events.some((e) => e.type === 'delete' && e.key === `${p}lost`), { what: 'the delete event of the expired key' });
          await kept.revoke();
          expect(await kv.get(`${p}kept`), 'revoke removes the key at once').to.equal(null);
        } finally {
          await watch.cancel();
          await kept.revoke().catch(() => undefined);
        }
      });

      it('refuses a write bound to a lease that does not exist', async function () {
        const p = uniquePrefix('nolease');
        const lease = await kv.grantLease(ttl + 5);
        await lease.revoke();
        const err = await kv.put(`${p}k`, 'v', { lease: lease.id }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(NotFoundError);
        expect((err as Error).message).to.contain(lease.id);
        expect(await kv.get(`${p}k`)).to.equal(null);
      });
    });
  });
}
