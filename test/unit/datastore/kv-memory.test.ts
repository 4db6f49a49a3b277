import { expect } from 'chai';
import { UnavailableError } from '../../../src/common/errors.js';
import { CompactedError } from '../../../src/datastore/kv.js';
import { MemoryKV, type Clock, type Timer } from '../../../src/datastore/memory.js';
import { waitFor } from '../../helpers/wait.js';
import { EventLog, kvContract } from '../../integration/datastore/kv-contract.js';

kvContract('MemoryKV', async () => new MemoryKV());

/** A clock that moves only when the test says so, firing due timers in deadline order. */
class ManualClock implements Clock {
  private time = 1_000_000;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer = { at: this.time + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = Math.max(this.time, due.at);
      due.cancelled = true;
      due.fn();
    }
    this.time = end;
  }

  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

describe('MemoryKV', function () {
  describe('leases on a manual clock', function () {
    it('expires a lease at its TTL, deleting its keys in one revision and calling onLost', async function () {
      const clock = new ManualClock();
      const kv = new MemoryKV({ clock });
      const lease = await kv.grantLease(10);
      let lost = 0;
      lease.onLost(() => lost++);
      await kv.put('/l/a', '1', { lease: lease.id });
      await kv.put('/l/b', '2', { lease: lease.id });
      await kv.put('/l/free', '3');
      const log = new EventLog();
      const watch = kv.watch('/l/', {}, log);
      const before = await kv.revision();

      clock.advance(9_999);
      expect((await kv.list('/l/')).items).to.have.length(3);
      expect(lost).to.equal(0);

      clock.advance(1);
      expect((await kv.list('/l/')).items.map((i) => i.key)).to.deep.equal(['/l/free']);
      expect(await kv.revision()).to.equal(before + 1);
      expect(lost).to.equal(1);
      await waitFor(() => log.events.length === 2, { what: 'two delete events' });
      expect(log.lines()).to.deep.equal([`delete /l/a@${before + 1}`, `delete /l/b@${before + 1}`]);
      await watch.cancel();
      await kv.close();
    });

    it('keeps a kept-alive lease past many TTLs, until revoked', async function () {
      const clock = new ManualClock();
      const kv = new MemoryKV({ clock });
      const lease = await kv.grantLease(3);
      lease.keepAlive();
      await kv.put('/k', 'v', { lease: lease.id });
      clock.advance(60_000);
      expect(await kv.get('/k')).to.deep.include({ value: 'v', lease: lease.id });
      await lease.revoke();
      expect(await kv.get('/k')).to.equal(null);
      expect(clock.pending(), 'revoke stops the timers').to.equal(0);
      await kv.close();
    });

    it('detaches a key from its lease when it is written without one', async function () {
      const clock = new ManualClock();
      const kv = new MemoryKV({ clock });
      const lease = await kv.grantLease(5);
      await kv.put('/k', 'leased', { lease: lease.id });
      await kv.put('/k', 'plain');
      clock.advance(6_000);
      expect(await kv.get('/k')).to.deep.include({ value: 'plain' });
      expect((await kv.get('/k'))!.lease).to.equal(undefined);
      await kv.close();
    });

    it('stops its timers on close', async function () {
      const clock = new ManualClock();
      const kv = new MemoryKV({ clock });
      (await kv.grantLease(5)).keepAlive();
      await kv.grantLease(5);
      await kv.close();
      expect(clock.pending()).to.equal(0);
    });
  });

  describe('history', function () {
    it('compacts the oldest revisions past its limit, and a watch from before them fails', async function () {
      const kv = new MemoryKV({ historyLimit: 5 });
      const first = await kv.put('/h/k', '0');
      for (let i = 1; i < 10; i++) await kv.put('/h/k', String(i));
      const now = await kv.revision();
      const log = new EventLog();
      kv.watch('/h/', { fromRevision: first.modRevision }, log);
      const err = await waitFor(() => log.errors[0], { what: 'a compaction error' });
      expect(err).to.be.instanceOf(CompactedError);
      expect((err as CompactedError).compactRevision).to.equal(now - 4);

      const replay = new EventLog();
      const watch = kv.watch('/h/', { fromRevision: now - 4 }, replay);
      await waitFor(() => replay.events.length === 5, { what: 'the five kept events' });
      expect(replay.events.map((e) => (e.type === 'put' ? e.kv.value : ''))).to.deep.equal(['5', '6', '7', '8', '9']);
      await watch.cancel();
      await kv.close();
    });
  });

  describe('watch delivery', function () {
    it('never calls the handler inside the writer\'s call stack', async function () {
      const kv = new MemoryKV();
      let calls = 0;
      const watch = kv.watch('/', {}, { onEvents: () => void calls++ });
      const write = kv.put('/x', '1');
      expect(calls).to.equal(0);
      await write;
      await waitFor(() => calls === 1, { what: 'the event' });
      await watch.cancel();
      await kv.close();
    });

    it('waits for a slow handler before the next batch, and stops after cancel', async function () {
      const kv = new MemoryKV();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const batches: string[][] = [];
      const watch = kv.watch('/', {}, {
        onEvents: async (events) => {
          batches.push(events.map((e) => (e.type === 'put' ? e.kv.value : e.key)));
          if (batches.length === 1) await gate;
        },
      });
      await kv.put('/a', '1');
      await waitFor(() => batches.length === 1, { what: 'the first batch' });
      await kv.put('/a', '2');
      await kv.put('/a', '3');
      // The handler is still inside batch 1: the store must hold the rest back.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(batches).to.deep.equal([['1']]);
      release();
      await waitFor(() => batches.length === 2, { what: 'the held-back batch' });
      expect(batches[1]).to.deep.equal(['2', '3']);
      await watch.cancel();
      await kv.put('/a', '4');
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(batches).to.have.length(2);
      await kv.close();
    });
  });

  it('refuses every call once closed', async function () {
    const kv = new MemoryKV();
    await kv.close();
    const err = await kv.get('/k').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UnavailableError);
    expect((err as Error).message).to.contain('memory:');
  });

  it('rejects a transaction that writes one key twice, as etcd does', async function () {
    const kv = new MemoryKV();
    const err = await kv
      .txn([
        { op: 'put', key: '/d', value: '1' },
        { op: 'put', key: '/d', value: '2' },
      ])
      .catch((e: unknown) => e);
    expect((err as Error).message).to.match(/"\/d" is written twice/);
    expect(await kv.get('/d')).to.equal(null);
    await kv.close();
  });
});
