/**
 * BGP from the datastore: what calico-node's confd renders into bird.cfg, as a pure function
 * from the resources to the speaker's configuration. The daemon calls it again on every
 * relevant watch event and hands the result to `speaker.reload`.
 *
 * - AS number: the Node's spec.bgp.asNumber, else BGPConfiguration "default", else 64512.
 * - Router id: the node's IPv4 address; an IPv6-only node gets a stable hash of its name.
 * - Listen port: BGPConfiguration "node.<name>", else "default", else 179.
 * - Node-to-node mesh (unless "default" says nodeToNodeMeshEnabled: false): every other node
 *   with a BGP address of a family we have. One side initiates: the node with the higher
 *   address is passive, so the two never connect at once.
 * - BGPPeer resources that apply to this node: global (no node, no nodeSelector), for this
 *   node (spec.node), or by nodeSelector on our labels. With peerIP: an external peer (its
 *   asNumber, password, ttlSecurity, maxRestartTime). With peerSelector: the nodes it selects,
 *   at their Node addresses and AS. Peerings between nodes are symmetric, as in Calico: a node
 *   that a peerSelector selects peers with the nodes the resource applies to (this is how a
 *   route reflector learns of its clients). A node with routeReflectorClusterID reflects for
 *   the nodes it peers with that are not in its cluster (routeReflectorClient, clusterId).
 *   An explicit peering replaces the mesh peering with the same address.
 * - Policies: nodes (mesh and selected) accept all both ways. External peers (peerIP) import
 *   all and get only prefixes inside IP pools that are enabled and not disableBGPExport
 *   (Calico's calico_export_to_bgp_peers).
 * - Graceful restart on for every peer (restart time: nodeMeshMaxRestartTime for the mesh,
 *   maxRestartTime for a BGPPeer, else 120 s); kernel FIB install on.
 *
 * Things tortie cannot do yet are reported in `notes` (logged and shown by `node status`),
 * never silently dropped: BGPFilter (`filters`: tortie has no BGPFilter kind yet), secret
 * references for passwords, keepOriginalNextHop.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { PeerConfig, SpeakerConfig } from '../bgp/speaker/config.js';
import type { BGPConfiguration, BGPPassword, BGPPeer, IPPool, Node } from '../datastore/resources/types.js';
import { parseSelector } from '../selector/index.js';

export const DEFAULT_ASN = 64512;
export const DEFAULT_BGP_PORT = 179;
export const DEFAULT_RESTART_TIME_S = 120;
/** The export policy for external peers: our pools' prefixes only. */
export const EXPORT_POOLS_POLICY = 'tortie-export-pools';

/** How `node status` names a peer's origin, as calicoctl does. */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

export interface PeerOrigin {
  type: PeerType;
  /** The BGPPeer resource, for explicit peers. */
  resource?: string;
  /** The peer node's name, for mesh and selected peers. */
  node?: string;
}

export interface BgpInputs {
  me: Node;
  /** Every Node (including me). */
  nodes: readonly Node[];
  bgpConfigurations: readonly BGPConfiguration[];
  bgpPeers: readonly BGPPeer[];
  ipPools: readonly IPPool[];
  /** The daemon's control socket, recorded in the config (the daemon serves it). */
  controlSocket: string;
}

export interface BgpPlan {
  config: SpeakerConfig;
  /** By peer address. */
  origins: Map<string, PeerOrigin>;
  /** What could not be configured as asked, one line each. */
  notes: string[];
}

interface Addr {
  /** Without prefix length. */
  ip: string;
  family: 4 | 6;
}

function addrOf(withPrefix: string | undefined, family: 4 | 6): Addr | null {
  if (!withPrefix) return null;
  const ip = withPrefix.split('/')[0]!;
  if (family === 4 ? !isIPv4(ip) : !isIPv6(ip)) return null;
  return { ip, family };
}

export function nodeAddresses(node: Node): Addr[] {
  return [addrOf(node.spec.bgp?.ipv4Address, 4), addrOf(node.spec.bgp?.ipv6Address, 6)].filter((a): a is Addr => a !== null);
}

/** An address as a number, to order them (IPv4 and IPv6 never compared with each other). */
export function addressValue(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':') : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** A Go duration ("120s", "1m30s", "2h") in whole seconds, capped to GR's 12 bits. */
export function durationSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return Math.min(4095, Math.round(total));
}

function configNamed(inputs: BgpInputs, name: string): BGPConfiguration | undefined {
  return inputs.bgpConfigurations.find((c) => c.metadata.name === name);
}

export function asNumberOf(node: Node, defaults: BGPConfiguration | undefined): number {
  return node.spec.bgp?.asNumber ?? defaults?.spec.asNumber ?? DEFAULT_ASN;
}

/** A stable non-zero 32-bit router id from a name, for nodes without IPv4 (FNV-1a). */
export function hashedRouterId(name: string): string {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  if (h === 0) h = 1;
  return [h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].join('.');
}

function listenPortOf(inputs: BgpInputs, nodeName: string): number {
  return configNamed(inputs, `node.${nodeName}`)?.spec.listenPort ?? configNamed(inputs, 'default')?.spec.listenPort ?? DEFAULT_BGP_PORT;
}

function matches(selector: string | undefined, node: Node, notes: string[], where: string): boolean {
  if (selector === undefined) return false;
  try {
    return parseSelector(selector).matches(node.metadata.labels ?? {});
  } catch (err) {
    notes.push(`${where}: selector ${JSON.stringify(selector)} ignored: ${(err as Error).message}`);
    return false;
  }
}

/** Whether a BGPPeer applies to a node (its node / nodeSelector side). */
function appliesTo(peer: BGPPeer, node: Node, notes: string[]): boolean {
  const s = peer.spec;
  if (s.node === undefined && s.nodeSelector === undefined) return true;
  if (s.node !== undefined) return s.node === node.metadata.name;
  return matches(s.nodeSelector, node, notes, `BGPPeer ${peer.metadata.name}: nodeSelector`);
}

function passwordOf(p: BGPPassword | undefined, where: string, notes: string[]): string | undefined {
  if (p === undefined) return undefined;
  if (p.value !== undefined) return p.value;
  if (p.secretKeyRef) notes.push(`${where}: password from secret ${p.secretKeyRef.name}/${p.secretKeyRef.key} is not supported (no Kubernetes secrets here); give password as a plain string`);
  return undefined;
}

/** "10.0.0.1", "10.0.0.1:1179", "[2001:db8::1]:1179", "2001:db8::1". */
export function splitPeerIP(text: string): { ip: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { ip: v6[1]!, port: v6[2] === undefined ? undefined : Number(v6[2]) };
  const v4 = /^([\d.]+):(\d+)$/.exec(text);
  if (v4 && isIPv4(v4[1]!)) return { ip: v4[1]!, port: Number(v4[2]) };
  return { ip: text };
}

function exportRules(pools: readonly IPPool[]): unknown[] {
  const prefixes = pools.filter((p) => !p.spec.disabled && !p.spec.disableBGPExport).map((p) => `${p.spec.cidr}+`).sort();
  return prefixes.length === 0 ? [] : [{ description: 'prefixes inside exported IP pools', match: { prefix: prefixes }, action: 'accept' }];
}

export function computeBgpConfig(inputs: BgpInputs): BgpPlan {
  const notes: string[] = [];
  const { me } = inputs;
  const myName = me.metadata.name;
  const defaults = configNamed(inputs, 'default');
  const asn = asNumberOf(me, defaults);
  const mine = nodeAddresses(me);
  const my4 = mine.find((a) => a.family === 4);
  const myCluster = me.spec.bgp?.routeReflectorClusterID;
  const meshRestart = durationSeconds(defaults?.spec.nodeMeshMaxRestartTime) ?? DEFAULT_RESTART_TIME_S;
  const meshPassword = passwordOf(defaults?.spec.nodeMeshPassword, 'BGPConfiguration default: nodeMeshPassword', notes);
  const others = inputs.nodes.filter((n) => n.metadata.name !== myName);

  const peers = new Map<string, PeerConfig>();
  const origins = new Map<string, PeerOrigin>();

  const base = (ip: string, family: 4 | 6, peerAsn: number): PeerConfig => ({
    address: ip,
    port: DEFAULT_BGP_PORT,
    asn: peerAsn,
    passive: false,
    holdTime: 90,
    connectRetryTime: 3,
    families: [family === 4 ? 'ipv4' : 'ipv6'],
    routeReflectorClient: false,
    routeServerClient: false,
    addPaths: 'none',
    gracefulRestart: { enabled: true, restartTime: meshRestart },
    import: 'accept-all',
    export: 'accept-all',
  });

  /** A peering with another node: per family we both have, the higher address waits. */
  const nodePeerings = (other: Node, origin: PeerOrigin, extra: { password?: string; restartTime?: number; ttlSecurity?: number }) => {
    const theirCluster = other.spec.bgp?.routeReflectorClusterID;
    for (const theirs of nodeAddresses(other)) {
      const ours = mine.find((a) => a.family === theirs.family);
      if (!ours) continue;
      if (ours.ip === theirs.ip) {
        notes.push(`node ${other.metadata.name} has our own address ${ours.ip}: not peered`);
        continue;
      }
      const pc = base(theirs.ip, theirs.family, asNumberOf(other, defaults));
      pc.port = listenPortOf(inputs, other.metadata.name);
      pc.passive = addressValue(ours.ip) > addressValue(theirs.ip);
      pc.localAddress = ours.ip;
      pc.description = `${origin.type} ${other.metadata.name}`;
      if (extra.password !== undefined) pc.password = extra.password;
      if (extra.restartTime !== undefined) pc.gracefulRestart = { enabled: true, restartTime: extra.restartTime };
      if (extra.ttlSecurity) pc.ttlSecurity = extra.ttlSecurity;
      // A route reflector reflects for the nodes outside its cluster (RFC 4456).
      pc.routeReflectorClient = myCluster !== undefined && theirCluster !== myCluster;
      peers.set(pc.address, pc);
      origins.set(pc.address, origin);
    }
  };

  if (defaults?.spec.nodeToNodeMeshEnabled !== false) {
    for (const other of others) nodePeerings(other, { type: 'node-to-node mesh', node: other.metadata.name }, { password: meshPassword });
  }

  const sorted = [...inputs.bgpPeers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const res of sorted) {
    const s = res.spec;
    const where = `BGPPeer ${res.metadata.name}`;
    const type: PeerType = s.node === undefined && s.nodeSelector === undefined ? 'global' : 'node specific';
    const forMe = appliesTo(res, me, notes);
    const password = passwordOf(s.password, where, notes);
    const restartTime = durationSeconds(s.maxRestartTime);
    const ttlSecurity = s.ttlSecurity || undefined;
    if (s.filters && s.filters.length > 0 && (forMe || s.peerSelector !== undefined)) {
      notes.push(`${where}: filters ${s.filters.join(', ')} are not applied (tortie has no BGPFilter kind yet)`);
    }
    if (s.keepOriginalNextHop && forMe) notes.push(`${where}: keepOriginalNextHop is not supported; the next hop is set as usual`);
    if (s.peerSelector !== undefined) {
      const targets = new Map<string, Node>();
      // This node's side: the nodes the resource selects as peers.
      if (forMe) for (const n of others) if (matches(s.peerSelector, n, notes, `${where}: peerSelector`)) targets.set(n.metadata.name, n);
      // The other side (symmetric peering): we are selected, so peer with the nodes it applies to.
      if (matches(s.peerSelector, me, notes, `${where}: peerSelector`)) for (const n of others) if (appliesTo(res, n, notes)) targets.set(n.metadata.name, n);
      for (const n of targets.values()) nodePeerings(n, { type, resource: res.metadata.name, node: n.metadata.name }, { password, restartTime, ttlSecurity });
      continue;
    }
    if (!forMe || s.peerIP === undefined) continue;
    const { ip, port } = splitPeerIP(s.peerIP);
    const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0;
    if (family === 0) {
      notes.push(`${where}: peerIP ${JSON.stringify(s.peerIP)} is not an address`);
      continue;
    }
    if (mine.some((a) => a.ip === ip)) continue; // ourselves (a global peer that is this node)
    const pc = base(ip, family, s.asNumber ?? asn);
    if (port !== undefined) pc.port = port;
    pc.export = EXPORT_POOLS_POLICY;
    pc.description = `${type} ${res.metadata.name}`;
    if (password !== undefined) pc.password = password;
    if (restartTime !== undefined) pc.gracefulRestart = { enabled: true, restartTime };
    if (ttlSecurity) pc.ttlSecurity = ttlSecurity;
    const ours = mine.find((a) => a.family === family);
    if (s.sourceAddress !== 'None' && ours) pc.localAddress = ours.ip;
    if (!ours) notes.push(`${where}: peer ${ip} is IPv${family}, but this node has no IPv${family} BGP address`);
    peers.set(pc.address, pc);
    origins.set(pc.address, { type, resource: res.metadata.name });
  }

  if (mine.length === 0) notes.push(`node ${myName} has no BGP address (spec.bgp.ipv4Address/ipv6Address): no peerings`);

  const config: SpeakerConfig = {
    asn,
    routerId: my4?.ip ?? hashedRouterId(myName),
    // '::' takes IPv4 too (mapped), but only a node with IPv6 needs it: MD5 keys for IPv4 peers
    // are simplest on an IPv4 socket.
    listen: { address: mine.some((a) => a.family === 6) ? '::' : '0.0.0.0', port: listenPortOf(inputs, myName) },
    peers: [...peers.values()].sort((a, b) => (addressValue(a.address) < addressValue(b.address) ? -1 : 1)),
    originate: [],
    policies: { [EXPORT_POOLS_POLICY]: exportRules(inputs.ipPools) },
    fib: { install: true, table: 254, repairIntervalMs: 30_000 },
    control: { socket: inputs.controlSocket },
    clusterId: myCluster,
    multipath: 1,
    gracefulRestart: { enabled: true, restartTime: meshRestart, selectionDeferralTime: 120 },
    ebgpRequiresPolicy: true,
  };
  return { config, origins, notes };
}
