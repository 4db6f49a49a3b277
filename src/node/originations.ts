/**
 * What this node announces: a /32 (/128) for each address of each local WorkloadEndpoint
 * (spec.node == this node, spec.ipNetworks), the design card's shape, with the communities
 * that BGPConfiguration "default" attaches to prefixes (prefixAdvertisements, where a
 * community is a value "aa:nn" or a name from spec.communities).
 *
 * Calico's own shape, the node's affine block aggregates plus /32s only for addresses this
 * node borrowed from other nodes' blocks, is chosen with the annotation
 * `tortie.dev/advertise: blocks` on BGPConfiguration "default"; `blocks` are then the
 * node's IPAM blocks (the daemon reads them from IPAM) and felix blackholes them locally.
 *
 * Pure: the daemon diffs the result with what it announced and calls announce/withdraw.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { OriginateConfig } from '../bgp/speaker/config.js';
import type { BGPConfiguration, WorkloadEndpoint } from '../datastore/resources/types.js';

export const ADVERTISE_ANNOTATION = 'tortie.dev/advertise';
export type AdvertiseMode = 'addresses' | 'blocks';

export function advertiseMode(defaults: BGPConfiguration | undefined): AdvertiseMode {
  return defaults?.metadata.annotations?.[ADVERTISE_ANNOTATION] === 'blocks' ? 'blocks' : 'addresses';
}

function parsePrefix(text: string): { ip: string; length: number; v4: boolean } | null {
  const [ip, len] = text.split('/');
  if (!ip) return null;
  const v4 = isIPv4(ip);
  const length = len === undefined ? (v4 ? 32 : 128) : Number(len);
  return Number.isInteger(length) ? { ip, length, v4 } : null;
}

function contains(cidr: string, prefix: { ip: string; length: number; v4: boolean }): boolean {
  const c = parsePrefix(cidr);
  if (!c || c.v4 !== prefix.v4 || c.length > prefix.length) return false;
  const list = new BlockList();
  try {
    list.addSubnet(c.ip, c.length, c.v4 ? 'ipv4' : 'ipv6');
    return list.check(prefix.ip, prefix.v4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
}

/** Standard communities for a prefix, from BGPConfiguration prefixAdvertisements. */
export function communitiesFor(prefix: string, defaults: BGPConfiguration | undefined, notes?: Set<string>): string[] {
  const spec = defaults?.spec;
  const p = parsePrefix(prefix);
  if (!spec?.prefixAdvertisements || !p) return [];
  const named = new Map((spec.communities ?? []).map((c) => [c.name, c.value]));
  const out: string[] = [];
  for (const adv of spec.prefixAdvertisements) {
    if (!contains(adv.cidr, p)) continue;
    for (const c of adv.communities) {
      const value = c.includes(':') ? c : named.get(c);
      if (value === undefined) continue;
      if (value.split(':').length !== 2) {
        notes?.add(`BGPConfiguration default: large community ${value} for ${adv.cidr} is not supported yet`);
        continue;
      }
      if (!out.includes(value)) out.push(value);
    }
  }
  return out;
}

/** One host prefix per address: "10.65.0.7/32", "fd65::7/128". */
export function hostPrefix(ipNetwork: string): string | null {
  const p = parsePrefix(ipNetwork);
  return p ? `${p.ip}/${p.v4 ? 32 : 128}` : null;
}

export interface OriginationInputs {
  nodeName: string;
  endpoints: Iterable<WorkloadEndpoint>;
  defaults: BGPConfiguration | undefined;
  /** This node's IPAM blocks (used in `blocks` mode). */
  blocks: readonly string[];
}

/** The routes this node should announce, by prefix. */
export function computeOriginations(inputs: OriginationInputs, notes?: Set<string>): Map<string, OriginateConfig> {
  const mode = advertiseMode(inputs.defaults);
  const out = new Map<string, OriginateConfig>();
  const add = (prefix: string) => {
    if (!out.has(prefix)) out.set(prefix, { prefix, communities: communitiesFor(prefix, inputs.defaults, notes) });
  };
  if (mode === 'blocks') for (const b of inputs.blocks) add(b);
  for (const ep of inputs.endpoints) {
    if (ep.spec.node !== inputs.nodeName) continue;
    for (const net of ep.spec.ipNetworks ?? []) {
      const prefix = hostPrefix(net);
      if (prefix === null) continue;
      if (mode === 'blocks') {
        const p = parsePrefix(prefix)!;
        if (inputs.blocks.some((b) => contains(b, p))) continue; // covered by our block
      }
      add(prefix);
    }
  }
  return out;
}
