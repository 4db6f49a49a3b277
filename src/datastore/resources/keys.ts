/**
 * Where resources live in the KV store.
 *
 *   /tortie/v1/resources/<kind lower-case>/<name>                cluster-wide kinds
 *   /tortie/v1/resources/<kind lower-case>/<namespace>/<name>    NetworkPolicy, WorkloadEndpoint
 *
 * e.g. /tortie/v1/resources/ippool/pool-a, /tortie/v1/resources/networkpolicy/default/allow-dns.
 * The value is the resource's JSON without metadata.resourceVersion, which is the key's
 * modRevision. Names and namespaces never contain '/', so a key parses back unambiguously.
 */
import { kindInfo } from './kinds.js';
import type { KindName } from './types.js';

export const RESOURCES_PREFIX = '/tortie/v1/resources/';

/** Prefix of every key of one kind (and one namespace, if given). */
export function kindPrefix(kind: KindName, namespace?: string): string {
  const base = `${RESOURCES_PREFIX}${kind.toLowerCase()}/`;
  return namespace !== undefined && kindInfo(kind).namespaced ? `${base}${namespace}/` : base;
}

export function resourceKey(kind: KindName, name: string, namespace?: string): string {
  if (kindInfo(kind).namespaced) {
    if (namespace === undefined) throw new Error(`resourceKey: ${kind} "${name}" needs a namespace`);
    return `${kindPrefix(kind, namespace)}${name}`;
  }
  return `${kindPrefix(kind)}${name}`;
}
