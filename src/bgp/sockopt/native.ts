/**
 * Loads the socket-option addon (native/sockopt.c, built by `npm run build` into
 * build/Release/tortie_sockopt.node). The addon is found by walking up from this module, so
 * the same code works from src/ under ts-node and from dist/ after a build.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The raw addon: thin wrappers over socket(2), bind(2), setsockopt(2), getsockopt(2). */
export interface SockoptAddon {
  /** Installs (non-empty key) or deletes (empty key) the TCP MD5 key for one peer address. */
  setTcpMd5Sig(fd: number, peerAddress: string, key: Buffer): void;
  /** IP_TTL, or IPV6_UNICAST_HOPS (and IP_TTL for v4-mapped peers) on an IPv6 socket. */
  setTtl(fd: number, ttl: number): void;
  /** IP_MINTTL, or IPV6_MINHOPCOUNT (and IP_MINTTL for v4-mapped peers) on an IPv6 socket. */
  setMinTtl(fd: number, ttl: number): void;
  getHopOption(fd: number, which: 'ttl' | 'minttl'): number;
  /** A new non-blocking close-on-exec TCP socket, bound when bindAddress is given. */
  createTcpSocket(family: 4 | 6, bindAddress?: string, bindPort?: number): number;
  closeFd(fd: number): void;
}

const ADDON_PATH = join('build', 'Release', 'tortie_sockopt.node');

let cached: SockoptAddon | undefined;

function findAddon(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ADDON_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function sockoptAddon(): SockoptAddon {
  if (cached) return cached;
  const path = findAddon();
  if (!path) {
    throw new Error(
      `the socket-option addon (${ADDON_PATH}) is not built: run "npm run build" (it needs make, g++ and python3)`,
    );
  }
  cached = createRequire(import.meta.url)(path) as SockoptAddon;
  return cached;
}
