/**
 * FRR's bgpd (Debian's frr package) as a real BGP peer inside a test's network namespace.
 *
 * bgpd runs alone: no zebra (-Z), no kernel routes (-n), root without dropping privileges
 * (-S), its vty socket, pid file and config in a private temp folder so that nothing is
 * shared with another run or a system FRR. Timers are short so tests do not look hung
 * (FRR's default connect retry is 30 s).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { NetnsProcess, NetnsScope } from '../../../src/kernel/index.js';
import { waitFor } from '../wait.js';

export const FRR_BGPD = '/usr/lib/frr/bgpd';

export interface FrrNeighbor {
  address: string;
  asn: number;
  /** FRR waits for us to connect. */
  passive?: boolean;
  /** TCP MD5 key (RFC 2385). */
  password?: string;
  /** GTSM (RFC 5082): the peer is at most this many hops away. */
  ttlSecurityHops?: number;
  /** keepalive/hold in seconds (default 1/3). */
  timers?: { keepalive: number; hold: number };
  /** Where FRR connects from, when the namespace has several addresses. */
  updateSource?: string;
  families?: ('ipv4' | 'ipv6')[];
  /** Make FRR a route server for this neighbour (transparent AS path and next hop). */
  routeServerClient?: boolean;
}

export interface FrrOptions {
  asn: number;
  routerId: string;
  neighbors: FrrNeighbor[];
  /** Prefixes FRR originates, e.g. "10.9.0.0/24" or "2001:db8:9::/48". */
  networks?: string[];
  /** Lines added at the end of `router bgp`. */
  extraRouterConfig?: string[];
  /** Top-level lines after `router bgp` (route-maps, prefix-lists). */
  globalConfig?: string[];
}

export interface FrrRoute {
  prefix: string;
  nextHops: string[];
  asPath: string;
  best: boolean;
}

export class Frr {
  constructor(
    readonly netns: string,
    readonly dir: string,
    readonly process: NetnsProcess,
    readonly config: string,
  ) {}

  /** Runs one vtysh command against this bgpd and returns its output. */
  async vtysh(command: string): Promise<string> {
    const result = await execa('vtysh', ['--vty_socket', this.dir, '-d', 'bgpd', '-c', command], { timeout: 15_000 });
    return result.stdout;
  }

  async json<T = unknown>(command: string): Promise<T> {
    return JSON.parse(await this.vtysh(`${command} json`)) as T;
  }

  /** FRR's view of a neighbour: state ("Established", "Active", ...), last NOTIFICATION sent/received. */
  async neighbor(address: string): Promise<FrrNeighborStatus> {
    const all = await this.json<Record<string, RawNeighbor>>(`show bgp neighbors ${address}`);
    const raw = all[address];
    if (raw === undefined) throw new Error(`FRR in ${this.netns} has no neighbour ${address}`);
    return {
      state: raw.bgpState,
      lastNotificationReason: raw.lastNotificationReason,
      lastErrorCodeSubcode: raw.lastErrorCodeSubcode,
      prefixesReceived: Object.values(raw.addressFamilyInfo ?? {}).reduce((n, f) => n + (f.acceptedPrefixCounter ?? 0), 0),
      raw,
    };
  }

  async waitForState(address: string, state: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.neighbor(address)).state === state, {
      timeoutMs,
      intervalMs: 200,
      what: `FRR in ${this.netns}: neighbour ${address} ${state}`,
    });
  }

  /** The BGP table of one family, keyed by prefix. */
  async routes(family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<Map<string, FrrRoute>> {
    const table = await this.json<{ routes?: Record<string, RawPath[]> }>(`show bgp ${family} unicast`);
    const out = new Map<string, FrrRoute>();
    for (const [prefix, paths] of Object.entries(table.routes ?? {})) {
      const best = paths.find((p) => p.bestpath) ?? paths[0];
      if (best === undefined) continue;
      out.set(prefix, {
        prefix,
        nextHops: (best.nexthops ?? []).map((n) => n.ip),
        asPath: best.path ?? '',
        best: best.bestpath === true,
      });
    }
    return out;
  }

  /** Freezes bgpd (SIGSTOP) so that it neither reads nor sends: its peers' hold timers run out. */
  freeze(): void {
    process.kill(this.process.pid, 'SIGSTOP');
  }

  thaw(): void {
    process.kill(this.process.pid, 'SIGCONT');
  }

  async stop(): Promise<void> {
    try {
      process.kill(this.process.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await this.process.stop(2000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface FrrNeighborStatus {
  state: string;
  lastNotificationReason?: string;
  lastErrorCodeSubcode?: string;
  prefixesReceived: number;
  raw: RawNeighbor;
}

interface RawNeighbor {
  bgpState: string;
  lastNotificationReason?: string;
  lastErrorCodeSubcode?: string;
  addressFamilyInfo?: Record<string, { acceptedPrefixCounter?: number }>;
  [key: string]: unknown;
}

interface RawPath {
  bestpath?: boolean;
  path?: string;
  nexthops?: { ip: string }[];
}

export function frrConfig(options: FrrOptions): string {
  const lines = [
    'frr defaults traditional',
    'hostname frr',
    'log stdout informational',
    '!',
    `router bgp ${options.asn}`,
    ` bgp router-id ${options.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
    ' bgp graceful-restart',
  ];
  for (const n of options.neighbors) {
    const t = n.timers ?? { keepalive: 1, hold: 3 };
    lines.push(` neighbor ${n.address} remote-as ${n.asn}`);
    lines.push(` neighbor ${n.address} timers ${t.keepalive} ${t.hold}`);
    lines.push(` neighbor ${n.address} timers connect 1`);
    lines.push(` neighbor ${n.address} advertisement-interval 0`);
    if (n.passive) lines.push(` neighbor ${n.address} passive`);
    if (n.password !== undefined) lines.push(` neighbor ${n.address} password ${n.password}`);
    if (n.ttlSecurityHops !== undefined) lines.push(` neighbor ${n.address} ttl-security hops ${n.ttlSecurityHops}`);
    if (n.updateSource !== undefined) lines.push(` neighbor ${n.address} update-source ${n.updateSource}`);
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    lines.push(` address-family ${family} unicast`);
    for (const n of options.neighbors) {
      if (!(n.families ?? ['ipv4']).includes(family)) continue;
      lines.push(`  neighbor ${n.address} activate`);
      if (n.routeServerClient) lines.push(`  neighbor ${n.address} route-server-client`);
    }
    for (const net of options.networks ?? []) {
      if (net.includes(':') === (family === 'ipv6')) lines.push(`  network ${net}`);
    }
    lines.push(' exit-address-family');
  }
  lines.push(...(options.extraRouterConfig ?? []).map((l) => ` ${l}`));
  lines.push('!', ...(options.globalConfig ?? []), '!');
  return `${lines.join('\n')}\n`;
}

/** Starts bgpd in `netns` (a namespace of `scope`) and waits until its vty answers. */
export async function startFrr(scope: NetnsScope, netns: string, options: FrrOptions): Promise<Frr> {
  const dir = mkdtempSync(join(tmpdir(), 'tortie-frr-'));
  const config = frrConfig(options);
  const configFile = join(dir, 'bgpd.conf');
  writeFileSync(configFile, config);
  const proc = await scope.spawn(netns, FRR_BGPD, [
    '-f', configFile,
    '-i', join(dir, 'bgpd.pid'),
    '-z', join(dir, 'zserv.api'),
    '--vty_socket', dir,
    '-S', // stay root; no capability juggling
    '-P', '0', // no TCP vty
    '-Z', // no zebra: FRR is only a BGP peer here
    '-n', // never touch the kernel's routes
    '--log', 'stdout',
  ], { logFile: join(dir, 'bgpd.log') });
  const frr = new Frr(netns, dir, proc, config);
  try {
    await waitFor(async () => {
      if (proc.exit !== undefined) throw new Error(`bgpd exited: ${proc.output().slice(-500)}`);
      await frr.vtysh('show bgp summary');
      return true;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `FRR bgpd in ${netns} to answer on its vty` });
  } catch (err) {
    await frr.stop();
    throw err;
  }
  return frr;
}
