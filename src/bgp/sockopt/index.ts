/**
 * TCP sockets for BGP with TCP MD5 signatures (RFC 2385) and GTSM (RFC 5082).
 *
 * Node's net module has no setsockopt, so the options are set by a small N-API addon
 * (native/sockopt.c). Both options must be in force before the first segment:
 *
 *  - Listeners: the addon creates and binds the socket, keys and minimum TTL are installed,
 *    and only then `server.listen({fd})` makes Node call listen(2) on it. A bound socket that
 *    is not yet listening answers SYNs with RST, so no unsigned connection can slip in.
 *  - Outgoing connections: the addon creates (and optionally binds) the socket, the options
 *    are set, the descriptor is wrapped with `new net.Socket({fd})`, and `socket.connect()`
 *    then calls connect(2) on that same descriptor (libuv reuses a handle's existing fd).
 *    So the SYN already carries the MD5 option and the GTSM TTL. This keeps all of Node's
 *    connect machinery (events, errors, timeouts) instead of re-implementing a non-blocking
 *    connect and its completion in C.
 *
 * Keys added later (`setMd5Peer`) need the descriptor of a live net.Server or net.Socket.
 * The one private field used for that is `handle._handle.fd` (libuv's descriptor of the
 * TCP wrap); `socketFd` is the only place that reads it.
 */
import net from 'node:net';
import { UserError } from '../../common/errors.js';
import { sockoptAddon } from './native.js';

/** Linux's TCP_MD5SIG_MAXKEYLEN. */
export const TCP_MD5_MAX_KEY_BYTES = 80;
/** GTSM: we always send with the maximum TTL / hop limit. */
export const GTSM_SEND_TTL = 255;

/** A socket option could not be set or a socket could not be made; one line, names the peer. */
export class SockoptError extends UserError {
  readonly code: string | undefined;
  constructor(message: string, code?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SockoptError';
    this.code = code;
  }
}

export interface ListenBgpOptions {
  /** Local address to listen on; "::" listens on IPv4 and IPv6. */
  address: string;
  port: number;
  /** Peer address -> MD5 key (RFC 2385), installed before the socket starts listening. */
  md5Peers?: ReadonlyMap<string, string>;
  /**
   * GTSM (RFC 5082): accept only segments that crossed at most this many hops (1..254), by
   * setting the minimum TTL to 256 - hops; replies leave with TTL 255. Applies to every peer
   * of this listener; use `setTtlSecurity` on an accepted socket for per-peer values.
   */
  ttlSecurityHops?: number;
  backlog?: number;
  /** Attached before listen(2), so no early connection is missed. */
  onConnection?: (socket: net.Socket) => void;
}

export interface ConnectBgpOptions {
  address: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  /** RFC 2385 key shared with this peer; the SYN is already signed. */
  md5Key?: string;
  /** GTSM (RFC 5082) hop count, 1..254: send with TTL 255, accept TTL >= 256 - hops. */
  ttlSecurityHops?: number;
  /** Give up when the connection is not established after this long (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * The kernel descriptor of a net.Socket or net.Server. Reads the private `_handle.fd`
 * (the only private field this module uses); -1 or a missing handle means it is closed.
 */
export function socketFd(handle: net.Socket | net.Server): number {
  const fd = (handle as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new SockoptError('socket is not open (it has no file descriptor)');
  }
  return fd;
}

/** Listens for BGP connections with MD5 keys and GTSM in force from the first SYN. */
export async function listenBgp(options: ListenBgpOptions): Promise<net.Server> {
  const family = addressFamily(options.address, 'listen address');
  checkPort(options.port, 'listen port');
  const minTtl = options.ttlSecurityHops === undefined ? undefined : gtsmMinTtl(options.ttlSecurityHops);
  const keys = [...(options.md5Peers ?? new Map<string, string>())].map(
    ([peer, key]) => [peer, md5KeyBytes(key, peer)] as const,
  );
  for (const [peer] of keys) addressFamily(peer, 'MD5 peer address');

  const addon = sockoptAddon();
  const where = `${formatEndpoint(options.address, options.port)}`;
  const fd = nativeCall(() => addon.createTcpSocket(family, options.address, options.port), `listen on ${where}`);
  try {
    for (const [peer, key] of keys) {
      nativeCall(() => addon.setTcpMd5Sig(fd, peer, key), `TCP MD5 key for peer ${peer}`);
    }
    if (minTtl !== undefined) {
      nativeCall(() => addon.setTtl(fd, GTSM_SEND_TTL), `GTSM on ${where}`);
      nativeCall(() => addon.setMinTtl(fd, minTtl), `GTSM on ${where}`);
    }
  } catch (err) {
    addon.closeFd(fd);
    throw err;
  }

  const server = net.createServer();
  if (options.onConnection) server.on('connection', options.onConnection);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      // Node owns the descriptor once listen() was called on it; closing the server frees it.
      server.close();
      reject(new SockoptError(`listen on ${where}: ${err.message}`, err.code, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ fd, backlog: options.backlog ?? 128 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server;
}

/** Adds (non-empty key), replaces or removes (empty key) the MD5 key for one peer at run time. */
export function setMd5Peer(server: net.Server | net.Socket, address: string, key: string): void {
  addressFamily(address, 'MD5 peer address');
  const bytes = md5KeyBytes(key, address);
  const fd = socketFd(server);
  try {
    sockoptAddon().setTcpMd5Sig(fd, address, bytes);
  } catch (err) {
    // Removing a key that was never installed is not worth an error.
    if (bytes.length === 0 && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw toSockoptError(err, `TCP MD5 key for peer ${address}`);
  }
}

/**
 * GTSM on one socket (e.g. an accepted one whose peer has its own ttlSecurity): send with
 * TTL 255 and drop segments with TTL below 256 - hops. `hops` undefined or 0 turns the
 * minimum off again (the TTL sent stays 255, which is harmless).
 */
export function setTtlSecurity(socket: net.Socket | net.Server, hops: number | undefined): void {
  const fd = socketFd(socket);
  const addon = sockoptAddon();
  nativeCall(() => addon.setTtl(fd, GTSM_SEND_TTL), 'GTSM');
  nativeCall(() => addon.setMinTtl(fd, hops ? gtsmMinTtl(hops) : 0), 'GTSM');
}

/** The TTL / hop limit a socket sends with and the minimum it accepts (0 = none). */
export function ttlOptions(socket: net.Socket | net.Server): { ttl: number; minTtl: number } {
  const fd = socketFd(socket);
  const addon = sockoptAddon();
  return {
    ttl: nativeCall(() => addon.getHopOption(fd, 'ttl'), 'TTL'),
    minTtl: nativeCall(() => addon.getHopOption(fd, 'minttl'), 'minimum TTL'),
  };
}

/** Connects to a BGP peer with the MD5 key and GTSM TTL in force on the SYN. */
export async function connectBgp(options: ConnectBgpOptions): Promise<net.Socket> {
  const family = addressFamily(options.address, 'peer address');
  checkPort(options.port, 'peer port');
  if (options.localAddress !== undefined) {
    const localFamily = addressFamily(options.localAddress, 'local address');
    if (localFamily !== family) {
      throw new SockoptError(
        `local address ${options.localAddress} is IPv${localFamily} but peer ${options.address} is IPv${family}`,
      );
    }
  }
  if (options.localPort !== undefined) checkPort(options.localPort, 'local port');
  const key = options.md5Key ? md5KeyBytes(options.md5Key, options.address) : undefined;
  const minTtl = options.ttlSecurityHops === undefined ? undefined : gtsmMinTtl(options.ttlSecurityHops);
  const timeoutMs = options.timeoutMs ?? 5000;
  const peer = formatEndpoint(options.address, options.port);

  const addon = sockoptAddon();
  const bindAddress =
    options.localAddress ?? (options.localPort !== undefined ? (family === 4 ? '0.0.0.0' : '::') : undefined);
  const fd = nativeCall(
    () => addon.createTcpSocket(family, bindAddress, options.localPort ?? 0),
    bindAddress === undefined ? `socket for ${peer}` : `bind ${formatEndpoint(bindAddress, options.localPort ?? 0)}`,
  );
  let socket: net.Socket;
  try {
    if (key) nativeCall(() => addon.setTcpMd5Sig(fd, options.address, key), `TCP MD5 key for peer ${options.address}`);
    if (minTtl !== undefined) {
      nativeCall(() => addon.setTtl(fd, GTSM_SEND_TTL), `GTSM towards ${peer}`);
      nativeCall(() => addon.setMinTtl(fd, minTtl), `GTSM towards ${peer}`);
    }
    socket = new net.Socket({ fd });
  } catch (err) {
    addon.closeFd(fd);
    throw err;
  }

  return new Promise<net.Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      const hint = key || minTtl !== undefined ? ' (an MD5 key or GTSM mismatch looks like this)' : '';
      reject(new SockoptError(`connect to ${peer}: no answer within ${timeoutMs} ms${hint}`, 'ETIMEDOUT'));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new SockoptError(`connect to ${peer}: ${err.code ?? err.message}`, err.code, { cause: err }));
    };
    socket.once('error', onError);
    socket.connect({ host: options.address, port: options.port }, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** RFC 5082: the lowest TTL a packet from a peer at most `hops` away can arrive with. */
export function gtsmMinTtl(hops: number): number {
  if (!Number.isInteger(hops) || hops < 1 || hops > 254) {
    throw new SockoptError(`ttlSecurity: ${hops} is not a hop count from 1 to 254`);
  }
  return GTSM_SEND_TTL - hops + 1;
}

function md5KeyBytes(key: string, peer: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > TCP_MD5_MAX_KEY_BYTES) {
    throw new SockoptError(
      `TCP MD5 key for peer ${peer} is ${bytes.length} bytes; Linux allows at most ${TCP_MD5_MAX_KEY_BYTES}`,
    );
  }
  return bytes;
}

function addressFamily(address: string, what: string): 4 | 6 {
  const v = net.isIP(address);
  if (v === 0) throw new SockoptError(`${what} "${address}" is not an IPv4 or IPv6 address`);
  return v as 4 | 6;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SockoptError(`${what} ${port} is not a port number (0..65535)`);
  }
}

function formatEndpoint(address: string, port: number): string {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

function nativeCall<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (err) {
    throw toSockoptError(err, what);
  }
}

/** Errno -> a line a user can act on. */
function toSockoptError(err: unknown, what: string): SockoptError {
  if (err instanceof SockoptError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e.code;
  const explain: Record<string, string> = {
    EPERM: 'operation not permitted (needs root or CAP_NET_ADMIN)',
    EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
    ENOPROTOOPT: 'the kernel does not support this option (TCP MD5 needs CONFIG_TCP_MD5SIG)',
    EAFNOSUPPORT: 'address family does not match the socket (IPv4 vs IPv6)',
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this host',
    ENOENT: 'no such key',
  };
  const text = (code && explain[code]) ?? e.message;
  return new SockoptError(`${what}: ${text}${code ? ` (${code})` : ''}`, code, { cause: err });
}
