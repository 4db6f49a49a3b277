/**
 * containerlab topology files (FILE.clab.yml), read the way containerlab reads them and
 * reduced to what a lab without Docker needs: nodes with their kind, role, binds, exec,
 * cmd, env and sysctls, and point-to-point links between "node:interface" endpoints.
 *
 * A node's role says how `tortie lab up` realizes it:
 *   host    a tortie host: runs its `cmd` (`tortie node run ...`) in its namespace
 *   frr     an FRR router: zebra and bgpd started with the bound frr.conf
 *   etcd    the lab's datastore: replaced by an etcd that tortie starts itself
 *   plain   any other linux node: a namespace, its links and its exec commands
 *   bridge  kind bridge: a Linux bridge in a namespace of its own
 * The label `tortie.role` names the role; without it, the image decides (frrouting/frr ->
 * frr, an etcd image -> etcd, a tortie image -> host, anything else -> plain).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../common/errors.js';
import { checkIfName } from '../kernel/names.js';

export type NodeRole = 'host' | 'frr' | 'etcd' | 'plain' | 'bridge';

export class TopologyError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

export interface Bind {
  /** Absolute path on this machine. */
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly: boolean;
}

export interface LabNode {
  name: string;
  kind: string;
  role: NodeRole;
  image?: string;
  binds: Bind[];
  exec: string[];
  cmd?: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  sysctls: Record<string, string>;
  mgmtIpv4?: string;
}

export interface Endpoint {
  node: string;
  iface: string;
}

export interface LabLink {
  a: Endpoint;
  b: Endpoint;
  mtu?: number;
}

export interface Topology {
  name: string;
  /** The topology file, absolute. */
  file: string;
  /** Its folder: relative binds start here. */
  dir: string;
  nodes: LabNode[];
  links: LabLink[];
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new TopologyError(`${where}: expected a list of strings`);
  return v as string[];
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new TopologyError(`${where}: expected a map`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') throw new TopologyError(`${where}.${k}: expected a string or number`);
    out[k] = String(val);
  }
  return out;
}

/** containerlab merges defaults <- kinds[kind] <- node; maps merge key by key, lists and scalars replace. */
function merge(...layers: (Raw | undefined)[]): Raw {
  const out: Raw = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      out[k] = isObject(v) && isObject(out[k]) ? { ...(out[k] as Raw), ...v } : v;
    }
  }
  return out;
}

export function roleOf(kind: string, image: string | undefined, labels: Record<string, string>, where: string): NodeRole {
  if (kind === 'bridge') return 'bridge';
  if (kind !== 'linux') throw new TopologyError(`${where}: kind "${kind}" cannot run without Docker; tortie lab supports kinds linux and bridge`);
  const label = labels['tortie.role'];
  if (label !== undefined) {
    if (label === 'host' || label === 'frr' || label === 'etcd' || label === 'plain') return label;
    throw new TopologyError(`${where}: label tortie.role "${label}" is not one of host, frr, etcd, plain`);
  }
  const img = image ?? '';
  if (/(^|\/)frr(:|$)|frrouting/.test(img)) return 'frr';
  if (/(^|\/)etcd(:|$)/.test(img)) return 'etcd';
  if (/tortie/.test(img)) return 'host';
  return 'plain';
}

function parseBind(text: string, dir: string, where: string): Bind {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw new TopologyError(`${where}: bind "${text}" is not SOURCE:TARGET[:ro|rw]`);
  const mode = parts[2] ?? 'rw';
  if (!/^(ro|rw)(,.*)?$/.test(mode) && !/^[zZ]$/.test(mode)) throw new TopologyError(`${where}: bind "${text}": mode "${mode}" is not ro or rw`);
  return { source: isAbsolute(parts[0]) ? parts[0] : resolve(dir, parts[0]), target: parts[1], readOnly: mode.startsWith('ro') };
}

function parseEndpoint(text: unknown, where: string): Endpoint {
  if (typeof text !== 'string') throw new TopologyError(`${where}: endpoint must be a string "node:interface"`);
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new TopologyError(`${where}: endpoint "${text}" is not "node:interface"`);
  const ep = { node: text.slice(0, i), iface: text.slice(i + 1) };
  checkIfName(ep.iface, `${where}: endpoint "${text}"`);
  return ep;
}

/** Builds the model from a parsed document; `file` is where it came from (for binds and messages). */
export function topologyFromDocument(doc: unknown, file: string): Topology {
  const where = file;
  if (!isObject(doc)) throw new TopologyError(`${where}: not a containerlab topology (expected a map with name and topology)`);
  const name = doc.name;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9-._]*$/.test(name)) throw new TopologyError(`${where}: name: expected a lab name (letters, digits, '-', '.', '_')`);
  const topo = doc.topology;
  if (!isObject(topo)) throw new TopologyError(`${where}: topology: missing`);
  const dir = dirname(file);
  const defaults = isObject(topo.defaults) ? topo.defaults : undefined;
  const kinds = isObject(topo.kinds) ? topo.kinds : {};
  const groups = isObject(topo.groups) ? topo.groups : {};
  const nodes: LabNode[] = [];
  for (const [nodeName, rawNode] of Object.entries(isObject(topo.nodes) ? topo.nodes : {})) {
    const w = `${where}: node ${nodeName}`;
    const node = isObject(rawNode) ? rawNode : {};
    const kind = String(node.kind ?? defaults?.kind ?? '');
    if (!kind) throw new TopologyError(`${w}: no kind`);
    const group = typeof node.group === 'string' && isObject(groups[node.group]) ? (groups[node.group] as Raw) : undefined;
    const m = merge(defaults, isObject(kinds[kind]) ? (kinds[kind] as Raw) : undefined, group, node);
    const image = typeof m.image === 'string' ? m.image : undefined;
    const labels = stringMap(m.labels, `${w}: labels`);
    const cmd = m.cmd === undefined ? undefined : String(m.cmd);
    nodes.push({
      name: nodeName,
      kind,
      role: roleOf(kind, image, labels, w),
      image,
      binds: strings(m.binds, `${w}: binds`).map((b) => parseBind(b, dir, w)),
      exec: strings(m.exec, `${w}: exec`),
      cmd,
      env: stringMap(m.env, `${w}: env`),
      labels,
      sysctls: stringMap(m.sysctls, `${w}: sysctls`),
      mgmtIpv4: typeof m['mgmt-ipv4'] === 'string' ? m['mgmt-ipv4'] : undefined,
    });
  }
  if (nodes.length === 0) throw new TopologyError(`${where}: topology.nodes: no nodes`);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const links: LabLink[] = [];
  const used = new Set<string>();
  for (const [i, rawLink] of (Array.isArray(topo.links) ? topo.links : []).entries()) {
    const w = `${where}: links[${i}]`;
    if (!isObject(rawLink)) throw new TopologyError(`${w}: expected a map with endpoints`);
    if (rawLink.type !== undefined && rawLink.type !== 'veth') throw new TopologyError(`${w}: link type "${String(rawLink.type)}" is not supported without Docker (only veth)`);
    const eps = rawLink.endpoints;
    if (!Array.isArray(eps) || eps.length !== 2) throw new TopologyError(`${w}: endpoints: expected two "node:interface" strings`);
    const raws = eps.map((e: unknown) => (isObject(e) ? `${String(e.node)}:${String(e.interface)}` : e));
    const [a, b] = [parseEndpoint(raws[0], w), parseEndpoint(raws[1], w)];
    for (const ep of [a, b]) {
      const n = byName.get(ep.node);
      if (!n) throw new TopologyError(`${w}: endpoint "${ep.node}:${ep.iface}": no node ${ep.node}`);
      if (n.role === 'etcd') throw new TopologyError(`${w}: endpoint "${ep.node}:${ep.iface}": the etcd node is replaced by the lab's own etcd and takes no links`);
      if (used.has(`${ep.node}:${ep.iface}`)) throw new TopologyError(`${w}: endpoint "${ep.node}:${ep.iface}" is used by two links`);
      used.add(`${ep.node}:${ep.iface}`);
    }
    const mtu = typeof rawLink.mtu === 'number' ? rawLink.mtu : undefined;
    links.push({ a, b, mtu });
  }
  return { name, file, dir, nodes, links };
}

export function readTopologyFile(file: string): { doc: unknown; topology: Topology } {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new TopologyError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TopologyError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return { doc, topology: topologyFromDocument(doc, abs) };
}

/**
 * Replaces container paths in a command with the bound files on this machine: without a
 * mount namespace per node, "/etc/tortie/resources.yaml" must become the file it binds.
 * Longest targets first, and only where a path starts (after a space, '=', quote or start).
 */
export function mapBinds(command: string, binds: readonly Bind[]): string {
  let out = command;
  for (const b of [...binds].sort((x, y) => y.target.length - x.target.length)) {
    const escaped = b.target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(^|[\\s='"])${escaped}(?=$|[\\s/'"])`, 'g'), (_m, pre: string) => `${pre}${b.source}`);
  }
  return out;
}
