/**
 * Where IPAM keeps its state in the KV store. Everything lives under /tortie/v1/ipam/; there
 * is no global lock: each record is changed only by compare-and-swap on its own revision,
 * and changes that must go together (a block and a handle) go in one transaction.
 *
 *   /tortie/v1/ipam/blocks/<block>            one per claimed block, e.g. blocks/10.65.0.64-26
 *       { cidr, affinity: "host:NODE" | null, allocations: [attrIndex | null per ordinal],
 *         unallocated: [ordinal...] (free list; freed ordinals go to the tail so an address
 *         is not handed out again at once), attributes: [{handle, attrs}],
 *         sequence: next sequence number, seqs: {ordinal: sequence number at allocation},
 *         emptySince: ms timestamp the block became empty, or null }
 *
 *   /tortie/v1/ipam/affinities/<node>/<block> one per block a host holds
 *       { node, cidr, state: "confirmed" | "pending" | "pendingDeletion" }
 *       Listing affinities/<node>/ finds a host's blocks without reading every block.
 *
 *   /tortie/v1/ipam/handles/<handle>          one per allocation owner (a container, a script)
 *       { handle, attrs, blocks: {"<block cidr>": count of addresses held in that block} }
 *
 * Block keys write the CIDR with "/" as "-" (10.65.0.64-26, fd00--40-122 for fd00::40/122);
 * node and handle ids are URI-encoded so that a "/" in a name cannot make a new key level.
 */
import type { Cidr } from './addr.js';
import { formatCidr } from './addr.js';

export const IPAM_PREFIX = '/tortie/v1/ipam/';
export const BLOCKS_PREFIX = `${IPAM_PREFIX}blocks/`;
export const AFFINITIES_PREFIX = `${IPAM_PREFIX}affinities/`;
export const HANDLES_PREFIX = `${IPAM_PREFIX}handles/`;

export function blockName(cidr: string): string {
  return cidr.replace(/:/g, '-').replace('/', '-');
}

export function blockKey(cidr: string | Cidr): string {
  return BLOCKS_PREFIX + blockName(typeof cidr === 'string' ? cidr : formatCidr(cidr));
}

export function hostAffinityPrefix(node: string): string {
  return `${AFFINITIES_PREFIX}${encodeURIComponent(node)}/`;
}

export function affinityKey(node: string, cidr: string): string {
  return hostAffinityPrefix(node) + blockName(cidr);
}

export function handleKey(handle: string): string {
  return HANDLES_PREFIX + encodeURIComponent(handle);
}

/** "host:NODE", the affinity string a block carries. */
export function hostAffinity(node: string): string {
  return `host:${node}`;
}

/** The node of a "host:NODE" affinity, or null. */
export function affinityNode(affinity: string | null | undefined): string | null {
  return affinity && affinity.startsWith('host:') ? affinity.slice(5) : null;
}
