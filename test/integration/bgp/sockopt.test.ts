// TCP MD5 (RFC 2385) and GTSM (RFC 5082) on real kernel sockets, over loopback only.
import net from 'node:net';
import { expect } from 'chai';
import {
  SockoptError,
  connectBgp,
  gtsmMinTtl,
  listenBgp,
  setMd5Peer,
  ttlOptions,
} from '../../../src/bgp/sockopt/index.js';

/** A connection that must not establish gives up after this long. */
const REFUSED_WITHIN_MS = 1500;

interface Listener {
  server: net.Server;
  port: number;
  accepted: net.Socket[];
}

const open: Array<net.Server | net.Socket> = [];

async function listen(options: Omit<Parameters<typeof listenBgp>[0], 'port' | 'onConnection'>): Promise<Listener> {
  const accepted: net.Socket[] = [];
  const server = await listenBgp({
    ...options,
    port: 0,
    onConnection: (s) => {
      accepted.push(s);
      open.push(s);
      // An echo service: whatever arrives goes back, so both directions are exercised.
      s.on('data', (d) => s.write(d));
      s.on('error', () => s.destroy());
    },
  });
  open.push(server);
  return { server, port: (server.address() as net.AddressInfo).port, accepted };
}

async function echo(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => reject(new Error(`no echo of "${text}" within 2000 ms`)), 2000);
    socket.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        resolve(got);
      }
    });
    socket.write(text);
  });
}

async function expectNoConnection(promise: Promise<net.Socket>, listener: Listener): Promise<void> {
  const acceptedBefore = listener.accepted.length;
  let err: unknown;
  try {
    const s = await promise;
    open.push(s);
  } catch (e) {
    err = e;
  }
  expect(err, 'the connection established but should not have').to.be.instanceOf(SockoptError);
  expect((err as SockoptError).code).to.equal('ETIMEDOUT');
  expect(listener.accepted).to.have.length(acceptedBefore);
}

function ipv6LoopbackWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  });
}

describe('bgp/sockopt: TCP MD5 and GTSM on loopback', function () {
  this.timeout(10_000);

  afterEach(() => {
    for (const h of open.splice(0)) {
      if (h instanceof net.Server) h.close();
      else h.destroy();
    }
  });

  describe('TCP MD5 (RFC 2385)', () => {
    it('connects and exchanges data when both sides have the same key', async () => {
      const l = await listen({ address: '127.0.0.1', md5Peers: new Map([['127.0.0.1', 'tortie-secret']]) });
      const c = await connectBgp({ address: '127.0.0.1', port: l.port, md5Key: 'tortie-secret', timeoutMs: 2000 });
      open.push(c);
      expect(await echo(c, 'OPEN?')).to.equal('OPEN?');
      expect(l.accepted).to.have.length(1);
    });

    it('does not connect with a wrong key', async () => {
      const l = await listen({ address: '127.0.0.1', md5Peers: new Map([['127.0.0.1', 'right']]) });
      await expectNoConnection(
        connectBgp({ address: '127.0.0.1', port: l.port, md5Key: 'wrong', timeoutMs: REFUSED_WITHIN_MS }),
        l,
      );
    });

    it('does not connect when only the listener has a key', async () => {
      const l = await listen({ address: '127.0.0.1', md5Peers: new Map([['127.0.0.1', 'right']]) });
      await expectNoConnection(connectBgp({ address: '127.0.0.1', port: l.port, timeoutMs: REFUSED_WITHIN_MS }), l);
    });

    it('does not connect when only the client has a key', async () => {
      const l = await listen({ address: '127.0.0.1' });
      await expectNoConnection(
        connectBgp({ address: '127.0.0.1', port: l.port, md5Key: 'right', timeoutMs: REFUSED_WITHIN_MS }),
        l,
      );
    });

    it('a key for another peer address does not cover this one', async () => {
      const l = await listen({ address: '127.0.0.1', md5Peers: new Map([['127.0.0.2', 'right']]) });
      await expectNoConnection(
        connectBgp({ address: '127.0.0.1', port: l.port, md5Key: 'right', timeoutMs: REFUSED_WITHIN_MS }),
        l,
      );
    });

    it('keys added and removed at run time with setMd5Peer take effect', async () => {
      const l = await listen({ address: '127.0.0.1' });
      setMd5Peer(l.server, '127.0.0.1', 'added-later');
      const c = await connectBgp({ address: '127.0.0.1', port: l.port, md5Key: 'added-later', timeoutMs: 2000 });
      open.push(c);
      expect(await echo(c, 'x')).to.equal('x');

      setMd5Peer(l.server, '127.0.0.1', '');
      setMd5Peer(l.server, '127.0.0.1', ''); // removing twice is not an error
      const plain = await connectBgp({ address: '127.0.0.1', port: l.port, timeoutMs: 2000 });
      open.push(plain);
      expect(await echo(plain, 'y')).to.equal('y');
    });

    it('binds the client to a given local address', async () => {
      const l = await listen({ address: '127.0.0.1', md5Peers: new Map([['127.0.0.2', 'k']]) });
      const c = await connectBgp({
        address: '127.0.0.1',
        port: l.port,
        localAddress: '127.0.0.2',
        md5Key: 'k',
        timeoutMs: 2000,
      });
      open.push(c);
      expect(c.localAddress).to.equal('127.0.0.2');
      expect(await echo(c, 'z')).to.equal('z');
    });

    it('works over IPv6, and a dual-stack listener keys an IPv4 peer', async function () {
      if (!(await ipv6LoopbackWorks())) this.skip();
      const l6 = await listen({ address: '::1', md5Peers: new Map([['::1', 'six']]) });
      const c6 = await connectBgp({ address: '::1', port: l6.port, md5Key: 'six', timeoutMs: 2000 });
      open.push(c6);
      expect(await echo(c6, '6')).to.equal('6');
      await expectNoConnection(
        connectBgp({ address: '::1', port: l6.port, md5Key: 'not-six', timeoutMs: REFUSED_WITHIN_MS }),
        l6,
      );

      const dual = await listen({ address: '::', md5Peers: new Map([['127.0.0.1', 'four']]) });
      const c4 = await connectBgp({ address: '127.0.0.1', port: dual.port, md5Key: 'four', timeoutMs: 2000 });
      open.push(c4);
      expect(await echo(c4, '4')).to.equal('4');
    });
  });

  describe('GTSM (RFC 5082)', () => {
    it('a listener with min TTL 255 accepts a client that sends with TTL 255', async () => {
      const l = await listen({ address: '127.0.0.1', ttlSecurityHops: 1 });
      expect(ttlOptions(l.server)).to.deep.equal({ ttl: 255, minTtl: 255 });
      const c = await connectBgp({ address: '127.0.0.1', port: l.port, ttlSecurityHops: 1, timeoutMs: 2000 });
      open.push(c);
      expect(ttlOptions(c).ttl).to.equal(255);
      expect(await echo(c, 'gtsm')).to.equal('gtsm');
      // The accepted socket inherits the listener's minimum.
      expect(ttlOptions(l.accepted[0]!).minTtl).to.equal(255);
    });

    it('a listener with min TTL 255 does not accept a client that sends with TTL 64', async () => {
      const l = await listen({ address: '127.0.0.1', ttlSecurityHops: 1 });
      const client = connectBgp({ address: '127.0.0.1', port: l.port, timeoutMs: REFUSED_WITHIN_MS });
      await expectNoConnection(client, l);
    });

    it('the default TTL a plain client sends with is below 255 (so the test above means something)', async () => {
      const l = await listen({ address: '127.0.0.1' });
      const c = await connectBgp({ address: '127.0.0.1', port: l.port, timeoutMs: 2000 });
      open.push(c);
      expect(ttlOptions(c).ttl).to.be.below(255);
    });

    it('maps hops to the minimum TTL and rejects impossible hop counts', () => {
      expect(gtsmMinTtl(1)).to.equal(255);
      expect(gtsmMinTtl(2)).to.equal(254);
      expect(gtsmMinTtl(254)).to.equal(2);
      expect(() => gtsmMinTtl(0)).to.throw(SockoptError, /1 to 254/);
      expect(() => gtsmMinTtl(255)).to.throw(SockoptError);
    });
  });

  describe('errors are one line that names the culprit', () => {
    it('a bad peer address', async () => {
      let err: unknown;
      try {
        await connectBgp({ address: '10.0.0.300', port: 179, md5Key: 'k' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(SockoptError);
      expect((err as Error).message).to.equal('peer address "10.0.0.300" is not an IPv4 or IPv6 address');
    });

    it('an IPv6 MD5 peer on an IPv4 listener', async () => {
      let err: unknown;
      try {
        await listenBgp({ address: '127.0.0.1', port: 0, md5Peers: new Map([['::1', 'k']]) });
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).to.match(/^TCP MD5 key for peer ::1: address family does not match/);
    });

    it('a key longer than 80 bytes', async () => {
      const l = await listen({ address: '127.0.0.1' });
      expect(() => setMd5Peer(l.server, '127.0.0.1', 'k'.repeat(81))).to.throw(SockoptError, /81 bytes/);
    });

    it('a port in use', async () => {
      const l = await listen({ address: '127.0.0.1' });
      // A second listener on the same address and port (no SO_REUSEPORT) must collide.
      let err: unknown;
      try {
        await listenBgp({ address: '127.0.0.1', port: l.port });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(SockoptError);
      expect((err as Error).message).to.match(/^listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    });
  });
});
