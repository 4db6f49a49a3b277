/**
 * Names and constants a container's wiring is made of, shared with felix and the node
 * daemon: the host veth name (a hash of the workload, so that what is ours can be found),
 * the gateway addresses, the host veth MAC, the IPAM handle and the WorkloadEndpoint name.
 */
import { createHash } from 'node:crypto';

/** Host-side veths are HOST_VETH_PREFIX + 9 hex digits of a hash (15 characters, the kernel's limit). */
export const HOST_VETH_PREFIX = 'tortie';
const HOST_VETH_HASH_CHARS = 15 - HOST_VETH_PREFIX.length;

/** Calico's fixed host-side MAC: every container sees the same gateway MAC. */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** The container's IPv4 gateway: answered by proxy ARP on the host veth (and a static neighbour). */
export const GATEWAY_V4 = '169.254.1.1';
/** The container's IPv6 gateway: the host veth's link-local address (EUI-64 of HOST_VETH_MAC). */
export const GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';

/**
 * Routing protocol number of the host routes to workloads (`ip route ... proto 80`).
 * Felix owns these routes; ADD installs them too, so that a host without felix works, and
 * felix must use this same number so that it recognises and keeps them.
 */
export const WORKLOAD_ROUTE_PROTOCOL = 80;

/** The IPAM handle of one container's addresses on one network. */
export function handleId(network: string, containerId: string): string {
  return `tortie.${network}.${containerId}`;
}

/** What identifies a workload for the host veth name: "namespace/pod" under k8s, else the container id. */
export function workloadKey(info: { namespace: string; pod?: string; containerId: string; ifName: string }): string {
  const base = info.pod ? `${info.namespace}/${info.pod}` : info.containerId;
  return info.ifName === 'eth0' ? base : `${base}/${info.ifName}`;
}

export function hostVethName(key: string): string {
  return HOST_VETH_PREFIX + createHash('sha1').update(key).digest('hex').slice(0, HOST_VETH_HASH_CHARS);
}

/**
 * The container interface's MAC: chosen by us (locally administered, from a hash of the
 * attachment) rather than read back from the kernel, so ADD needs no extra round trip and
 * the endpoint can be written while the kernel work runs.
 */
export function containerMac(containerId: string, ifName: string): string {
  const h = createHash('sha1').update(`${containerId}/${ifName}`).digest();
  h[0] = (h[0]! & 0xfe) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Calico escapes '-' as '--' in each part, so that the '-' between parts stays unambiguous. */
function escapePart(part: string): string {
  return part.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/-/g, '--');
}

/** The WorkloadEndpoint name, Calico's way: NODE-ORCHESTRATOR-WORKLOAD-ENDPOINT. */
export function endpointName(node: string, orchestrator: string, workload: string, endpoint: string): string {
  const name = [node, orchestrator, workload, endpoint].map(escapePart).join('-');
  // Names end in a letter or digit, and dots may not sit next to '-'.
  return name.replace(/\.(?=-)|(?<=-)\./g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

/** The namespace of a WorkloadEndpoint: a DNS-1123 label. */
export function endpointNamespace(ns: string): string {
  const out = ns.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return out || 'default';
}
