/**
 * The DNS server: UDP and TCP listeners on each listen address, answering from a DnsCache
 * (list + watch of /tortie/v1/dns/). See message.ts for what is answered and how.
 *
 *   const dns = startDnsServer({ kv, listen: [{ address: '169.254.1.1', port: 53 }],
 *                                domain: 'tortie.local', ttlSeconds: 5, log });
 *   await dns.ready;          // bound, and the records are loaded
 *   await dns.stop();
 *
 * TCP (RFC 7766): each message has a 2-byte length prefix; a connection carries any number of
 * queries, answered in order; an idle connection is closed after `tcpIdleMs` (default 10 s);
 * a connection that sends a zero length is closed. Port 0 picks a free port, the same one
 * for UDP and TCP (see `bound`).
 *
 * Hosting it in the node daemon: see README's "Service discovery" section (the daemon adds
 * 169.254.1.1/32 to the host's `lo`, starts this on 169.254.1.1:53, and names it in each
 * CNI result's dns.nameservers with search `<namespace>.tortie.local tortie.local`).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { errorMessage } from '../common/errors.js';
import type { KV } from '../datastore/kv.js';
import type { Logger } from '../log/logger.js';
import { DnsCache } from './cache.js';
import { answerMessage, DEFAULT_MAX_UDP_SIZE, type AnswerConfig } from './message.js';

export const DEFAULT_DNS_DOMAIN = 'tortie.local';
/** Answers queued on one TCP connection beyond this many bytes: the client is not reading. */
const TCP_MAX_BUFFERED = 1 << 20;
export const DEFAULT_DNS_TTL_SECONDS = 5;
/** The link-local address the node daemon serves DNS on, as Calico's gateway address. */
export const NODE_DNS_ADDRESS = '169.254.1.1';

export interface ListenAddress {
  address: string;
  port: number;
}

export interface DnsServerOptions {
  kv: KV;
  listen: ListenAddress[];
  domain?: string;
  ttlSeconds?: number;
  log: Logger;
  maxUdpSize?: number;
  tcpIdleMs?: number;
}

export interface DnsServer {
  /** Resolves once every listener is bound and the records are loaded; rejects if a bind fails. */
  readonly ready: Promise<void>;
  /** The addresses actually bound (port 0 replaced), once ready. */
  readonly bound: ListenAddress[];
  readonly cache: DnsCache;
  stop(): Promise<void>;
}

/** Checks and normalises a zone name: `Tortie.Local.` -> `tortie.local`. */
export function normaliseDomain(domain: string): string {
  const d = domain.trim().replace(/\.$/, '').toLowerCase();
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  if (d === '' || d.length > 200 || !d.split('.').every((l) => label.test(l))) throw new RangeError(`"${domain}" is not a domain name`);
  return d;
}

export function startDnsServer(options: DnsServerOptions): DnsServer {
  const log = options.log;
  const config: AnswerConfig = {
    domain: normaliseDomain(options.domain ?? DEFAULT_DNS_DOMAIN),
    ttlSeconds: options.ttlSeconds ?? DEFAULT_DNS_TTL_SECONDS,
    maxUdpSize: options.maxUdpSize ?? DEFAULT_MAX_UDP_SIZE,
  };
  if (!Number.isInteger(config.ttlSeconds) || config.ttlSeconds < 0) throw new RangeError(`DNS TTL must be a whole number of seconds >= 0, not ${config.ttlSeconds}`);
  const idleMs = options.tcpIdleMs ?? 10_000;
  const cache = new DnsCache(options.kv, log);
  const udps: UdpSocket[] = [];
  const tcps: Server[] = [];
  const conns = new Set<Socket>();
  const bound: ListenAddress[] = [];
  let stopped = false;

  const answer = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null => {
    try {
      return answerMessage(msg, cache, config, transport);
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'DNS: answering a message failed'); // a bug: answerMessage never throws
      return null;
    }
  };

  const bindUdp = (address: string, port: number) =>
    new Promise<UdpSocket>((resolve, reject) => {
      const sock = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false });
      sock.once('error', reject);
      sock.on('message', (msg, rinfo) => {
        const out = answer(msg, 'udp');
        if (out) sock.send(out, rinfo.port, rinfo.address, (err) => err && log.debug({ err: err.message }, 'DNS: UDP send failed'));
      });
      sock.bind(port, address, () => {
        sock.off('error', reject);
        sock.on('error', (err) => log.warn({ err: err.message }, 'DNS: UDP socket error'));
        resolve(sock);
      });
    });

  const bindTcp = (address: string, port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer((conn) => serveTcp(conn));
      server.once('error', reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => log.warn({ err: err.message }, 'DNS: TCP listener error'));
        resolve(server);
      });
    });

  const serveTcp = (conn: Socket) => {
    conns.add(conn);
    conn.setNoDelay(true);
    conn.setTimeout(idleMs, () => conn.destroy());
    let pending: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (len === 0) {
          conn.destroy();
          return;
        }
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const out = answer(msg, 'tcp');
        if (out) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          conn.write(Buffer.concat([prefix, out]));
          // A client that sends queries but does not read the answers gets cut off.
          if (conn.writableLength > TCP_MAX_BUFFERED) {
            conn.destroy();
            return;
          }
        }
      }
    });
    conn.on('error', () => conn.destroy());
    conn.on('close', () => conns.delete(conn));
  };

  const start = async () => {
    for (const l of options.listen) {
      let lastErr: unknown;
      for (let attempt = 0; attempt < (l.port === 0 ? 5 : 1); attempt++) {
        const udp = await bindUdp(l.address, l.port);
        const port = (udp.address() as { port: number }).port;
        try {
          const tcp = await bindTcp(l.address, port);
          udps.push(udp);
          tcps.push(tcp);
          bound.push({ address: l.address, port });
          lastErr = undefined;
          break;
        } catch (err) {
          lastErr = err;
          udp.close();
        }
      }
      if (lastErr) throw lastErr;
    }
    if (stopped) return;
    cache.start();
    await cache.synced;
    log.info({ listen: bound.map((b) => `${b.address}:${b.port}`), domain: config.domain, ttl: config.ttlSeconds, records: cache.size }, 'DNS server ready');
  };

  const stop = async () => {
    stopped = true;
    await cache.stop();
    for (const c of conns) c.destroy();
    await Promise.all([
      ...udps.map((u) => new Promise<void>((resolve) => u.close(() => resolve()))),
      ...tcps.map((t) => new Promise<void>((resolve) => t.close(() => resolve()))),
    ]);
  };

  const ready = start().catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  ready.catch(() => undefined); // the caller hears of it through `ready`
  return { ready, bound, cache, stop };
}
