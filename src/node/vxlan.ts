/**
 * The VXLAN overlay, as Calico's felix vxlan manager does it (vxlan_mgr.go):
 *
 *   - When an enabled IPv4 IPPool has vxlanMode Always or CrossSubnet, the node has a device
 *     `vxlan.tortie` (VNI 4096, UDP 4789, local = the node's address, nolearning, MTU =
 *     underlay MTU - 50) with a tunnel address from IPAM (handle
 *     `tortie.vxlan-tunnel-addr.<node>`, purpose 'tunnel'). Address and device MAC go into
 *     the Node resource: spec.ipv4VXLANTunnelAddr and spec.vxlanTunnelMACAddr (Calico's
 *     field names).
 *   - For every other node with both: a permanent neighbour (its tunnel address -> its MAC on
 *     vxlan.tortie), an FDB entry (its MAC -> dst its node address), a route to its tunnel
 *     address on the device, and a route per address of its workloads
 *     (`A/32 via <its tunnel addr> dev vxlan.tortie onlink`) when the pool of that address
 *     says Always, or CrossSubnet and that node is not on our subnet (its address outside our
 *     interface's prefix). Same-subnet peers under CrossSubnet keep the BGP speaker's plain
 *     routes.
 *   - The device goes away (and with it its neighbours, FDB entries and routes) when no pool
 *     needs it; the tunnel address is then released and the Node fields cleared.
 *
 * Who wins against the BGP speaker. The speaker installs a /32 for every remote workload
 * too (proto 200, metric 32): via the remote node where that is on-link, or via the gateway
 * towards it (the router, which knows nothing of workloads) where it is not. Our routes carry
 * their own protocol, VXLAN_ROUTE_PROTOCOL (201), and a lower metric, VXLAN_ROUTE_METRIC (16):
 * the kernel picks ours wherever we have one, and neither side ever reads, replaces or deletes
 * the other's (both find their routes by protocol, and a route is keyed by prefix and metric).
 * Where we have no route (same subnet under CrossSubnet), the speaker's plain route is the
 * only one. When we withdraw ours, the speaker's is there already: no gap, no fight.
 *
 * The plan (`planVxlan`) is pure; `VxlanDataplane` reads the kernel and writes the delta in
 * one `ip -batch` for routes and neighbours and one `bridge -batch` for the FDB.
 */
import { isIPv4 } from 'node:net';
import { ConflictError, errorMessage } from '../common/errors.js';
import type { ResourceStore } from '../datastore/resources/store.js';
import type { IPPool, Node, WorkloadEndpoint } from '../datastore/resources/types.js';
import type { ResourceWatch } from '../datastore/resources/watch.js';
import type { Ipam } from '../ipam/ipam.js';
import { CommandError, run } from '../kernel/exec.js';
import type { Logger } from '../log/logger.js';

export const VXLAN_DEVICE = 'vxlan.tortie';
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = 50;
/** The protocol number on our routes: tortie's, beside the speaker's 200 and felix's 80. */
export const VXLAN_ROUTE_PROTOCOL = 201;
/** Below the speaker's 32, so that our route wins where both exist. */
export const VXLAN_ROUTE_METRIC = 16;

export const tunnelHandle = (node: string): string => `tortie.vxlan-tunnel-addr.${node}`;

// ------------------------------------------------------------------ pure part

function ipv4ToInt(a: string): number {
  const p = a.split('.').map(Number);
  return (((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) >>> 0;
}

/** "10.0.0.5/24" -> {addr, len}; a bare address counts as /32. */
function splitCidr(text: string): { addr: string; len: number } | null {
  const [addr, len] = text.split('/');
  if (!addr || !isIPv4(addr)) return null;
  const n = len === undefined ? 32 : Number(len);
  return Number.isInteger(n) && n >= 0 && n <= 32 ? { addr, len: n } : null;
}

export function inCidr(addr: string, cidr: string): boolean {
  const c = splitCidr(cidr);
  if (!c || !isIPv4(addr)) return false;
  const mask = c.len === 0 ? 0 : (0xffffffff << (32 - c.len)) >>> 0;
  return ((ipv4ToInt(addr) & mask) >>> 0) === ((ipv4ToInt(c.addr) & mask) >>> 0);
}

/** The pools that make VXLAN happen: enabled, IPv4, vxlanMode other than Never. */
export function vxlanPools(pools: Iterable<IPPool>): IPPool[] {
  return [...pools].filter((p) => !p.spec.disabled && p.spec.vxlanMode !== 'Never' && splitCidr(p.spec.cidr) !== null);
}

export interface VxlanPlanInput {
  nodeName: string;
  nodes: Iterable<Node>;
  pools: Iterable<IPPool>;
  endpoints: Iterable<WorkloadEndpoint>;
}

export interface VxlanPeer {
  node: string;
  /** The remote node's underlay address (FDB dst). */
  address: string;
  tunnelAddr: string;
  mac: string;
  sameSubnet: boolean;
}

export interface VxlanPlan {
  /** Whether any pool wants VXLAN (so: the device exists). */
  enabled: boolean;
  peers: VxlanPeer[];
  /** prefix (A/32) -> the tunnel address it goes via; tunnel addresses themselves map to ''. */
  routes: Map<string, string>;
}

/**
 * Desired VXLAN state for this node. Only remote nodes that have published both their tunnel
 * address and their MAC take part; a workload address goes through the tunnel when the pool
 * holding it is Always, or CrossSubnet with its node outside our subnet.
 */
export function planVxlan(input: VxlanPlanInput): VxlanPlan {
  const pools = vxlanPools(input.pools);
  const nodes = [...input.nodes];
  const me = nodes.find((n) => n.metadata.name === input.nodeName);
  const myCidr = me?.spec.bgp?.ipv4Address;
  const plan: VxlanPlan = { enabled: pools.length > 0, peers: [], routes: new Map() };
  if (!plan.enabled || !myCidr) return plan;
  const peers = new Map<string, VxlanPeer>();
  for (const n of nodes) {
    if (n.metadata.name === input.nodeName) continue;
    const addr = n.spec.bgp?.ipv4Address?.split('/')[0];
    const tunnelAddr = n.spec.ipv4VXLANTunnelAddr;
    const mac = n.spec.vxlanTunnelMACAddr;
    if (!addr || !isIPv4(addr) || !tunnelAddr || !mac) continue;
    const peer = { node: n.metadata.name, address: addr, tunnelAddr, mac: mac.toLowerCase(), sameSubnet: inCidr(addr, myCidr) };
    peers.set(peer.node, peer);
    plan.routes.set(`${tunnelAddr}/32`, '');
  }
  plan.peers = [...peers.values()].sort((a, b) => a.node.localeCompare(b.node));
  for (const ep of input.endpoints) {
    const peer = ep.spec.node === undefined ? undefined : peers.get(ep.spec.node);
    if (!peer) continue;
    for (const net of ep.spec.ipNetworks ?? []) {
      const c = splitCidr(net);
      if (!c || c.len !== 32) continue;
      const pool = pools.find((p) => inCidr(c.addr, p.spec.cidr));
      if (!pool) continue;
      if (pool.spec.vxlanMode === 'Always' || (pool.spec.vxlanMode === 'CrossSubnet' && !peer.sameSubnet)) {
        plan.routes.set(`${c.addr}/32`, peer.tunnelAddr);
      }
    }
  }
  return plan;
}

// ------------------------------------------------------------------ kernel part

export interface UnderlayInfo {
  ifname: string;
  mtu: number;
}

export interface DeviceSpec {
  local: string;
  parent: string;
  mtu: number;
  tunnelAddr: string;
}

interface LinkJson {
  ifname: string;
  mtu: number;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Commands for one network namespace: the current one unless `netns` is given. */
export class VxlanDataplane {
  constructor(private readonly netns?: string) {}

  private ns(): string[] {
    return this.netns === undefined ? [] : ['-n', this.netns];
  }

  ip(args: string[], input?: string): Promise<string> {
    return run('ip', [...this.ns(), ...args], input === undefined ? {} : { input });
  }

  bridge(args: string[], input?: string): Promise<string> {
    return run('bridge', [...this.ns(), ...args], input === undefined ? {} : { input });
  }

  /** The interface that holds `address`, and its MTU. */
  async underlay(address: string): Promise<UnderlayInfo | null> {
    const links = JSON.parse((await this.ip(['-j', 'addr', 'show'])) || '[]') as LinkJson[];
    for (const l of links) if (l.addr_info?.some((a) => a.local === address)) return { ifname: l.ifname, mtu: l.mtu };
    return null;
  }

  async device(): Promise<LinkJson | null> {
    try {
      const out = JSON.parse((await this.ip(['-d', '-j', 'addr', 'show', 'dev', VXLAN_DEVICE])) || '[]') as LinkJson[];
      return out[0] ?? null;
    } catch (err) {
      if (err instanceof CommandError && /does not exist|Cannot find device/.test(err.stderr)) return null;
      throw err;
    }
  }

  /** Makes the device as `spec` says (recreating it if VNI, port, local or learning differ); returns its MAC. */
  async ensureDevice(spec: DeviceSpec): Promise<string> {
    let dev = await this.device();
    const d = dev?.linkinfo?.info_data;
    if (dev && (dev.linkinfo?.info_kind !== 'vxlan' || d?.id !== VXLAN_VNI || d?.local !== spec.local || d?.port !== VXLAN_PORT || d?.learning !== false)) {
      await this.ip(['link', 'del', VXLAN_DEVICE]);
      dev = null;
    }
    if (!dev) {
      await this.ip(['link', 'add', VXLAN_DEVICE, 'type', 'vxlan', 'id', String(VXLAN_VNI), 'local', spec.local, 'dev', spec.parent, 'dstport', String(VXLAN_PORT), 'nolearning']);
    }
    const lines: string[] = [];
    if (!dev || dev.mtu !== spec.mtu) lines.push(`link set ${VXLAN_DEVICE} mtu ${spec.mtu}`);
    const addrs = (dev?.addr_info ?? []).filter((a) => a.family === 'inet');
    for (const a of addrs) if (a.local !== spec.tunnelAddr || a.prefixlen !== 32) lines.push(`addr del ${a.local}/${a.prefixlen} dev ${VXLAN_DEVICE}`);
    if (!addrs.some((a) => a.local === spec.tunnelAddr && a.prefixlen === 32)) lines.push(`addr add ${spec.tunnelAddr}/32 dev ${VXLAN_DEVICE}`);
    lines.push(`link set ${VXLAN_DEVICE} up`);
    await this.ip(['-batch', '-'], lines.join('\n') + '\n');
    const mac = (await this.device())?.address;
    if (!mac) throw new Error(`${VXLAN_DEVICE}: no MAC address after creation`);
    return mac.toLowerCase();
  }

  async removeDevice(): Promise<boolean> {
    if (!(await this.device())) return false;
    await this.ip(['link', 'del', VXLAN_DEVICE]);
    return true;
  }

  /** Our routes now: prefix -> gateway ('' for a device route). */
  async routes(): Promise<Map<string, string>> {
    const json = await this.ip(['-4', '-j', 'route', 'show', 'table', 'main', 'proto', String(VXLAN_ROUTE_PROTOCOL)]);
    const out = new Map<string, string>();
    for (const r of JSON.parse(json || '[]') as { dst: string; gateway?: string; dev?: string }[]) {
      out.set(r.dst.includes('/') ? r.dst : `${r.dst}/32`, r.dev === VXLAN_DEVICE ? (r.gateway ?? '') : '?');
    }
    return out;
  }

  /** Permanent neighbours on the device: address -> MAC. */
  async neighbours(): Promise<Map<string, string>> {
    const json = await this.ip(['-4', '-j', 'neigh', 'show', 'dev', VXLAN_DEVICE, 'nud', 'permanent']);
    const out = new Map<string, string>();
    for (const n of JSON.parse(json || '[]') as { dst: string; lladdr?: string }[]) out.set(n.dst, (n.lladdr ?? '').toLowerCase());
    return out;
  }

  /** FDB entries of ours on the device: MAC -> dst. */
  async fdb(): Promise<Map<string, string>> {
    const json = await this.bridge(['-j', 'fdb', 'show', 'dev', VXLAN_DEVICE]);
    const out = new Map<string, string>();
    for (const f of JSON.parse(json || '[]') as { mac: string; dst?: string }[]) if (f.dst && f.mac !== '00:00:00:00:00:00') out.set(f.mac.toLowerCase(), f.dst);
    return out;
  }

  /** Writes the delta between the kernel and the plan; returns the number of changes. */
  async reconcile(plan: VxlanPlan): Promise<number> {
    const [routes, neigh, fdb] = await Promise.all([this.routes(), this.neighbours(), this.fdb()]);
    const wantNeigh = new Map(plan.peers.map((p) => [p.tunnelAddr, p.mac]));
    const wantFdb = new Map(plan.peers.map((p) => [p.mac, p.address]));
    const ipLines: string[] = [];
    const bridgeLines: string[] = [];
    const common = `proto ${VXLAN_ROUTE_PROTOCOL} metric ${VXLAN_ROUTE_METRIC}`;
    // Neighbours and FDB first, so that a new route never points at an unknown MAC.
    for (const [addr, mac] of wantNeigh) if (neigh.get(addr) !== mac) ipLines.push(`neigh replace ${addr} lladdr ${mac} dev ${VXLAN_DEVICE} nud permanent`);
    for (const [prefix, gw] of plan.routes) {
      if (routes.get(prefix) === gw) continue;
      ipLines.push(gw === '' ? `route replace ${prefix} dev ${VXLAN_DEVICE} scope link ${common}` : `route replace ${prefix} via ${gw} dev ${VXLAN_DEVICE} onlink ${common}`);
    }
    for (const prefix of routes.keys()) if (!plan.routes.has(prefix)) ipLines.push(`route del ${prefix} ${common}`);
    for (const addr of neigh.keys()) if (!wantNeigh.has(addr)) ipLines.push(`neigh del ${addr} dev ${VXLAN_DEVICE}`);
    for (const [mac, dst] of wantFdb) if (fdb.get(mac) !== dst) bridgeLines.push(`fdb replace ${mac} dev ${VXLAN_DEVICE} dst ${dst} self permanent`);
    for (const [mac, dst] of fdb) if (!wantFdb.has(mac)) bridgeLines.push(`fdb del ${mac} dev ${VXLAN_DEVICE} dst ${dst} self`);
    if (bridgeLines.length > 0) await this.bridge(['-batch', '-'], bridgeLines.join('\n') + '\n');
    if (ipLines.length > 0) await this.ip(['-batch', '-'], ipLines.join('\n') + '\n');
    return ipLines.length + bridgeLines.length;
  }
}

// ------------------------------------------------------------------ the node daemon's hook

export interface VxlanOptions {
  store: ResourceStore;
  ipam: Ipam;
  nodeName: string;
  /** The node's IPv4 address with its prefix length ("10.0.0.5/24"); no IPv4: VXLAN stays off. */
  nodeCidr?: string;
  log: Logger;
  /** How often the kernel is checked against the plan even without a change (default 30 s). */
  resyncMs?: number;
  netns?: string;
}

export interface VxlanHandle {
  /** The MTU workload interfaces should get: underlay - 50 while VXLAN is on, else undefined. */
  workloadMtu(): number | undefined;
  /** Whether the device is up, and the last error if the last pass failed. */
  status(): { enabled: boolean; tunnelAddr?: string; mac?: string; lastError?: string };
  stop(): Promise<void>;
}

/**
 * Starts the VXLAN manager: its own watch on Node, IPPool and WorkloadEndpoint, one
 * reconcile pass at a time (changes during a pass trigger one more). Resolves after the
 * first pass, so that the first workload already gets the right MTU.
 */
export async function startVxlan(o: VxlanOptions): Promise<VxlanHandle> {
  const { store, ipam, nodeName, log } = o;
  const dp = new VxlanDataplane(o.netns);
  const nodes = new Map<string, Node>();
  const pools = new Map<string, IPPool>();
  const endpoints = new Map<string, WorkloadEndpoint>();
  const nodeAddr = o.nodeCidr?.split('/')[0];
  let innerMtu: number | undefined;
  let state: { enabled: boolean; tunnelAddr?: string; mac?: string; lastError?: string } = { enabled: false };
  let stopped = false;

  const writeNode = async (fields: { ipv4VXLANTunnelAddr?: string; vxlanTunnelMACAddr?: string }) => {
    for (let attempt = 0; ; attempt++) {
      const cur = await store.get('Node', nodeName);
      if (!cur) return;
      if (cur.spec.ipv4VXLANTunnelAddr === fields.ipv4VXLANTunnelAddr && cur.spec.vxlanTunnelMACAddr === fields.vxlanTunnelMACAddr) return;
      const spec = { ...cur.spec };
      delete spec.ipv4VXLANTunnelAddr;
      delete spec.vxlanTunnelMACAddr;
      Object.assign(spec, fields);
      try {
        await store.replace({ ...cur, spec });
        log.info(fields, 'Node VXLAN fields updated');
        return;
      } catch (err) {
        if (attempt < 5 && err instanceof ConflictError) continue;
        throw err;
      }
    }
  };

  /** Our tunnel address: the one the Node names if still ours in a VXLAN pool, else a new one from IPAM. */
  const tunnelAddress = async (vpools: IPPool[]): Promise<string> => {
    const have = (await store.get('Node', nodeName))?.spec.ipv4VXLANTunnelAddr;
    if (have && vpools.some((p) => inCidr(have, p.spec.cidr))) return have;
    await ipam.releaseByHandle(tunnelHandle(nodeName)).catch(() => []);
    let lastErr: unknown;
    for (const p of vpools) {
      try {
        const r = await ipam.assign({ node: nodeName, handle: tunnelHandle(nodeName), attrs: { purpose: 'tunnel', node: nodeName }, pool: p.metadata.name });
        return r.ips[0]!.ip.split('/')[0]!;
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr ?? new Error('no VXLAN pool');
  };

  const pass = async () => {
    const vpools = vxlanPools(pools.values());
    if (vpools.length === 0 || !nodeAddr) {
      if (vpools.length > 0) log.warn('a pool wants VXLAN but this node has no IPv4 address; VXLAN stays off');
      if (await dp.removeDevice()) log.info(`${VXLAN_DEVICE} removed: no pool needs VXLAN`);
      if (state.enabled || nodes.get(nodeName)?.spec.ipv4VXLANTunnelAddr) {
        await ipam.releaseByHandle(tunnelHandle(nodeName)).catch(() => []);
        await writeNode({});
      }
      innerMtu = undefined;
      state = { enabled: false };
      return;
    }
    const under = await dp.underlay(nodeAddr);
    if (!under) throw new Error(`no interface holds the node address ${nodeAddr}`);
    const tunnelAddr = await tunnelAddress(vpools);
    const mtu = under.mtu - VXLAN_OVERHEAD;
    const mac = await dp.ensureDevice({ local: nodeAddr, parent: under.ifname, mtu, tunnelAddr });
    innerMtu = mtu;
    await writeNode({ ipv4VXLANTunnelAddr: tunnelAddr, vxlanTunnelMACAddr: mac });
    const plan = planVxlan({ nodeName, nodes: nodes.values(), pools: pools.values(), endpoints: endpoints.values() });
    const changes = await dp.reconcile(plan);
    if (changes > 0) log.info({ changes, peers: plan.peers.length, routes: plan.routes.size }, 'VXLAN routes, neighbours and FDB reconciled');
    state = { enabled: true, tunnelAddr, mac };
  };

  let running: Promise<void> | null = null;
  let again = false;
  const kick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
        } catch (err) {
          state = { ...state, lastError: errorMessage(err) };
          log.warn({ err: errorMessage(err) }, 'VXLAN pass failed; tried again at the next change or resync');
        }
      } while (again && !stopped);
    })().finally(() => (running = null));
    return running;
  };

  const watch: ResourceWatch = store.watch(['Node', 'IPPool', 'WorkloadEndpoint'], {
    onEvents: (events) => {
      let relevant = false;
      for (const e of events) {
        if (e.type === 'in-sync') continue;
        const r = e.resource;
        const key = r.metadata.namespace ? `${r.metadata.namespace}/${r.metadata.name}` : r.metadata.name;
        if (r.kind === 'Node') {
          if (e.type === 'update') nodes.set(key, r);
          else nodes.delete(key);
        } else if (r.kind === 'IPPool') {
          if (e.type === 'update') pools.set(key, r);
          else pools.delete(key);
        } else if (r.kind === 'WorkloadEndpoint') {
          // Our own endpoints are kept too but never planned (no peer is ourselves): felix routes them.
          if (e.type === 'update') endpoints.set(key, r);
          else endpoints.delete(key);
        } else continue;
        relevant = true;
      }
      if (relevant) void kick();
    },
    onError: (err) => log.warn({ err: errorMessage(err) }, 'VXLAN watch trouble; it recovers by itself'),
  });
  await watch.synced;
  await kick();
  const timer = setInterval(() => void kick(), o.resyncMs ?? 30_000);
  timer.unref();

  return {
    workloadMtu: () => innerMtu,
    status: () => ({ ...state }),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await watch.cancel();
      await running;
    },
  };
}
