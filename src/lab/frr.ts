/**
 * FRR nodes without Docker: Debian's zebra and bgpd (and staticd when the daemons file asks
 * for it) started inside the node's namespace with the frr.conf the topology binds to
 * /etc/frr/frr.conf, every socket and pid file in the node's own folder (--vty_socket, -z,
 * -i), so that nothing is shared with another node or a system FRR.
 *
 * zebra refuses to run as root: it runs as user frr, and the folder belongs to frr. bgpd
 * runs as root without dropping privileges (-S), with no TCP vty (-P 0). Both read the whole
 * integrated frr.conf and ignore the other daemon's lines, as the frrouting/frr image's
 * daemons do with `frr.conf` when vtysh is not used to boot.
 */
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../common/errors.js';
import { startDetached } from './proc.js';
import type { ProcessRecord } from './state.js';
import type { LabNode } from './topology.js';

const FRR_DIR = '/usr/lib/frr';

export function frrConfigSource(node: LabNode): string {
  const bind = node.binds.find((b) => b.target === '/etc/frr/frr.conf');
  if (!bind) throw new UserError(`node ${node.name}: an FRR node needs a bind to /etc/frr/frr.conf (e.g. "${node.name}/frr.conf:/etc/frr/frr.conf")`);
  if (!existsSync(bind.source)) throw new UserError(`node ${node.name}: bound frr.conf ${bind.source} does not exist`);
  return bind.source;
}

/** The daemons the bound daemons file turns on (bgpd, staticd ...); zebra always runs. */
export function enabledDaemons(node: LabNode): string[] {
  const bind = node.binds.find((b) => b.target === '/etc/frr/daemons');
  if (!bind) return ['bgpd'];
  const text = readFileSync(bind.source, 'utf8');
  const on = [...text.matchAll(/^\s*(\w+d)\s*=\s*yes\b/gm)].map((m) => m[1]!);
  const supported: string[] = on.filter((d) => d === 'bgpd' || d === 'staticd');
  const unsupported = on.filter((d) => !supported.includes(d) && d !== 'zebra');
  if (unsupported.length) throw new UserError(`node ${node.name}: daemons file ${bind.source} turns on ${unsupported.join(', ')}; tortie lab runs zebra, bgpd and staticd only`);
  return supported;
}

export function frrUserIds(): { uid: number; gid: number } {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const m = /^frr:[^:]*:(\d+):(\d+):/m.exec(passwd);
  if (!m) throw new UserError('FRR is not installed (no user frr); run scripts/setup.sh or apt-get install frr');
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Starts zebra and the enabled daemons in `netns`; returns their records as each starts. */
export async function startFrrNode(node: LabNode, netns: string, dir: string, record: (p: ProcessRecord) => void): Promise<void> {
  const source = frrConfigSource(node);
  const daemons = enabledDaemons(node);
  const { uid, gid } = frrUserIds();
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  const conf = join(dir, 'frr.conf');
  copyFileSync(source, conf);
  chownSync(conf, uid, gid);
  const common = (d: string) => ['-f', conf, '-i', join(dir, `${d}.pid`), '-z', join(dir, 'zserv.api'), '--vty_socket', dir, '-P', '0', '--log', 'stdout'];
  record(await startDetached(join(FRR_DIR, 'zebra'), [...common('zebra'), '-u', 'frr', '-g', 'frr'], { netns, log: join(dir, 'zebra.log'), what: 'zebra', node: node.name }));
  await waitVty(dir, 'zebra', node.name);
  for (const d of daemons) {
    record(await startDetached(join(FRR_DIR, d), [...common(d), '-S'], { netns, log: join(dir, `${d}.log`), what: d, node: node.name }));
  }
  for (const d of daemons) await waitVty(dir, d, node.name);
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ') || '(empty)';
  } catch {
    return '(no log)';
  }
}

async function waitVty(dir: string, daemon: string, node: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await vtysh(dir, 'show version', daemon);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new UserError(`node ${node}: FRR ${daemon} did not answer on its vty within 15 s (${(err as Error).message}); its log ends: ${logTail(join(dir, `${daemon}.log`))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** One vtysh command against a node's FRR; `daemon` limits it to one daemon. */
export async function vtysh(dir: string, command: string, daemon?: string): Promise<string> {
  const args = ['--vty_socket', dir, ...(daemon ? ['-d', daemon] : []), '-c', command];
  const r = await execa('vtysh', args, { timeout: 10_000, reject: false });
  if (r.exitCode !== 0) throw new UserError(`vtysh ${command}: ${String(r.stderr || r.stdout).trim().split('\n')[0]}`);
  return String(r.stdout);
}

export interface FrrSession {
  peer: string;
  remoteAs: number;
  state: string;
  prefixesReceived?: number;
  uptime?: string;
}

/** FRR's BGP sessions, from `show bgp summary json`. */
export async function frrSessions(dir: string): Promise<FrrSession[]> {
  const out = JSON.parse(await vtysh(dir, 'show bgp summary json', 'bgpd')) as Record<string, { peers?: Record<string, { remoteAs?: number; state?: string; pfxRcd?: number; peerUptime?: string }> }>;
  const seen = new Map<string, FrrSession>();
  for (const family of Object.values(out)) {
    for (const [peer, p] of Object.entries(family?.peers ?? {})) {
      if (!seen.has(peer)) seen.set(peer, { peer, remoteAs: p.remoteAs ?? 0, state: p.state ?? 'unknown', prefixesReceived: p.pfxRcd, uptime: p.peerUptime });
    }
  }
  return [...seen.values()];
}
