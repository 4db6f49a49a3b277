/**
 * `tortie node run`: the per-host daemon, calico-node's job in one process.
 *
 *   1. finds its addresses (given, or autodetected) and registers its Node resource;
 *   2. watches Node, BGPConfiguration, BGPPeer, IPPool and WorkloadEndpoint; once in sync it
 *      starts the BGP speaker with the configuration computed from them (bgp-config.ts), and
 *      from then on applies each change with speaker.reload, without a restart;
 *   3. announces a /32 (/128) per local workload address (originations.ts) as endpoints come
 *      and go; the announcements are in place before the first session comes up, so that a
 *      restarted node never sends an End-of-RIB without its routes;
 *   4. runs felix for the host, with the node's IPAM blocks (blackholed);
 *   5. serves the node socket (root only): POST /cni for the CNI plugin, GET /status;
 *   6. releases its empty IPAM blocks now and then.
 *
 * The speaker installs what it learns into the kernel (protocol 200) with graceful restart:
 * after a kill -9, peers keep its routes (stale) and the kernel keeps theirs, until it is
 * back and has sent and received the tables again. SIGTERM/SIGINT: Cease to every peer,
 * felix stopped (kernel state stays), the socket removed.
 */
import type { Server } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { OriginateConfig } from '../bgp/speaker/config.js';
import { Speaker } from '../bgp/speaker/speaker.js';
import { cniControlRoutes } from '../cni/handler.js';
import { serveControl } from '../common/control-socket.js';
import { AlreadyExistsError, ConflictError, errorMessage, UserError } from '../common/errors.js';
import type { KV } from '../datastore/kv.js';
import { openKV, type OpenKVOptions } from '../datastore/open.js';
import { ResourceStore } from '../datastore/resources/store.js';
import type { AnyResource, BGPConfiguration, BGPPeer, IPPool, KindName, Node, WorkloadEndpoint } from '../datastore/resources/types.js';
import type { ResourceEvent, ResourceWatch } from '../datastore/resources/watch.js';
import { startFelix, type FelixHandle } from '../felix/index.js';
import { cniDns, startNodeDns } from '../dns/host.js';
import { Ipam } from '../ipam/ipam.js';
import { ResourceConfigSource } from '../ipam/resource-source.js';
import { logger, type Logger } from '../log/logger.js';
import { autodetectAddress, parseAutodetectMethod } from './autodetect.js';
import { computeBgpConfig, type BgpPlan } from './bgp-config.js';
import { computeOriginations } from './originations.js';
import { peerRow, type NodeStatus } from './status.js';
import { startVxlan } from './vxlan.js';

export const DEFAULT_NODE_SOCKET = '/run/tortie/node.sock';

export interface NodeDaemonOptions {
  name: string;
  datastore: string;
  datastoreOptions?: OpenKVOptions;
  /** "A/LEN" for IPv4; else `ipAutodetect` (default first-found); "none" for no IPv4. */
  ip?: string;
  ipAutodetect?: string;
  /** "A/LEN" for IPv6; else `ip6Autodetect`; by default no IPv6. */
  ip6?: string;
  ip6Autodetect?: string;
  asNumber?: number;
  socket?: string;
  felixMetricsPort?: number;
  /** How often empty IPAM blocks are released (default 60 s). */
  blockReleaseIntervalMs?: number;
  /** Serve the cluster DNS on 169.254.1.1:53 and register local workloads' names (default true). */
  dns?: boolean;
}

export interface RunningNode {
  readonly name: string;
  status(): NodeStatus;
  /** Resolves when the daemon has shut down. */
  readonly done: Promise<void>;
  shutdown(reason?: string): Promise<void>;
}

const WATCHED: KindName[] = ['Node', 'BGPConfiguration', 'BGPPeer', 'IPPool', 'WorkloadEndpoint'];

function checkGivenAddress(text: string, family: 4 | 6, flag: string): string {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  const ok = m && (family === 4 ? isIPv4(m[1]!) : isIPv6(m[1]!));
  const max = family === 4 ? 32 : 128;
  if (!m || !ok || (m[2] !== undefined && Number(m[2]) > max)) {
    throw new UserError(`${flag} "${text}": not an IPv${family} address (ADDRESS/LENGTH, e.g. ${family === 4 ? '10.0.0.5/24' : 'fd00::5/64'})`);
  }
  return m[2] === undefined ? `${m[1]}/${max}` : `${m[1]}/${m[2]}`;
}

/** The node's addresses from the flags: given, autodetected, or none. */
export async function resolveAddresses(o: Pick<NodeDaemonOptions, 'ip' | 'ipAutodetect' | 'ip6' | 'ip6Autodetect'>): Promise<{ ipv4?: string; ipv6?: string }> {
  const out: { ipv4?: string; ipv6?: string } = {};
  if (o.ip !== undefined && o.ipAutodetect !== undefined) throw new UserError('give --ip or --ip-autodetect, not both');
  if (o.ip6 !== undefined && o.ip6Autodetect !== undefined) throw new UserError('give --ip6 or --ip6-autodetect, not both');
  if (o.ip === undefined || o.ip === 'autodetect') {
    out.ipv4 = await autodetectAddress(parseAutodetectMethod(o.ipAutodetect ?? 'first-found', '--ip-autodetect'), 4);
  } else if (o.ip !== 'none') out.ipv4 = checkGivenAddress(o.ip, 4, '--ip');
  if (o.ip6Autodetect !== undefined || o.ip6 === 'autodetect') {
    out.ipv6 = await autodetectAddress(parseAutodetectMethod(o.ip6Autodetect ?? 'first-found', '--ip6-autodetect'), 6);
  } else if (o.ip6 !== undefined && o.ip6 !== 'none') out.ipv6 = checkGivenAddress(o.ip6, 6, '--ip6');
  return out;
}

/**
 * Creates or updates this node's Node resource: the BGP addresses (and AS if given) are the
 * daemon's; labels, routeReflectorClusterID and anything else users set are kept.
 */
export async function registerNode(store: ResourceStore, name: string, addrs: { ipv4?: string; ipv6?: string }, asNumber: number | undefined, log: Logger): Promise<Node> {
  for (let attempt = 0; ; attempt++) {
    const current = await store.get('Node', name);
    const bgp = { ...(current?.spec.bgp ?? {}) };
    delete bgp.ipv4Address;
    delete bgp.ipv6Address;
    if (addrs.ipv4) bgp.ipv4Address = addrs.ipv4;
    if (addrs.ipv6) bgp.ipv6Address = addrs.ipv6;
    if (asNumber !== undefined) bgp.asNumber = asNumber;
    const doc = {
      apiVersion: 'tortie.dev/v1',
      kind: 'Node',
      metadata: { ...(current?.metadata ?? { name }), name },
      spec: { ...(current?.spec ?? {}), bgp },
    };
    try {
      const saved = current ? await store.replace(doc) : await store.create(doc);
      log.info({ ipv4: addrs.ipv4, ipv6: addrs.ipv6, asNumber: bgp.asNumber }, current ? 'Node updated' : 'Node registered');
      return saved as Node;
    } catch (err) {
      // Someone changed it between our read and write (a label, say): read again.
      if (attempt < 5 && (err instanceof ConflictError || err instanceof AlreadyExistsError)) continue;
      throw err;
    }
  }
}

/** The resources the BGP side needs, kept current by the watch. */
class View {
  readonly nodes = new Map<string, Node>();
  readonly bgpConfigurations = new Map<string, BGPConfiguration>();
  readonly bgpPeers = new Map<string, BGPPeer>();
  readonly ipPools = new Map<string, IPPool>();
  readonly endpoints = new Map<string, WorkloadEndpoint>();

  /** Applies a batch; says whether BGP inputs (not endpoints) or local endpoints changed. */
  apply(events: ResourceEvent[], nodeName: string): { bgp: boolean; endpoints: boolean } {
    const changed = { bgp: false, endpoints: false };
    for (const e of events) {
      if (e.type === 'in-sync') continue;
      const r: AnyResource = e.resource;
      const key = r.metadata.namespace ? `${r.metadata.namespace}/${r.metadata.name}` : r.metadata.name;
      const map = this.mapOf(r.kind);
      if (!map) continue;
      if (e.type === 'update') map.set(key, r);
      else map.delete(key);
      if (r.kind === 'WorkloadEndpoint') {
        const prevNode = e.type === 'update' && e.previous?.kind === 'WorkloadEndpoint' ? e.previous.spec.node : undefined;
        if (r.spec.node === nodeName || prevNode === nodeName) changed.endpoints = true;
      } else {
        changed.bgp = true;
        if (r.kind === 'BGPConfiguration') changed.endpoints = true; // communities, advertise mode
      }
    }
    return changed;
  }

  private mapOf(kind: KindName): Map<string, AnyResource> | undefined {
    switch (kind) {
      case 'Node':
        return this.nodes as Map<string, AnyResource>;
      case 'BGPConfiguration':
        return this.bgpConfigurations as Map<string, AnyResource>;
      case 'BGPPeer':
        return this.bgpPeers as Map<string, AnyResource>;
      case 'IPPool':
        return this.ipPools as Map<string, AnyResource>;
      case 'WorkloadEndpoint':
        return this.endpoints as Map<string, AnyResource>;
      default:
        return undefined;
    }
  }
}

export async function runNodeDaemon(options: NodeDaemonOptions): Promise<RunningNode> {
  const name = options.name;
  const socketPath = options.socket ?? DEFAULT_NODE_SOCKET;
  const log = logger('node', { node: name });
  const addrs = await resolveAddresses(options);
  if (!addrs.ipv4 && !addrs.ipv6) throw new UserError(`node ${name}: no IPv4 and no IPv6 address; BGP needs at least one`);

  const kv: KV = await openKV(options.datastore, options.datastoreOptions);
  const cleanups: (() => Promise<void> | void)[] = [() => kv.close()];
  const undo = async () => {
    for (const f of cleanups.reverse()) await Promise.resolve(f()).catch(() => undefined);
  };
  try {
    const store = new ResourceStore(kv);
    const registered = await registerNode(store, name, addrs, options.asNumber, log);
    const ipam = new Ipam(kv, new ResourceConfigSource(store));
    const view = new View();
    view.nodes.set(name, registered);

    // The node's IPAM blocks: for felix (blackholes) and for the `blocks` advertising mode.
    let blocks: string[] = [];
    const refreshBlocks = async () => {
      try {
        blocks = (await ipam.blocksOfHost(name)).map((b) => b.cidr);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'cannot read this node\'s IPAM blocks');
      }
    };
    await refreshBlocks();

    let speaker: Speaker | null = null;
    let plan: BgpPlan | null = null;
    const announced = new Map<string, string>(); // prefix -> JSON of its OriginateConfig
    const loggedNotes = new Set<string>();
    const originationNotes = new Set<string>();

    const planNow = (): BgpPlan => {
      const me = view.nodes.get(name) ?? registered;
      const next = computeBgpConfig({
        me,
        nodes: [...view.nodes.values()],
        bgpConfigurations: [...view.bgpConfigurations.values()],
        bgpPeers: [...view.bgpPeers.values()],
        ipPools: [...view.ipPools.values()],
        controlSocket: socketPath,
      });
      for (const note of next.notes) if (!loggedNotes.has(note)) log.warn(note);
      loggedNotes.clear();
      for (const note of next.notes) loggedNotes.add(note);
      return next;
    };

    const syncOriginations = () => {
      if (!speaker) return;
      const wanted = computeOriginations(
        { nodeName: name, endpoints: view.endpoints.values(), defaults: view.bgpConfigurations.get('default'), blocks },
        originationNotes,
      );
      for (const prefix of [...announced.keys()]) {
        if (!wanted.has(prefix)) {
          speaker.withdraw(prefix);
          announced.delete(prefix);
          log.debug({ prefix }, 'withdrawn');
        }
      }
      for (const [prefix, o] of wanted) {
        const text = JSON.stringify(o);
        if (announced.get(prefix) === text) continue;
        announce(speaker, o);
        announced.set(prefix, text);
        log.debug({ prefix }, 'announced');
      }
    };
    const announce = (s: Speaker, o: OriginateConfig) => {
      try {
        s.announce(o);
      } catch (err) {
        log.error({ prefix: o.prefix, err: errorMessage(err) }, 'cannot announce');
      }
    };

    const applyBgp = () => {
      if (!speaker || !plan) return;
      const next = planNow();
      if (JSON.stringify(next.config) === JSON.stringify(plan.config)) {
        plan = next;
        return;
      }
      try {
        speaker.reload(next.config);
        plan = next;
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'BGP configuration from the datastore not applied; the running one stays');
      }
    };

    let blockRefresh: Promise<void> | null = null;
    const watch: ResourceWatch = store.watch(WATCHED, {
      onEvents: (events) => {
        const changed = view.apply(events, name);
        if (changed.bgp) applyBgp();
        if (changed.endpoints) {
          syncOriginations();
          // A first endpoint may have claimed a new block.
          blockRefresh ??= refreshBlocks().finally(() => {
            blockRefresh = null;
            syncOriginations();
          });
        }
      },
      onError: (err) => log.warn({ err: errorMessage(err) }, 'datastore watch trouble; it recovers by itself'),
    });
    cleanups.push(() => watch.cancel());
    await watch.synced;

    // The speaker starts with everything known, and its announcements in place before any
    // session comes up.
    plan = planNow();
    speaker = new Speaker(plan.config, logger('bgp', { node: name }));
    syncOriginations();
    await speaker.start();
    const runningSpeaker = speaker;
    cleanups.push(() => runningSpeaker.stop('tortie node shutting down'));
    log.info({ asn: plan.config.asn, routerId: plan.config.routerId, peers: plan.config.peers.length, announced: announced.size }, 'BGP speaker running');

    const felix: FelixHandle = startFelix({ store, nodeName: name, localBlocks: () => blocks, metricsPort: options.felixMetricsPort, log: logger('felix', { node: name }) });
    cleanups.push(() => felix.stop());

    // Service discovery: this host's workloads' names go into the datastore under its lease,
    // and a server on 169.254.1.1:53 (every workload's gateway) answers for the whole cluster.
    const dns = options.dns === false ? null : await startNodeDns({ kv, store, nodeName: name, log: logger('dns', { node: name }) });
    if (dns) cleanups.push(() => dns.stop());

    const status = (): NodeStatus => {
      const p = plan!;
      const fs = felix.status();
      const fib = runningSpeaker.fibStatus();
      const me = view.nodes.get(name) ?? registered;
      return {
        name,
        pid: process.pid,
        asNumber: p.config.asn,
        routerId: p.config.routerId,
        ipv4Address: me.spec.bgp?.ipv4Address ?? null,
        ipv6Address: me.spec.bgp?.ipv6Address ?? null,
        listenPort: p.config.listen?.port ?? null,
        peers: runningSpeaker.peerStatus().map((ps) => peerRow(ps, p.origins.get(ps.address))),
        originated: announced.size,
        felix: { ready: fs.ready, inSync: fs.inSync, applies: fs.applies, failures: fs.failures, ...(fs.lastError ? { lastError: fs.lastError } : {}) },
        fib: { installed: fib.installed, restarting: fib.restarting },
        notes: [...p.notes, ...originationNotes],
      };
    };

    // The VXLAN overlay (vxlan.ts): its device, tunnel address, routes, neighbours and FDB,
    // and the inner MTU for new workloads. Its first pass is done before the socket serves.
    const vxlan = await startVxlan({ store, ipam, nodeName: name, nodeCidr: addrs.ipv4, log: logger('vxlan', { node: name }) });
    cleanups.push(() => vxlan.stop());

    const control: Server = await serveControl(socketPath, {
      ...cniControlRoutes({ ipam, store, nodeName: name, log: logger('cni', { node: name }), defaultMtu: () => vxlan.workloadMtu(), clusterDns: dns ? (ns) => cniDns(ns) : undefined }),
      'GET /status': () => status(),
      'GET /routes': (_body, q) => runningSpeaker.routes({ prefix: q.get('prefix') ?? undefined, limit: q.has('limit') ? Number(q.get('limit')) : undefined }),
    });
    // Closed first at shutdown: no new CNI work while the rest goes down.
    cleanups.push(() => new Promise<void>((resolve) => control.close(() => resolve())));

    const releaseTimer = setInterval(() => {
      void ipam
        .releaseEmptyBlocks(name)
        .then((released) => {
          if (released.length > 0) log.info({ blocks: released }, 'released empty IPAM blocks');
          return refreshBlocks();
        })
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'releasing empty blocks failed'));
    }, options.blockReleaseIntervalMs ?? 60_000);
    releaseTimer.unref();
    cleanups.push(() => clearInterval(releaseTimer));

    log.info({ socket: socketPath, ipv4: addrs.ipv4, ipv6: addrs.ipv6 }, 'node running');

    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    let stopping: Promise<void> | null = null;
    const shutdown = (reason = 'tortie node shutting down') =>
      (stopping ??= (async () => {
        log.info({ reason }, 'shutting down');
        await undo();
        resolveDone();
      })());
    const onSignal = (signal: NodeJS.Signals) => void shutdown(`received ${signal}`);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    void done.then(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
    return { name, status, done, shutdown };
  } catch (err) {
    await undo();
    throw err;
  }
}
