/**
 * `GET /status` on the node socket, and its table as `tortie node status` prints it, after
 * `calicoctl node status`: one table per family, peer address, type, state (BIRD's "up" /
 * "start"), since, info (the BGP state, and the last error when there is one).
 */
import type { PeerStatus } from '../bgp/speaker/speaker.js';
import type { PeerOrigin, PeerType } from './bgp-config.js';

export interface NodePeerStatus {
  address: string;
  type: PeerType;
  asn: number;
  /** "up" once Established, else "start", as BIRD says. */
  state: 'up' | 'start';
  /** ISO time of the last state change. */
  since: string;
  /** "Established", or the FSM state and the last error. */
  info: string;
  node?: string;
  resource?: string;
  prefixes: { accepted: number; advertised: number };
}

export interface NodeStatus {
  name: string;
  pid: number;
  asNumber: number;
  routerId: string;
  ipv4Address: string | null;
  ipv6Address: string | null;
  listenPort: number | null;
  peers: NodePeerStatus[];
  originated: number;
  felix: { ready: boolean; inSync: boolean; applies: number; failures: number; lastError?: string };
  fib: { installed: number; restarting: boolean };
  /** Things asked for in the datastore that tortie could not configure. */
  notes: string[];
}

export function peerRow(p: PeerStatus, origin: PeerOrigin | undefined): NodePeerStatus {
  const established = p.state === 'Established';
  return {
    address: p.address,
    type: origin?.type ?? 'global',
    asn: p.asn,
    state: established ? 'up' : 'start',
    since: p.since,
    info: established || !p.lastError ? p.state : `${p.state} ${p.lastError}`,
    ...(origin?.node ? { node: origin.node } : {}),
    ...(origin?.resource ? { resource: origin.resource } : {}),
    prefixes: { accepted: p.prefixes.accepted, advertised: p.prefixes.advertised },
  };
}

/** HH:MM:SS for today, else the date, as BIRD shows times. */
function sinceText(iso: string, now: Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function boxTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line, fmt(headers), line, ...rows.map(fmt), line].join('\n');
}

export function formatNodeStatus(s: NodeStatus, now = new Date()): string {
  const out: string[] = [];
  out.push(`tortie node ${s.name} is running (pid ${s.pid}, AS ${s.asNumber}, router id ${s.routerId}).`);
  const addresses = [s.ipv4Address, s.ipv6Address].filter((a) => a !== null).join(', ');
  out.push(`Addresses: ${addresses || 'none'}; ${s.originated} prefix(es) announced; felix ${s.felix.ready ? 'ready' : 'not ready'}${s.felix.lastError ? ` (${s.felix.lastError})` : ''}; ${s.fib.installed} BGP route(s) in the kernel${s.fib.restarting ? ' (graceful restart: stale routes kept)' : ''}.`);
  for (const [family, title] of [['4', 'IPv4 BGP status'], ['6', 'IPv6 BGP status']] as const) {
    const peers = s.peers.filter((p) => (family === '6') === p.address.includes(':'));
    out.push('', title);
    if (peers.length === 0) {
      out.push(`No IPv${family} peers found.`);
      continue;
    }
    out.push(boxTable(['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'], peers.map((p) => [p.address, p.type, p.state, sinceText(p.since, now), p.info])));
  }
  if (s.notes.length > 0) out.push('', 'Not configured as asked:', ...s.notes.map((n) => `  - ${n}`));
  return `${out.join('\n')}\n`;
}
