/**
 * DNS records of workloads in the datastore: the key layout and the value's shape, shared by
 * the registrar (which writes them) and the server (which reads them). Pure: no I/O.
 *
 * Layout (one key per workload name and host):
 *
 *   /tortie/v1/dns/<namespace>/<name>/<node>   ->  JSON DnsRecord, bound to <node>'s DNS lease
 *
 * - <namespace> and <name> are DNS labels (lower case, [a-z0-9-], at most 63 characters): the
 *   workload answers as `<name>.<namespace>.<domain>` (domain default `tortie.local`).
 * - <node> is the registering host. The same name may exist on two hosts for a moment (a
 *   workload moved); the server answers with the union of their addresses.
 * - Every key of a host is bound to one lease of that host (TTL e.g. 30 s), kept alive while
 *   the host's registrar runs: when the host dies, its records expire with the lease.
 * - The value lists the addresses of every endpoint of the workload on that host, and its
 *   named ports (for SRV).
 */
import { canonicalIp } from '../common/ip.js';
import type { Resource } from '../datastore/resources/types.js';

export const DNS_PREFIX = '/tortie/v1/dns/';

export interface DnsPort {
  /** The port's name as the endpoint gives it, lower case (`http`). */
  name: string;
  /** `tcp`, `udp` or `sctp` (lower case, as in `_http._tcp`). */
  protocol: string;
  port: number;
}

export interface DnsRecord {
  name: string;
  namespace: string;
  node: string;
  /** Plain addresses (no prefix length), IPv4 and IPv6. */
  addresses: string[];
  ports: DnsPort[];
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(text: string): boolean {
  return LABEL.test(text);
}

export function dnsRecordKey(namespace: string, name: string, node: string): string {
  return `${DNS_PREFIX}${namespace}/${name}/${node}`;
}

/** The parts of a key under DNS_PREFIX, or null for a key of another shape. */
export function parseDnsRecordKey(key: string): { namespace: string; name: string; node: string } | null {
  if (!key.startsWith(DNS_PREFIX)) return null;
  const parts = key.slice(DNS_PREFIX.length).split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return null;
  return { namespace: parts[0]!, name: parts[1]!, node: parts[2]! };
}

/** Reads a record's value; null for anything that is not a well-formed record. */
export function decodeDnsRecord(value: string): DnsRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.name !== 'string' || typeof r.namespace !== 'string' || typeof r.node !== 'string') return null;
  if (!Array.isArray(r.addresses) || !r.addresses.every((a) => typeof a === 'string')) return null;
  const ports = Array.isArray(r.ports) ? r.ports : [];
  const goodPorts: DnsPort[] = [];
  for (const p of ports) {
    if (typeof p !== 'object' || p === null) continue;
    const q = p as Record<string, unknown>;
    if (typeof q.name === 'string' && typeof q.protocol === 'string' && Number.isInteger(q.port) && (q.port as number) >= 1 && (q.port as number) <= 65535) {
      goodPorts.push({ name: q.name.toLowerCase(), protocol: q.protocol.toLowerCase(), port: q.port as number });
    }
  }
  return { name: r.name.toLowerCase(), namespace: r.namespace.toLowerCase(), node: r.node, addresses: r.addresses as string[], ports: goodPorts };
}

/** The DNS name of a workload endpoint: spec.workload, else spec.pod, else metadata.name. */
export function workloadDnsName(endpoint: Resource<'WorkloadEndpoint'>): string {
  return (endpoint.spec.workload || endpoint.spec.pod || endpoint.metadata.name).toLowerCase();
}

export type RecordFromEndpoint = { ok: true; record: DnsRecord } | { ok: false; problem: string };

/**
 * The record part one endpoint contributes on `node`. An endpoint whose name or namespace is
 * not a DNS label, or that has no address, has no record (the problem says why).
 */
export function recordFromEndpoint(endpoint: Resource<'WorkloadEndpoint'>, node: string): RecordFromEndpoint {
  const name = workloadDnsName(endpoint);
  const namespace = (endpoint.metadata.namespace ?? 'default').toLowerCase();
  if (!isDnsLabel(name)) return { ok: false, problem: `name "${name}" is not a DNS label ([a-z0-9-], at most 63 characters)` };
  if (!isDnsLabel(namespace)) return { ok: false, problem: `namespace "${namespace}" is not a DNS label` };
  const addresses: string[] = [];
  for (const net of endpoint.spec.ipNetworks ?? []) {
    const address = canonicalIp(net.split('/')[0]!);
    if (address === null) return { ok: false, problem: `ipNetworks entry "${net}" is not an address` };
    addresses.push(address);
  }
  if (addresses.length === 0) return { ok: false, problem: 'no addresses (spec.ipNetworks is empty)' };
  const ports: DnsPort[] = [];
  for (const p of endpoint.spec.ports ?? []) {
    if (!p.name) continue;
    ports.push({ name: p.name.toLowerCase(), protocol: String(p.protocol).toLowerCase(), port: p.port });
  }
  return { ok: true, record: { name, namespace, node, addresses, ports } };
}

/** Merges the parts of several endpoints of one workload on one host into one record. */
export function mergeRecords(parts: DnsRecord[]): DnsRecord {
  const first = parts[0]!;
  const addresses = [...new Set(parts.flatMap((p) => p.addresses))].sort();
  const seen = new Set<string>();
  const ports: DnsPort[] = [];
  for (const p of parts.flatMap((x) => x.ports)) {
    const id = `${p.name}/${p.protocol}/${p.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    ports.push(p);
  }
  ports.sort((a, b) => a.name.localeCompare(b.name) || a.protocol.localeCompare(b.protocol) || a.port - b.port);
  return { name: first.name, namespace: first.namespace, node: first.node, addresses, ports };
}
