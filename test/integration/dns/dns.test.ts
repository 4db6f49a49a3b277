/**
 * Service discovery on real etcd: two registrars standing for two hosts, the DNS server
 * answering real UDP and TCP queries on loopback, and a workload (a network namespace) that
 * resolves another by name through `tortie dns` running beside it and connects to it.
 */
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet, Question } from 'dns-packet';
import { execa } from 'execa';
import type { KV } from '../../../src/datastore/kv.js';
import { openKV } from '../../../src/datastore/open.js';
import { ResourceStore } from '../../../src/datastore/resources/store.js';
import { decodeDnsRecord, DNS_PREFIX } from '../../../src/dns/records.js';
import { DnsRegistrar } from '../../../src/dns/registry.js';
import { startDnsServer, type DnsServer } from '../../../src/dns/server.js';
import { execInNetns } from '../../../src/kernel/index.js';
import { logger } from '../../../src/log/logger.js';
import { TORTIE_BIN } from '../../helpers/cli.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';
import { startEchoServer, useNetnsScope } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/wait.js';
import { endpointDoc } from '../../unit/dns/fixtures.js';

const log = logger('dns-it');
log.level = 'error';

type Reply = DecodedPacket & { rcode: string };
let nextId = 1;

function query(name: string, type: Question['type'], extra: Partial<Packet> = {}): Packet {
  return { type: 'query', id: nextId++ & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], ...extra };
}

/** One query over UDP; rejects after timeoutMs without an answer. */
function udpQuery(port: number, packet: Packet, timeoutMs = 2000): Promise<Reply> {
  return udpRaw(port, dnsPacket.encode(packet), timeoutMs);
}

function udpRaw(port: number, message: Buffer, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP answer from 127.0.0.1:${port}`));
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(dnsPacket.decode(msg) as Reply);
    });
    sock.send(message, port, '127.0.0.1');
  });
}

/** Several queries on one TCP connection (length-prefixed), sent in one write; answers in order. */
function tcpQueries(port: number, packets: Packet[], timeoutMs = 2000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const conn = connect(port, '127.0.0.1');
    const replies: Reply[] = [];
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`only ${replies.length} of ${packets.length} TCP answers`));
    }, timeoutMs);
    conn.on('connect', () => conn.write(Buffer.concat(packets.map((p) => dnsPacket.streamEncode(p)))));
    conn.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        replies.push(dnsPacket.decode(pending.subarray(2, 2 + len)) as Reply);
        pending = pending.subarray(2 + len);
      }
      if (replies.length === packets.length) {
        clearTimeout(timer);
        conn.end();
        resolve(replies);
      }
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const addressesOf = (r: Reply, type = 'A') => (r.answers ?? []).filter((a) => a.type === type).map((a) => (a as { data: string }).data);

describe('dns: registration on etcd and lookup over UDP and TCP', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  const kvs: KV[] = [];
  let store: ResourceStore;
  let hostA: DnsRegistrar;
  let hostB: DnsRegistrar;
  let kvB: KV;
  let server: DnsServer;
  let port: number;

  before(async function () {
    etcd = await startEtcd();
    const open = async () => {
      const kv = await openKV(etcd.url);
      kvs.push(kv);
      return kv;
    };
    store = new ResourceStore(await open());
    hostA = new DnsRegistrar({ kv: await open(), nodeName: 'host-a', leaseTtlSeconds: 30, log });
    kvB = await open();
    hostB = new DnsRegistrar({ kv: kvB, nodeName: 'host-b', leaseTtlSeconds: 2, log });
    hostA.start(store);
    hostB.start(store);
    server = startDnsServer({ kv: await open(), listen: [{ address: '127.0.0.1', port: 0 }], domain: 'tortie.local', ttlSeconds: 5, log });
    await server.ready;
    port = server.bound[0]!.port;
  });

  after(async function () {
    await hostA?.stop();
    await hostB?.stop().catch(() => undefined);
    await server?.stop();
    for (const kv of kvs) await kv.close().catch(() => undefined);
    await etcd?.stop();
  });

  it('answers A, AAAA and SRV over UDP, and several queries on one TCP connection', async function () {
    await store.create(endpointDoc('web', 'host-a', ['10.65.0.7/32', 'fd00:65::7/128'], { ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] }));
    const a = await waitFor(
      async () => {
        const r = await udpQuery(port, query('web.prod.tortie.local', 'A'));
        return r.rcode === 'NOERROR' && addressesOf(r).length > 0 ? r : null;
      },
      { what: 'web.prod.tortie.local to resolve' },
    );
    expect(addressesOf(a)).to.deep.equal(['10.65.0.7']);
    expect(a.flag_aa).to.equal(true);
    expect((a.answers![0] as { ttl: number }).ttl).to.equal(5);

    const [aaaa, srv, nx, refused, upper] = await tcpQueries(port, [
      query('web.prod.tortie.local', 'AAAA'),
      query('_http._tcp.web.prod.tortie.local', 'SRV'),
      query('nobody.prod.tortie.local', 'A'),
      query('example.com', 'A'),
      query('WEB.Prod.TORTIE.local', 'A'),
    ]);
    expect(addressesOf(aaaa!, 'AAAA')).to.deep.equal(['fd00:65::7']);
    expect(srv!.answers!.map((x) => (x as { data: unknown }).data)).to.deep.equal([{ priority: 0, weight: 0, port: 8080, target: 'web.prod.tortie.local' }]);
    expect(addressesOf({ ...srv!, answers: srv!.additionals } as Reply)).to.deep.equal(['10.65.0.7']);
    expect(nx!.rcode).to.equal('NXDOMAIN');
    expect(nx!.authorities!.map((x) => x.type)).to.deep.equal(['SOA']);
    expect(refused!.rcode).to.equal('REFUSED');
    expect(addressesOf(upper!)).to.deep.equal(['10.65.0.7']);
  });

  it('a big answer comes truncated (TC) over UDP and whole over TCP', async function () {
    const ips = Array.from({ length: 20 }, (_, i) => `10.65.2.${i + 1}/32`);
    await store.create(endpointDoc('big', 'host-a', ips));
    const udp = await waitFor(
      async () => {
        const r = await udpQuery(port, query('big.prod.tortie.local', 'A'));
        return r.rcode === 'NOERROR' && r.flag_tc ? r : null;
      },
      { what: 'a truncated answer for big' },
    );
    expect(udp.answers).to.deep.equal([]);
    const [tcp] = await tcpQueries(port, [query('big.prod.tortie.local', 'A')]);
    expect(tcp!.flag_tc).to.equal(false);
    expect(addressesOf(tcp!)).to.have.length(20);
  });

  it('survives garbage over UDP and TCP: FORMERR or silence, then answers the next query; frames split across writes', async function () {
    const sock = createSocket('udp4');
    try {
      let seed = 7;
      const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
      for (let i = 0; i < 300; i++) sock.send(Buffer.from(Array.from({ length: 1 + (i % 60) }, rand)), port, '127.0.0.1');
    } finally {
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    }
    // A label that runs past the end of the message. (UDP may drop a datagram after such a
    // burst, so the question is asked until an answer comes.)
    const mangled = dnsPacket.encode(query('web.prod.tortie.local', 'A'));
    mangled[12] = 63;
    const r = await waitFor(() => udpRaw(port, mangled, 500), { what: 'an answer to the mangled query' });
    expect(r.rcode).to.equal('FORMERR');
    expect(r.id).to.equal(mangled.readUInt16BE(0));
    expect(r.questions).to.deep.equal([]);
    expect(addressesOf(await udpQuery(port, query('web.prod.tortie.local', 'A')))).to.deep.equal(['10.65.0.7']);

    // One TCP query written a byte at a time.
    const whole = dnsPacket.streamEncode(query('web.prod.tortie.local', 'A'));
    const answered = await new Promise<Reply>((resolve, reject) => {
      const conn = connect(port, '127.0.0.1');
      let got = Buffer.alloc(0);
      conn.on('connect', async () => {
        for (const byte of whole) {
          conn.write(Buffer.from([byte]));
          await new Promise((r) => setImmediate(r));
        }
      });
      conn.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
          conn.end();
          resolve(dnsPacket.decode(got.subarray(2)) as Reply);
        }
      });
      conn.on('error', reject);
    });
    expect(addressesOf(answered)).to.deep.equal(['10.65.0.7']);

    // A zero-length frame closes the connection (nothing sane follows it).
    const closed = await new Promise<boolean>((resolve) => {
      const conn = connect(port, '127.0.0.1', () => conn.write(Buffer.from([0, 0])));
      conn.on('close', () => resolve(true));
      conn.on('error', () => undefined);
    });
    expect(closed).to.equal(true);
  });

  it('the name follows its workload from host-a to host-b', async function () {
    await store.create(endpointDoc('mover', 'host-a', ['10.65.0.20/32']));
    await waitFor(async () => addressesOf(await udpQuery(port, query('mover.prod.tortie.local', 'A'))).join() === '10.65.0.20', { what: 'mover on host-a' });
    await store.delete({ kind: 'WorkloadEndpoint', name: 'mover', namespace: 'prod' });
    await store.create(endpointDoc('mover', 'host-b', ['10.65.1.20/32']));
    const started = Date.now();
    await waitFor(async () => addressesOf(await udpQuery(port, query('mover.prod.tortie.local', 'A'))).join() === '10.65.1.20', { what: 'mover on host-b', timeoutMs: 5000 });
    expect(Date.now() - started).to.be.below(5000); // within the answers' TTL
  });

  it('when a host dies (its keep-alives stop), its records expire with its lease; a revoked lease of a live host is replaced', async function () {
    await store.create(endpointDoc('victim', 'host-b', ['10.65.1.30/32']));
    await waitFor(async () => addressesOf(await udpQuery(port, query('victim.prod.tortie.local', 'A'))).length === 1, { what: 'victim resolves' });
    // Host b dies: no revoke, no more keep-alives (its etcd client goes away).
    await hostB.stop({ keepRecords: true });
    await kvB.close();
    const r = await waitFor(
      async () => {
        const x = await udpQuery(port, query('victim.prod.tortie.local', 'A'));
        return x.rcode === 'NXDOMAIN' ? x : null;
      },
      { what: 'victim to expire with host-b\'s 2 s lease', timeoutMs: 6000, intervalMs: 100 },
    );
    expect(r.authorities!.map((x) => x.type)).to.deep.equal(['SOA']);
    expect(addressesOf(await udpQuery(port, query('mover.prod.tortie.local', 'A')))).to.deep.equal([]);

    // Host a's lease revoked behind its back (etcdctl, as an operator would): its records go,
    // and its registrar, which is alive, registers them again under a new lease.
    const key = `${DNS_PREFIX}prod/web/host-a`;
    const before = hostA.leaseId!;
    const events: string[] = [];
    const watcher = kvs[0]!.watch(DNS_PREFIX, {}, { onEvents: (evs) => void evs.forEach((e) => e.type === 'delete' && events.push(e.key)) });
    try {
      await execa('etcdctl', ['--endpoints', etcd.endpoints.join(','), 'lease', 'revoke', before]);
      await waitFor(() => events.includes(key), { what: 'web\'s record to go with the revoked lease' });
      const back = await waitFor(
        async () => {
          const pair = await kvs[0]!.get(key);
          return pair && pair.lease !== before ? pair : null;
        },
        { what: 'web registered again under a new lease', timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(decodeDnsRecord(back.value)!.addresses).to.deep.equal(['10.65.0.7', 'fd00:65::7']);
      expect(back.lease).to.equal(hostA.leaseId);
    } finally {
      await watcher.cancel();
    }
  });
});

/** Inside a namespace: resolve NAME (A) and _echo._tcp.NAME (SRV) via SERVER, connect, echo. */
const RESOLVE_AND_CONNECT = `
const { Resolver } = require('node:dns').promises;
const net = require('node:net');
const [server, name] = process.argv.slice(1);
(async () => {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([server]);
  const addrs = await r.resolve4(name);
  const srv = await r.resolveSrv('_echo._tcp.' + name);
  const echoed = await new Promise((resolve, reject) => {
    const c = net.connect(srv[0].port, addrs[0], () => c.write('hello'));
    c.setTimeout(2000, () => reject(new Error('echo timeout')));
    c.on('data', (d) => { c.destroy(); resolve(d.toString()); });
    c.on('error', reject);
  });
  process.stdout.write(JSON.stringify({ addrs, port: srv[0].port, target: srv[0].name, echoed }));
})().catch((e) => { process.stdout.write(JSON.stringify({ error: e.code || e.message })); });
`;

describe('dns: a workload resolves another by name (tortie dns in its namespace) and connects to it', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  const kvs: KV[] = [];

  before(async function () {
    etcd = await startEtcd({ unixSocket: true });
  });
  after(async function () {
    for (const kv of kvs) await kv.close().catch(() => undefined);
    await etcd?.stop();
  });

  it('resolves, connects, and follows the workload to another host within the TTL', async function () {
    const open = async () => {
      const kv = await openKV(etcd.url);
      kvs.push(kv);
      return kv;
    };
    const store = new ResourceStore(await open());
    const hostA = new DnsRegistrar({ kv: await open(), nodeName: 'host-a', leaseTtlSeconds: 30, log });
    const hostB = new DnsRegistrar({ kv: await open(), nodeName: 'host-b', leaseTtlSeconds: 30, log });
    hostA.start(store);
    hostB.start(store);
    try {
      const client = await scope().netns('dnsc');
      const target = await scope().netns('dnst');
      await scope().veth({ netns: client, name: 'eth0', addresses: ['10.215.0.1/24'] }, { netns: target, name: 'eth0', addresses: ['10.215.0.2/24', '10.215.0.3/24'] });
      const echo = await startEchoServer(scope(), target, { proto: 'tcp' });
      // The DNS server beside the client, as the node daemon would run it for its workloads.
      const dns = await scope().spawn(client, process.execPath, [TORTIE_BIN, 'dns', '--datastore', etcd.unixUrl!, '--listen', '127.0.0.1:53', '--ttl', '5'], {
        env: { TORTIE_LOG_LEVEL: 'warn' },
      });
      await waitFor(() => {
        if (dns.exit) throw new Error(`tortie dns exited: ${dns.output()}`);
        return /serving tortie\.local/.test(dns.output());
      }, { what: 'tortie dns to serve', timeoutMs: 15_000 });

      const ports = [{ name: 'echo', protocol: 'TCP', port: echo.port }];
      await store.create(endpointDoc('backend', 'host-a', ['10.215.0.2/32'], { namespace: 'shop', ports }));
      const resolveFromClient = async () => {
        const out = await execInNetns(client, process.execPath, ['-e', RESOLVE_AND_CONNECT, '127.0.0.1', 'backend.shop.tortie.local']);
        return JSON.parse(out) as { addrs?: string[]; port?: number; target?: string; echoed?: string; error?: string };
      };
      const first = await waitFor(async () => {
        const r = await resolveFromClient();
        return r.echoed ? r : null;
      }, { what: 'the client to resolve backend and connect', timeoutMs: 10_000, intervalMs: 200 });
      expect(first).to.deep.equal({ addrs: ['10.215.0.2'], port: echo.port, target: 'backend.shop.tortie.local', echoed: 'hello' });

      // The workload is deleted, and added again on host-b with another address.
      await store.delete({ kind: 'WorkloadEndpoint', name: 'backend', namespace: 'shop' });
      await store.create(endpointDoc('backend', 'host-b', ['10.215.0.3/32'], { namespace: 'shop', ports }));
      const started = Date.now();
      const moved = await waitFor(async () => {
        const r = await resolveFromClient();
        return r.echoed && r.addrs?.join() === '10.215.0.3' ? r : null;
      }, { what: 'backend to follow to host-b', timeoutMs: 5000, intervalMs: 100 });
      expect(moved.port).to.equal(echo.port);
      expect(Date.now() - started).to.be.below(5000);
    } finally {
      await hostA.stop();
      await hostB.stop();
    }
  });
});

/** Runs in a host namespace: startNodeDns as the node daemon would (from the built code). */
const HOST_SCRIPT = `
const [dist, url, node] = process.argv.slice(1);
(async () => {
  const { openKV } = await import(dist + '/datastore/open.js');
  const { ResourceStore } = await import(dist + '/datastore/resources/store.js');
  const { startNodeDns } = await import(dist + '/dns/host.js');
  const { logger } = await import(dist + '/log/logger.js');
  const kv = await openKV(url);
  const dns = await startNodeDns({ kv, store: new ResourceStore(kv), nodeName: node, log: logger('dns') });
  process.stdout.write('READY\\n');
  process.on('SIGTERM', async () => { await dns.stop(); await kv.close(); process.exit(0); });
})().catch((e) => { process.stdout.write('FAILED ' + e.message + '\\n'); process.exit(1); });
`;

describe('dns: the node daemon hook (startNodeDns) serves workloads on 169.254.1.1:53 through their gateway', function () {
  this.timeout(60_000);
  const scope = useNetnsScope();
  let etcd: EtcdServer;
  let kv: KV | undefined;

  before(async function () {
    etcd = await startEtcd({ unixSocket: true });
  });
  after(async function () {
    await kv?.close();
    await etcd?.stop();
  });

  it('a workload wired as CNI wires it resolves a workload of its host by name', async function () {
    const host = await scope().netns('dnsh');
    const wl = await scope().netns('dnsw');
    // As CNI ADD: the workload's /32, a link route to the gateway 169.254.1.1 and a default
    // route through it; on the host, proxy ARP on the veth and a /32 route to the workload.
    await scope().veth({ netns: wl, name: 'eth0', addresses: ['10.216.0.5/32'] }, { netns: host, name: 'tortiedns0' });
    await execInNetns(wl, 'ip', ['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await execInNetns(wl, 'ip', ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await execInNetns(host, 'sysctl', ['-q', '-w', 'net.ipv4.conf.tortiedns0.proxy_arp=1']);
    await execInNetns(host, 'ip', ['route', 'add', '10.216.0.5/32', 'dev', 'tortiedns0']);
    const echo = await startEchoServer(scope(), wl, { proto: 'tcp' });

    const dist = new URL('../../../dist/src', import.meta.url).pathname;
    const daemon = await scope().spawn(host, process.execPath, ['-e', HOST_SCRIPT, dist, etcd.unixUrl!, 'host-h'], { env: { TORTIE_LOG_LEVEL: 'warn' } });
    await waitFor(() => {
      if (daemon.exit || /FAILED/.test(daemon.output())) throw new Error(`startNodeDns failed: ${daemon.output()}`);
      return /READY/.test(daemon.output());
    }, { what: 'startNodeDns to be ready', timeoutMs: 15_000 });
    expect(await execInNetns(host, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'])).to.match(/169\.254\.1\.1\/32 .*lo:tortie/);

    kv = await openKV(etcd.url);
    await new ResourceStore(kv).create(endpointDoc('self', 'host-h', ['10.216.0.5/32'], { namespace: 'shop', ports: [{ name: 'echo', protocol: 'TCP', port: echo.port }] }));
    const r = await waitFor(async () => {
      const out = JSON.parse(await execInNetns(wl, process.execPath, ['-e', RESOLVE_AND_CONNECT, '169.254.1.1', 'self.shop.tortie.local'])) as { addrs?: string[]; echoed?: string };
      return out.echoed ? out : null;
    }, { what: 'the workload to resolve itself through 169.254.1.1 and connect', timeoutMs: 10_000, intervalMs: 200 });
    expect(r.addrs).to.deep.equal(['10.216.0.5']);
    await daemon.stop();
  });
});
