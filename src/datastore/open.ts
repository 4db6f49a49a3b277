/**
 * Picks and opens a datastore backend from a URL, the one way every command and daemon gets
 * its KV:
 *   etcd://host:port[,host:port...]   etcd over plain gRPC
 *   etcds://host:port[,host:port...]  etcd over TLS (CA, client certificate and key files)
 *   etcd+unix:///abs/path/etcd.sock:1  etcd over a unix socket (etcd's `--listen-client-urls
 *                                      unix://etcd.sock:1` makes a socket FILE with that name);
 *                                      unlike loopback, a socket file is reachable from inside
 *                                      other network namespaces on the same machine
 *   memory:                            MemoryKV, for one process only: each call opens a
 *                                      fresh, empty store
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../common/errors.js';
import type { KV } from './kv.js';
import { MemoryKV } from './memory.js';

/** TORTIE_DATASTORE names the datastore when no --datastore flag is given. */
export const DATASTORE_ENV = 'TORTIE_DATASTORE';

/** A datastore URL that cannot be used; names the URL and what is wrong with it. */
export class DatastoreUrlError extends UserError {
  constructor(url: string, problem: string) {
    super(`datastore URL "${url}": ${problem}`);
    this.name = 'DatastoreUrlError';
  }
}

export interface OpenKVOptions {
  /** File paths (PEM) for etcds://: the CA to trust, and the client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
  auth?: { username: string; password: string };
}

export type DatastoreTarget =
  | { kind: 'memory' }
  | { kind: 'etcd'; tls: boolean; /** host:port, IPv6 hosts in brackets; or one unix:///abs/path */ endpoints: string[] };

const DEFAULT_ETCD_PORT = 2379;

/** Parses a datastore URL without opening anything. */
export function parseDatastoreUrl(url: string): DatastoreTarget {
  const text = url.trim();
  if (text === '') throw new DatastoreUrlError(url, 'it is empty; use etcd://HOST:PORT, etcds://HOST:PORT or memory:');
  if (text === 'memory:' || text === 'memory://') return { kind: 'memory' };
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  if (!match) throw new DatastoreUrlError(url, 'not a URL; use etcd://HOST:PORT, etcds://HOST:PORT or memory:');
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'etcd+unix') return { kind: 'etcd', tls: false, endpoints: [parseUnixSocketPath(url, match[2]!)] };
  if (scheme !== 'etcd' && scheme !== 'etcds') {
    throw new DatastoreUrlError(url, `unknown scheme "${scheme}:"; use etcd://, etcds://, etcd+unix:// or memory:`);
  }
  const rest = match[2]!.replace(/\/+$/, '');
  if (rest.includes('/') || rest.includes('?') || rest.includes('@')) {
    throw new DatastoreUrlError(url, 'only HOST:PORT endpoints separated by commas may follow the scheme (no path, query or user)');
  }
  if (rest === '') throw new DatastoreUrlError(url, 'no endpoint given');
  const endpoints = rest.split(',').map((part) => parseEndpoint(url, part.trim()));
  return { kind: 'etcd', tls: scheme === 'etcds', endpoints };
}

/**
 * etcd+unix:///abs/path: one absolute socket path, given to the etcd client (gRPC) as
 * unix:///abs/path. etcd itself insists on a host:port form for unix listeners, so the file
 * it makes is usually named like `etcd.sock:1`; the name is taken as it is.
 */
function parseUnixSocketPath(url: string, rest: string): string {
  if (rest === '' || rest === '/') throw new DatastoreUrlError(url, 'no socket path given; use etcd+unix:///ABSOLUTE/PATH');
  if (!rest.startsWith('/')) {
    throw new DatastoreUrlError(url, `socket path "${rest}" is not absolute; use etcd+unix:///ABSOLUTE/PATH (three slashes)`);
  }
  if (rest.endsWith('/')) throw new DatastoreUrlError(url, `socket path "${rest}" names a folder, not a socket file`);
  if (/[,?#\s]/.test(rest)) throw new DatastoreUrlError(url, `socket path "${rest}": one path only, without commas, spaces, query or fragment`);
  return `unix://${rest}`;
}

function parseEndpoint(url: string, part: string): string {
  if (part === '') throw new DatastoreUrlError(url, 'an empty endpoint between commas');
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(.*))?$/i.exec(part);
  if (v6) {
    host = `[${v6[1]}]`;
    portText = v6[2];
  } else {
    const pieces = part.split(':');
    if (pieces.length > 2) throw new DatastoreUrlError(url, `endpoint "${part}": put an IPv6 address in brackets, as [::1]:2379`);
    host = pieces[0]!;
    portText = pieces[1];
  }
  if (host === '' || !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/i.test(host)) {
    throw new DatastoreUrlError(url, `endpoint "${part}": "${host}" is not a host name or address`);
  }
  let port = DEFAULT_ETCD_PORT;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new DatastoreUrlError(url, `endpoint "${part}": port "${portText}" is not a number from 1 to 65535`);
  }
  return `${host}:${port}`;
}

async function readPem(url: string, what: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UserError(`datastore ${url}: cannot read the ${what} file "${path}": ${reason}`);
  }
}

/** Opens the datastore a URL names. Bad URLs and unreadable TLS files throw UserErrors. */
export async function openKV(url: string, options: OpenKVOptions = {}): Promise<KV> {
  const target = parseDatastoreUrl(url);
  if (target.kind === 'memory') {
    if (options.tls && Object.values(options.tls).some((v) => v !== undefined)) {
      throw new DatastoreUrlError(url, 'TLS files were given, but memory: takes none');
    }
    return new MemoryKV();
  }
  const tlsFiles = options.tls ?? {};
  const anyTls = tlsFiles.ca !== undefined || tlsFiles.cert !== undefined || tlsFiles.key !== undefined;
  if (anyTls && !target.tls) throw new DatastoreUrlError(url, 'TLS files were given: use etcds:// to connect with TLS');
  if ((tlsFiles.cert === undefined) !== (tlsFiles.key === undefined)) {
    throw new DatastoreUrlError(url, 'a client certificate and its key go together: give both or neither');
  }
  let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  if (target.tls) {
    tls = {};
    if (tlsFiles.ca !== undefined) tls.ca = await readPem(url, 'CA', tlsFiles.ca);
    if (tlsFiles.cert !== undefined) tls.cert = await readPem(url, 'client certificate', tlsFiles.cert);
    if (tlsFiles.key !== undefined) tls.key = await readPem(url, 'client key', tlsFiles.key);
  }
  // Loaded on demand: gRPC costs a CLI start that only needs memory: nothing.
  const { EtcdKV } = await import('./etcd.js');
  return new EtcdKV({ endpoints: target.endpoints, tls, auth: options.auth });
}

/** The datastore URL from TORTIE_DATASTORE, or undefined when it is unset or empty. */
export function datastoreUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[DATASTORE_ENV]?.trim();
  return value ? value : undefined;
}
