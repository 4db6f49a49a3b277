/**
 * What a running lab looks like: its nodes (namespace present, processes alive, fabric
 * addresses), its BGP sessions (FRR's `show bgp summary json`, a tortie host's
 * `tortie node status -o json`) and its workloads.
 */
import { run } from '../kernel/exec.js';
import { netnsExists } from '../kernel/netns.js';
import { frrSessions } from './frr.js';
import { callControl } from '../common/control-socket.js';
import { isAlive, type LabState } from './state.js';

export interface SessionView {
  /** The topology node the session belongs to. */
  node: string;
  peer: string;
  peerAs?: number;
  /** "Established", "Active", "Connect", ... or "unknown" / "no answer". */
  state: string;
  info?: string;
}

export interface NodeView {
  name: string;
  role: string;
  netns?: string;
  present: boolean;
  processes: { what: string; pid: number; alive: boolean }[];
  addresses: string[];
}

export interface LabStatus {
  lab: string;
  file: string;
  phase: string;
  datastore?: string;
  nodes: NodeView[];
  sessions: SessionView[];
  workloads: { name: string; node: string; netns: string; present: boolean; ips: string[]; labels: Record<string, string> }[];
}

interface RawPeer {
  [key: string]: unknown;
}

/** Reads a peer list in whatever shape `node status -o json` gives: a list, or {peers: [...]}. */
export function parseNodeStatus(json: unknown): { peer: string; peerAs?: number; state: string; info?: string }[] {
  const list: unknown = Array.isArray(json) ? json : (json as { peers?: unknown; bgp?: { peers?: unknown } } | null)?.peers ?? (json as { bgp?: { peers?: unknown } } | null)?.bgp?.peers;
  if (!Array.isArray(list)) return [];
  return (list as RawPeer[]).map((p) => {
    const peer = String(p.address ?? p.peer ?? p.peerAddress ?? p.peerIP ?? '?');
    const asn = p.asn ?? p.peerAs ?? p.remoteAs ?? p.asNumber;
    let state = String(p.state ?? p.sessionState ?? 'unknown');
    let info = p.info ?? p.lastError ?? p.error;
    // tortie node status says "up"/"start" as BIRD does, with the FSM state first in info.
    if ((state === 'up' || state === 'start') && typeof info === 'string' && info) {
      const [first, ...rest] = info.split(' ');
      state = first!;
      info = rest.join(' ') || undefined;
    }
    return { peer, peerAs: typeof asn === 'number' ? asn : asn !== undefined ? Number(asn) : undefined, state, info: info === undefined || info === null ? undefined : String(info) };
  });
}

export async function collectSessions(state: LabState): Promise<SessionView[]> {
  const out: SessionView[] = [];
  await Promise.all(
    state.nodes.map(async (n) => {
      if (n.role === 'frr') {
        try {
          for (const s of await frrSessions(n.dir)) out.push({ node: n.name, peer: s.peer, peerAs: s.remoteAs, state: s.state, info: s.uptime && s.state === 'Established' ? `up ${s.uptime}` : undefined });
        } catch (err) {
          out.push({ node: n.name, peer: '-', state: 'no answer', info: (err as Error).message });
        }
      } else if (n.role === 'host' && n.socket) {
        try {
          // What `tortie node status -o json` prints, straight from the daemon's socket.
          const status = await callControl(n.socket, 'GET', '/status');
          for (const p of parseNodeStatus(status)) out.push({ node: n.name, ...p });
        } catch (err) {
          out.push({ node: n.name, peer: '-', state: 'no answer', info: (err as Error).message });
        }
      }
    }),
  );
  const order = new Map(state.nodes.map((n, i) => [n.name, i]));
  return out.sort((a, b) => (order.get(a.node)! - order.get(b.node)!) || a.peer.localeCompare(b.peer, undefined, { numeric: true }));
}

export async function labStatus(state: LabState, options: { sessions?: boolean } = {}): Promise<LabStatus> {
  const nodes: NodeView[] = [];
  for (const n of state.nodes) {
    const present = n.netns ? netnsExists(n.netns) : false;
    let addresses: string[] = [];
    if (present && n.netns && n.role !== 'bridge') {
      try {
        const links = JSON.parse((await run('ip', ['-n', n.netns, '-j', 'addr', 'show'])) || '[]') as { ifname: string; addr_info?: { local: string; prefixlen: number; scope?: string }[] }[];
        addresses = links.filter((l) => l.ifname !== 'lo').flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
      } catch {
        addresses = [];
      }
    }
    nodes.push({
      name: n.name,
      role: n.role,
      netns: n.netns,
      present,
      processes: state.processes.filter((p) => p.node === n.name).map((p) => ({ what: p.what.replace(`${n.name}: `, ''), pid: p.pid, alive: isAlive(p) })),
      addresses,
    });
  }
  const etcd = state.processes.find((p) => p.what === 'etcd');
  if (etcd) nodes.unshift({ name: 'etcd', role: 'etcd', present: true, processes: [{ what: 'etcd', pid: etcd.pid, alive: isAlive(etcd) }], addresses: state.datastore ? [state.datastore.url] : [] });
  return {
    lab: state.lab,
    file: state.file,
    phase: state.phase,
    datastore: state.datastore?.url,
    nodes,
    sessions: options.sessions === false ? [] : await collectSessions(state),
    workloads: state.workloads.map((w) => ({ name: w.short, node: w.node, netns: w.netns, present: netnsExists(w.netns), ips: w.ips, labels: w.labels })),
  };
}
