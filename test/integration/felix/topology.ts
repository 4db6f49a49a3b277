/**
 * A host the way the CNI plugin and the node daemon leave it, in namespaces of a test scope:
 * - a "host" namespace with an uplink (eth0, 192.168.<n>.1/24) to an "ext" namespace that
 *   stands for the world outside (192.168.<n>.2), and a default route through it, as a real
 *   host has (proxy ARP for 169.254.1.1 needs the host to have a route to it);
 * - per workload a namespace joined to the host by a veth pair: the workload side is eth0
 *   with <ip>/32 and a default route via 169.254.1.1 on-link; the host side is named
 *   `tortie` + a hash of the workload and has no address.
 * felix then has to make it work: routes, proxy ARP, forwarding.
 */
import { createHash } from 'node:crypto';
import { ipBatch, type NetnsScope } from '../../../src/kernel/index.js';
import type { ResourceStore } from '../../../src/datastore/resources/store.js';

export interface Workload {
  name: string;
  /** The workload's network namespace. */
  netns: string;
  ip: string;
  /** Host-side interface. */
  iface: string;
  namespace: string;
  labels: Record<string, string>;
  ports: { name: string; protocol: string; port: number }[];
}

export interface WorkloadSpec {
  name: string;
  ip: string;
  namespace?: string;
  labels?: Record<string, string>;
  ports?: { name: string; protocol: string; port: number }[];
}

export interface Topology {
  host: string;
  ext: string;
  hostIp: string;
  extIp: string;
  workloads: Map<string, Workload>;
}

export function hostIfaceName(workload: string): string {
  return `tortie${createHash('sha256').update(workload).digest('hex').slice(0, 9)}`;
}

export async function makeTopology(scope: NetnsScope, subnet: number, specs: WorkloadSpec[]): Promise<Topology> {
  const host = await scope.netns('host');
  const ext = await scope.netns('ext');
  const hostIp = `192.168.${subnet}.1`;
  const extIp = `192.168.${subnet}.2`;
  await scope.veth({ netns: host, name: 'eth0', addresses: [`${hostIp}/24`] }, { netns: ext, name: 'eth0', addresses: [`${extIp}/24`] });
  await ipBatch([`route add default via ${extIp} dev eth0`], { netns: host });
  const workloads = new Map<string, Workload>();
  for (const s of specs) {
    const w = await addWorkload(scope, host, s);
    workloads.set(s.name, w);
  }
  return { host, ext, hostIp, extIp, workloads };
}

export async function addWorkload(scope: NetnsScope, host: string, s: WorkloadSpec): Promise<Workload> {
  const netns = await scope.netns(`w${s.name}`);
  const iface = hostIfaceName(`${scope.prefix}/${s.name}`);
  await scope.veth({ netns: host, name: iface }, { netns, name: 'eth0', addresses: [`${s.ip}/32`] });
  await ipBatch(['route add default via 169.254.1.1 dev eth0 onlink'], { netns });
  return { name: s.name, netns, ip: s.ip, iface, namespace: s.namespace ?? 'default', labels: s.labels ?? {}, ports: s.ports ?? [] };
}

/** Writes the WorkloadEndpoint the CNI plugin would write for this workload. */
export async function writeEndpoint(store: ResourceStore, node: string, w: Workload, labels = w.labels): Promise<number> {
  const r = await store.apply({
    apiVersion: 'tortie.dev/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name: `${node}-k8s-${w.name}-eth0`, namespace: w.namespace, labels },
    spec: {
      node,
      orchestrator: 'k8s',
      pod: w.name,
      endpoint: 'eth0',
      interfaceName: w.iface,
      ipNetworks: [`${w.ip}/32`],
      ...(w.ports.length > 0 ? { ports: w.ports } : {}),
    },
  });
  return Number(r.metadata.resourceVersion);
}
