/**
 * Service discovery on one host, in one call, for the node daemon to host:
 *
 *   const dns = await startNodeDns({ kv, store, nodeName, log });   // after the datastore opens
 *   ...
 *   await dns.stop();                                                // on SIGTERM
 *
 * It
 *   1. registers this node's workloads (DnsRegistrar, following the WorkloadEndpoints whose
 *      spec.node is this node, bound to a lease of this host, TTL 30 s by default);
 *   2. puts 169.254.1.1/32 on this namespace's `lo` (label `lo:tortie`, so that it is known
 *      as ours), unless `ensureAddress: false`. 169.254.1.1 is already every workload's
 *      gateway (proxy ARP on the host veth, src/cni/names.ts), so a workload's packets to
 *      169.254.1.1:53 reach the host; with the address local, the host takes them itself,
 *      and answers over the workload's /32 route;
 *   3. serves DNS on 169.254.1.1:53, UDP and TCP (startDnsServer).
 *
 * The CNI result then names the server: `dns: cniDns(namespace)` gives
 * { nameservers: ['169.254.1.1'], search: ['<ns>.tortie.local', 'tortie.local'] }.
 *
 * The daemon must run this in the host's namespace (as it does everything else), never
 * in a test's root namespace: step 2 changes `lo` of the namespace it runs in (or `netns`).
 */
import type { KV } from '../datastore/kv.js';
import type { ResourceStore } from '../datastore/resources/store.js';
import { ipBatch } from '../kernel/exec.js';
import type { Logger } from '../log/logger.js';
import { DnsRegistrar, DEFAULT_DNS_LEASE_TTL_SECONDS } from './registry.js';
import { DEFAULT_DNS_DOMAIN, NODE_DNS_ADDRESS, normaliseDomain, startDnsServer, type DnsServer, type ListenAddress } from './server.js';

export interface NodeDnsOptions {
  kv: KV;
  store: ResourceStore;
  nodeName: string;
  log: Logger;
  leaseTtlSeconds?: number;
  domain?: string;
  /** TTL of answers (default 5 s). */
  ttlSeconds?: number;
  /** Default: 169.254.1.1:53. */
  listen?: ListenAddress[];
  /** Put 169.254.1.1/32 on lo first (default true). */
  ensureAddress?: boolean;
  /** The namespace whose lo gets the address (default: this process's). */
  netns?: string;
}

export interface NodeDns {
  readonly registrar: DnsRegistrar;
  readonly server: DnsServer;
  stop(): Promise<void>;
}

/** The `lo` address label that marks 169.254.1.1/32 as tortie's. */
export const DNS_ADDRESS_LABEL = 'lo:tortie';

/** Adds 169.254.1.1/32 to lo (idempotent). */
export async function ensureDnsAddress(netns?: string, address = NODE_DNS_ADDRESS): Promise<void> {
  await ipBatch([`addr replace ${address}/32 dev lo label ${DNS_ADDRESS_LABEL}`], netns === undefined ? {} : { netns });
}

/** The CNI result's `dns` for a workload in `namespace`. */
export function cniDns(namespace: string, domain = DEFAULT_DNS_DOMAIN, nameserver = NODE_DNS_ADDRESS): { nameservers: string[]; search: string[] } {
  const zone = normaliseDomain(domain);
  return { nameservers: [nameserver], search: [`${namespace.toLowerCase()}.${zone}`, zone] };
}

export async function startNodeDns(options: NodeDnsOptions): Promise<NodeDns> {
  const listen = options.listen ?? [{ address: NODE_DNS_ADDRESS, port: 53 }];
  if (options.ensureAddress !== false) {
    for (const l of listen) if (l.address === NODE_DNS_ADDRESS) await ensureDnsAddress(options.netns);
  }
  const registrar = new DnsRegistrar({
    kv: options.kv,
    nodeName: options.nodeName,
    leaseTtlSeconds: options.leaseTtlSeconds ?? DEFAULT_DNS_LEASE_TTL_SECONDS,
    log: options.log,
  });
  const server = startDnsServer({ kv: options.kv, listen, domain: options.domain, ttlSeconds: options.ttlSeconds, log: options.log });
  try {
    await server.ready;
  } catch (err) {
    await registrar.stop();
    throw err;
  }
  registrar.start(options.store);
  return {
    registrar,
    server,
    async stop() {
      await server.stop();
      // Records stay until the lease runs out: a daemon restart does not blank the names
      // of workloads that keep running. The new run sweeps what is stale.
      await registrar.stop({ keepRecords: true });
    },
  };
}
