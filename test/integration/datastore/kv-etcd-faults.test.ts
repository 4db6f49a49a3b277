/**
 * What only a real etcd can show: watches that live through disconnects and restarts, a
 * cluster that loses a member, TLS with client certificates, user/password auth, and an
 * etcd that is not there at all.
 */
import { expect } from 'chai';
import { createServer, Socket, type Server } from 'node:net';
import { AlreadyExistsError, UnavailableError, UserError } from '../../../src/common/errors.js';
import { EtcdKV } from '../../../src/datastore/etcd.js';
import type { KV, WatchEvent } from '../../../src/datastore/kv.js';
import { openKV } from '../../../src/datastore/open.js';
import { startEtcd, startEtcdCluster, type EtcdCluster, type EtcdServer } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { EventLog, uniquePrefix } from './kv-contract.js';

/** A loopback TCP proxy to etcd whose link the test can cut and restore. */
class CuttableProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => {
      if (this.cut) return void client.destroy();
      this.connections++;
      const upstream = new Socket();
      upstream.connect(target.port, target.host);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** Drops every connection and refuses new ones until restore(). */
  cutLink(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.cutLink();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function endpointOf(endpoint: string): { host: string; port: number } {
  const [host, port] = endpoint.split(':');
  return { host: host!, port: Number(port) };
}

/** The events between two revisions as a fresh watch sees them: the ground truth. */
async function historyOf(kv: KV, prefix: string, fromRevision: number, lastKey: string): Promise<string[]> {
  const log = new EventLog();
  const watch = kv.watch(prefix, { fromRevision }, log);
  try {
    await log.waitForKey(lastKey, 'the replayed history to reach the last key');
    return log.lines();
  } finally {
    await watch.cancel();
  }
}

function revisionsOf(events: WatchEvent[]): number[] {
  return events.map((e) => (e.type === 'put' ? e.kv.modRevision : e.modRevision));
}

/**
 * A create that may be retried after an unanswered try: an AlreadyExistsError on a retry means
 * the earlier try landed. (A write in flight when a member dies, or proposed during an
 * election, can fail without telling whether it was applied.)
 */
async function createSurely(kv: EtcdKV, key: string, value: string, what: string): Promise<void> {
  let tried = false;
  await waitFor(
    async () => {
      try {
        await kv.create(key, value);
        return true;
      } catch (err) {
        if (tried && err instanceof AlreadyExistsError) return true;
        tried = true;
        throw err;
      }
    },
    { what, timeoutMs: 30_000, intervalMs: 100 },
  );
}

describe('EtcdKV faults on a real etcd', function () {
  this.timeout(30_000);

  describe('one etcd', function () {
    let etcd: EtcdServer;
    const open: KV[] = [];
    const kvFor = (endpoints: string[]) => {
      const kv = new EtcdKV({ endpoints });
      open.push(kv);
      return kv;
    };

    before(async function () {
      etcd = await startEtcd();
    });

    afterEach(async function () {
      await Promise.all(open.splice(0).map((kv) => kv.close()));
    });

    after(async function () {
      await etcd?.stop();
    });

    it('resumes a watch after its link is cut, with the writes made meanwhile, each once', async function () {
      const proxy = new CuttableProxy(endpointOf(etcd.endpoints[0]!));
      try {
        const watcherKv = kvFor([await proxy.listen()]);
        const writer = kvFor(etcd.endpoints);
        const p = uniquePrefix('cut');
        const start = (await writer.revision()) + 1;
        const log = new EventLog();
        const watch = watcherKv.watch(p, { fromRevision: start }, log);
        for (let i = 0; i < 5; i++) await writer.put(`${p}before`, String(i));
        await waitFor(() => log.events.length === 5, { what: 'the events before the cut' });
        const connectionsBefore = proxy.connections;

        proxy.cutLink();
        for (let i = 0; i < 10; i++) await writer.put(`${p}during/${i % 3}`, String(i));
        await writer.delete(`${p}before`);
        proxy.restore();
        for (let i = 0; i < 5; i++) await writer.put(`${p}after`, String(i));
        await writer.put(`${p}zz-end`, 'end');

        await log.waitForKey(`${p}zz-end`, 'the watch to resume and reach the last write');
        expect(proxy.connections, 'the watcher must have reconnected').to.be.greaterThan(connectionsBefore);
        expect(log.lines()).to.deep.equal(await historyOf(writer, p, start, `${p}zz-end`));
        expect(log.events).to.have.length(5 + 10 + 1 + 5 + 1);
        expect(new Set(revisionsOf(log.events)).size, 'no revision twice').to.equal(log.events.length);
        expect(log.errors).to.deep.equal([]);
        await watch.cancel();
      } finally {
        await proxy.close();
      }
    });

    it('resumes a watch after etcd is killed and restarted, missing nothing and doubling nothing', async function () {
      const watcherKv = kvFor(etcd.endpoints);
      const writer = kvFor(etcd.endpoints);
      const p = uniquePrefix('restart');
      const start = (await writer.revision()) + 1;
      const log = new EventLog();
      const watch = watcherKv.watch(p, { fromRevision: start }, log);
      for (let i = 0; i < 5; i++) await writer.put(`${p}k${i}`, 'before');
      await waitFor(() => log.events.length === 5, { what: 'the events before the restart' });

      await etcd.kill('SIGKILL');
      await etcd.restart();
      // Written at once after the restart, most likely before the watch is back.
      for (let i = 0; i < 10; i++) await writer.put(`${p}k${i % 4}`, `after-${i}`);
      await writer.put(`${p}zz-end`, 'end');

      await log.waitForKey(`${p}zz-end`, 'the watch to resume after the restart');
      expect(log.lines()).to.deep.equal(await historyOf(writer, p, start, `${p}zz-end`));
      expect(log.events).to.have.length(16);
      expect(new Set(revisionsOf(log.events)).size).to.equal(16);
      expect(log.errors).to.deep.equal([]);
      await watch.cancel();
    });

    it('reports a kept-alive lease as lost when etcd cannot be reached for a whole TTL', async function () {
      const proxy = new CuttableProxy(endpointOf(etcd.endpoints[0]!));
      try {
        const kv = kvFor([await proxy.listen()]);
        const observer = kvFor(etcd.endpoints);
        const p = uniquePrefix('lost');
        const lease = await kv.grantLease(1);
        let lost = 0;
        lease.onLost(() => lost++);
        lease.keepAlive();
        await kv.put(`${p}k`, 'v', { lease: lease.id });
        proxy.cutLink();
        await waitFor(() => lost === 1, { what: 'onLost after a TTL without renewal', timeoutMs: 5000 });
        await waitFor(async () => (await observer.get(`${p}k`)) === null, { what: 'etcd to expire the key', timeoutMs: 5000 });
        proxy.restore();
        expect(lost, 'onLost is called once').to.equal(1);
      } finally {
        await proxy.close();
      }
    });

    it('fails fast with UnavailableError, naming the endpoint, while etcd is down', async function () {
      const kv = kvFor(etcd.endpoints);
      await kv.put('/down/probe', 'x');
      await etcd.kill('SIGKILL');
      try {
        const began = Date.now();
        const err = await kv.get('/down/probe').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UnavailableError);
        expect((err as Error).message).to.contain(`etcd at ${etcd.endpoints[0]} is unreachable`);
        expect(Date.now() - began).to.be.lessThan(5000);
      } finally {
        await etcd.restart();
      }
      await waitFor(async () => (await kv.get('/down/probe'))?.value === 'x', { what: 'the same client to work again after the restart', timeoutMs: 10_000 });
    });

    it('signs in with user and password, and refuses a wrong password in one line', async function () {
      const admin = kvFor(etcd.endpoints) as EtcdKV;
      await admin.client.user('root').create('root-pw');
      await admin.client.user('root').addRole('root');
      await admin.client.auth.authEnable();
      try {
        const good = await openKV(`etcd://${etcd.endpoints[0]}`, { auth: { username: 'root', password: 'root-pw' } });
        open.push(good);
        await good.put('/auth/k', 'v');
        expect((await good.get('/auth/k'))?.value).to.equal('v');

        const bad = await openKV(`etcd://${etcd.endpoints[0]}`, { auth: { username: 'root', password: 'wrong' } });
        open.push(bad);
        const err = await bad.get('/auth/k').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UserError);
        expect((err as Error).message).to.equal(`etcd at ${etcd.endpoints[0]}: authentication failed: wrong user name or password`);

        const anonymous = kvFor(etcd.endpoints);
        const denied = await anonymous.get('/auth/k').catch((e: unknown) => e);
        expect(denied).to.be.instanceOf(UserError);
        expect((denied as Error).message).to.contain('not allowed');
        const log = new EventLog();
        anonymous.watch('/auth/', {}, log);
        const watchErr = await waitFor(() => log.errors[0], { what: 'the anonymous watch to be refused' });
        expect(watchErr).to.be.instanceOf(UserError);
        expect(watchErr.message).to.contain('not allowed to watch "/auth/"');
      } finally {
        const root = new EtcdKV({ endpoints: etcd.endpoints, auth: { username: 'root', password: 'root-pw' } });
        await root.client.auth.authDisable();
        await root.close();
      }
    });
  });

  describe('an etcd that is not there', function () {
    it('gives UnavailableError within a few seconds when nothing listens', async function () {
      const port = await new Promise<number>((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
        });
      });
      const kv = await openKV(`etcd://127.0.0.1:${port}`);
      try {
        const began = Date.now();
        const err = await kv.put('/x', 'y').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UnavailableError);
        expect((err as Error).message).to.equal(`etcd at 127.0.0.1:${port} is unreachable: connect ECONNREFUSED 127.0.0.1:${port}`);
        expect((err as Error).message).not.to.contain('\n');
        expect(Date.now() - began).to.be.lessThan(5000);
      } finally {
        await kv.close();
      }
    });

    it('gives UnavailableError within a few seconds when the endpoint accepts but never answers', async function () {
      const accepted = new Set<Socket>();
      const silent = createServer((socket) => void accepted.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const kv = await openKV(`etcd://127.0.0.1:${port}`);
      try {
        const began = Date.now();
        const err = await kv.get('/x').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UnavailableError);
        expect((err as Error).message).to.contain(`etcd at 127.0.0.1:${port} is unreachable`);
        expect(Date.now() - began).to.be.lessThan(6000);
      } finally {
        await kv.close();
        for (const socket of accepted) socket.destroy();
        silent.close();
      }
    });
  });

  describe('TLS with client certificates', function () {
    let etcd: EtcdServer;

    before(async function () {
      etcd = await startEtcd({ tls: true });
    });

    after(async function () {
      await etcd?.stop();
    });

    it('works with the CA, a client certificate and its key', async function () {
      const kv = await openKV(etcd.url, { tls: etcd.tls });
      try {
        expect(kv.url).to.equal(etcd.url);
        await kv.put('/tls/k', 'secret');
        expect((await kv.get('/tls/k'))?.value).to.equal('secret');
      } finally {
        await kv.close();
      }
    });

    it('fails with a clear UnavailableError without a client certificate', async function () {
      const kv = await openKV(etcd.url, { tls: { ca: etcd.tls!.ca } });
      try {
        const began = Date.now();
        const err = await kv.get('/tls/k').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UnavailableError);
        expect((err as Error).message).to.match(new RegExp(`^etcd at ${etcd.endpoints[0]} is unreachable: TLS failed: .*bad certificate`));
        expect((err as Error).message).not.to.contain('\n');
        expect(Date.now() - began, 'a TLS failure is not retried').to.be.lessThan(2000);
      } finally {
        await kv.close();
      }
    });

    it('fails with a clear UnavailableError when the server is not signed by a trusted CA', async function () {
      const kv = await openKV(etcd.url, { tls: { cert: etcd.tls!.cert, key: etcd.tls!.key } });
      try {
        const err = await kv.get('/tls/k').catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UnavailableError);
        expect((err as Error).message).to.match(/is unreachable: .*TLS failed/);
      } finally {
        await kv.close();
      }
    });
  });

  describe('a three-member cluster', function () {
    let cluster: EtcdCluster;

    before(async function () {
      cluster = await startEtcdCluster(3);
    });

    after(async function () {
      await cluster?.stop();
    });

    it('serves every write and the watch while a follower is down, and the follower catches up after restart', async function () {
      const kv = new EtcdKV({ endpoints: cluster.endpoints });
      const opened: EtcdKV[] = [kv];
      try {
        const p = uniquePrefix('follower');
        const start = (await kv.revision()) + 1;
        const log = new EventLog();
        const watch = kv.watch(p, { fromRevision: start }, log);
        for (let i = 0; i < 3; i++) await kv.put(`${p}k${i}`, 'v0');

        const leader = await leaderOf(cluster);
        const follower = cluster.members.find((m) => m !== leader)!;
        await follower.kill('SIGKILL');
        // Calls that pick the dead member are refused before they are sent and tried again on
        // another. Only a call already on the wire to it when it died can fail ("Connection
        // dropped"): the client cannot know whether it landed, so the test retries as a caller
        // must, and every write lands exactly once.
        for (let i = 0; i < 20; i++) await createSurely(kv, `${p}during/${i}`, String(i), `create ${i} to land with a follower gone`);
        expect((await kv.list(`${p}during/`)).items).to.have.length(20);
        await kv.put(`${p}zz-end`, 'end');
        await log.waitForKey(`${p}zz-end`, 'the watch to see the writes made without the follower');
        expect(log.lines()).to.deep.equal(await historyOf(kv, p, start, `${p}zz-end`));
        expect(log.events).to.have.length(3 + 20 + 1);

        await follower.restart();
        const rejoined = new EtcdKV({ endpoints: [follower.endpoint] });
        opened.push(rejoined);
        await waitFor(async () => (await rejoined.get(`${p}zz-end`))?.value === 'end', {
          what: `member ${follower.name} to catch up after rejoining`,
          timeoutMs: 10_000,
        });
        expect((await rejoined.list(`${p}during/`)).items).to.have.length(20);
        await watch.cancel();
      } finally {
        await Promise.all(opened.map((o) => o.close()));
      }
    });

    it('serves again after the leader is killed, with the watch intact, and the old leader rejoins', async function () {
      const kv = new EtcdKV({ endpoints: cluster.endpoints });
      const opened: EtcdKV[] = [kv];
      try {
        const p = uniquePrefix('leader');
        const start = (await kv.revision()) + 1;
        const log = new EventLog();
        const watch = kv.watch(p, { fromRevision: start }, log);
        await kv.put(`${p}before`, 'v');

        const leader = await leaderOf(cluster);
        await leader.kill('SIGKILL');
        // A write proposed during the election may time out without telling whether it
        // landed (etcd says "request timed out"). Creates make a retry safe to judge: an
        // AlreadyExistsError on a retry means the earlier try landed.
        for (let i = 0; i < 5; i++) await createSurely(kv, `${p}during/${i}`, String(i), `create ${i} to land with the leader gone`);
        await kv.put(`${p}zz-end`, 'end');
        await log.waitForKey(`${p}zz-end`, 'the watch to see the writes made under the new leader');
        expect(log.lines()).to.deep.equal(await historyOf(kv, p, start, `${p}zz-end`));
        expect(log.events).to.have.length(1 + 5 + 1);
        expect((await leaderOf(cluster)).name).not.to.equal(leader.name);

        await leader.restart();
        const rejoined = new EtcdKV({ endpoints: [leader.endpoint] });
        opened.push(rejoined);
        await waitFor(async () => (await rejoined.get(`${p}zz-end`))?.value === 'end', {
          what: `member ${leader.name} to catch up after rejoining`,
          timeoutMs: 10_000,
        });
        await watch.cancel();
      } finally {
        await Promise.all(opened.map((o) => o.close()));
      }
    });
  });
});

/** The member that leads the cluster now, as the live members themselves report it. */
async function leaderOf(cluster: EtcdCluster) {
  return waitFor(
    async () => {
      for (const member of cluster.members.filter((m) => m.pid !== undefined)) {
        const kv = new EtcdKV({ endpoints: [member.endpoint] });
        try {
          const status = await kv.client.maintenance.status();
          if (status.leader !== '0' && status.header.member_id === status.leader) return member;
        } finally {
          await kv.close();
        }
      }
      return undefined;
    },
    { what: 'a member to report itself the leader', timeoutMs: 10_000 },
  );
}
