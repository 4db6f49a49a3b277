/**
 * `tortie lab graph`: the topology as an SVG picture. Rows by role (routers, then segments,
 * then hosts, then workloads), links as grey lines with their interface names, BGP sessions
 * as dashed arcs: green when Established, red otherwise, labelled with the state. Pure: it
 * takes a topology and a status and returns text.
 */
import type { LabStatus } from './status.js';
import type { Topology } from './topology.js';

interface Box {
  id: string;
  label: string;
  sub: string;
  kind: string;
  x: number;
  y: number;
}

const W = 150;
const H = 46;
const GAP_X = 40;
const ROW_Y = 130;
const MARGIN = 40;

const COLORS: Record<string, string> = { frr: '#fde7c8', bridge: '#e6e6e6', host: '#d6ecff', plain: '#eeeeee', workload: '#e3f7e3' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function rank(role: string): number {
  return role === 'frr' ? 0 : role === 'bridge' || role === 'plain' ? 1 : role === 'host' ? 2 : 3;
}

export interface GraphInput {
  topology: Topology;
  status?: LabStatus;
}

export function renderSvg({ topology, status }: GraphInput): string {
  const rows = new Map<number, Box[]>();
  const put = (r: number, b: Omit<Box, 'x' | 'y'>) => {
    const row = rows.get(r) ?? [];
    row.push({ ...b, x: 0, y: 0 });
    rows.set(r, row);
  };
  const addrOf = new Map<string, string>();
  for (const n of status?.nodes ?? []) for (const a of n.addresses) addrOf.set(a.split(' ').pop()!.split('/')[0]!, n.name);
  for (const n of topology.nodes) {
    if (n.role === 'etcd') continue;
    const view = status?.nodes.find((v) => v.name === n.name);
    const addr = view?.addresses.find((a) => a.startsWith('eth'))?.split(' ')[1] ?? '';
    const sub = n.role === 'bridge' ? 'bridge' : `${n.role === 'host' ? 'tortie' : n.role}${addr ? ` ${addr}` : ''}`;
    put(rank(n.role), { id: n.name, label: n.name, sub, kind: n.role });
  }
  for (const w of status?.workloads ?? []) put(3, { id: `wl:${w.name}`, label: w.name, sub: w.ips.join(' '), kind: 'workload' });
  // Hosts in topology order; workloads under their host.
  const hostOrder = (rows.get(2) ?? []).map((b) => b.id);
  rows.get(3)?.sort((a, b) => {
    const na = status?.workloads.find((w) => `wl:${w.name}` === a.id)?.node ?? '';
    const nb = status?.workloads.find((w) => `wl:${w.name}` === b.id)?.node ?? '';
    return hostOrder.indexOf(na) - hostOrder.indexOf(nb);
  });
  const ranks = [...rows.keys()].sort();
  const widest = Math.max(...[...rows.values()].map((r) => r.length));
  const width = Math.max(600, MARGIN * 2 + widest * (W + GAP_X) - GAP_X);
  const boxes = new Map<string, Box>();
  ranks.forEach((r, i) => {
    const row = rows.get(r)!;
    const rowWidth = row.length * (W + GAP_X) - GAP_X;
    row.forEach((b, j) => {
      b.x = (width - rowWidth) / 2 + j * (W + GAP_X);
      b.y = MARGIN + 30 + i * ROW_Y;
      boxes.set(b.id, b);
    });
  });
  const height = MARGIN + 30 + ranks.length * ROW_Y + 40;
  const center = (b: Box) => ({ x: b.x + W / 2, y: b.y + H / 2 });
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${MARGIN}" y="${MARGIN}" font-size="18" font-weight="bold">lab ${esc(topology.name)}</text>`);
  const established = (status?.sessions ?? []).filter((s) => s.state === 'Established').length;
  if (status) parts.push(`<text x="${width - MARGIN}" y="${MARGIN}" font-size="12" text-anchor="end" fill="#555">${established}/${status.sessions.length} BGP sessions Established</text>`);
  // Links.
  for (const l of topology.links) {
    const a = boxes.get(l.a.node);
    const b = boxes.get(l.b.node);
    if (!a || !b) continue;
    const ca = center(a);
    const cb = center(b);
    parts.push(`<line x1="${ca.x}" y1="${ca.y}" x2="${cb.x}" y2="${cb.y}" stroke="#888" stroke-width="2"/>`);
    const lab = (from: { x: number; y: number }, to: { x: number; y: number }, text: string) => {
      const x = from.x + (to.x - from.x) * 0.28;
      const y = from.y + (to.y - from.y) * 0.28;
      parts.push(`<text x="${x}" y="${y}" font-size="10" fill="#666" text-anchor="middle">${esc(text)}</text>`);
    };
    lab(ca, cb, l.a.iface);
    lab(cb, ca, l.b.iface);
  }
  // Workload to host.
  for (const w of status?.workloads ?? []) {
    const a = boxes.get(`wl:${w.name}`);
    const b = boxes.get(w.node);
    if (!a || !b) continue;
    parts.push(`<line x1="${center(a).x}" y1="${a.y}" x2="${center(b).x}" y2="${b.y + H}" stroke="#7a7" stroke-width="1.5"/>`);
  }
  // Sessions, one arc per pair of nodes.
  const pairs = new Map<string, { a: string; b: string; states: string[] }>();
  for (const s of status?.sessions ?? []) {
    const other = addrOf.get(s.peer);
    if (!other || other === s.node) continue;
    const key = [s.node, other].sort().join('|');
    const p = pairs.get(key) ?? { a: s.node, b: other, states: [] };
    p.states.push(s.state);
    pairs.set(key, p);
  }
  for (const p of pairs.values()) {
    const a = boxes.get(p.a);
    const b = boxes.get(p.b);
    if (!a || !b) continue;
    const ok = p.states.every((s) => s === 'Established');
    const state = ok ? 'Established' : p.states.find((s) => s !== 'Established')!;
    const ca = center(a);
    const cb = center(b);
    const mx = (ca.x + cb.x) / 2;
    const my = (ca.y + cb.y) / 2 - (ca.y === cb.y ? 40 + Math.abs(ca.x - cb.x) / 6 : 0);
    const cx = ca.y === cb.y ? mx : mx + 40;
    parts.push(`<path d="M ${ca.x} ${ca.y} Q ${cx} ${my} ${cb.x} ${cb.y}" fill="none" stroke="${ok ? '#2a9d3a' : '#d33'}" stroke-width="2" stroke-dasharray="6 4"><title>${esc(`${p.a} - ${p.b}: ${state}`)}</title></path>`);
    if (!ok) parts.push(`<text x="${cx}" y="${my}" font-size="10" fill="#d33" text-anchor="middle">${esc(state)}</text>`);
  }
  // Boxes last, over the lines.
  for (const b of boxes.values()) {
    const alive = status?.nodes.find((n) => n.name === b.id);
    const dead = alive !== undefined && (!alive.present || alive.processes.some((p) => !p.alive));
    parts.push(`<g><rect x="${b.x}" y="${b.y}" width="${W}" height="${H}" rx="8" fill="${COLORS[b.kind] ?? '#eee'}" stroke="${dead ? '#d33' : '#333'}" stroke-width="${dead ? 2.5 : 1.2}"/>`);
    parts.push(`<text x="${b.x + W / 2}" y="${b.y + 19}" font-size="14" font-weight="bold" text-anchor="middle">${esc(b.label)}</text>`);
    parts.push(`<text x="${b.x + W / 2}" y="${b.y + 36}" font-size="10" text-anchor="middle" fill="#333">${esc(b.sub)}</text></g>`);
  }
  // Legend.
  const ly = height - 18;
  parts.push(`<line x1="${MARGIN}" y1="${ly}" x2="${MARGIN + 30}" y2="${ly}" stroke="#888" stroke-width="2"/><text x="${MARGIN + 36}" y="${ly + 4}" font-size="11">link</text>`);
  parts.push(`<line x1="${MARGIN + 90}" y1="${ly}" x2="${MARGIN + 120}" y2="${ly}" stroke="#2a9d3a" stroke-width="2" stroke-dasharray="6 4"/><text x="${MARGIN + 126}" y="${ly + 4}" font-size="11">BGP Established</text>`);
  parts.push(`<line x1="${MARGIN + 240}" y1="${ly}" x2="${MARGIN + 270}" y2="${ly}" stroke="#d33" stroke-width="2" stroke-dasharray="6 4"/><text x="${MARGIN + 276}" y="${ly + 4}" font-size="11">BGP not Established</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
