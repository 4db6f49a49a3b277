/**
 * A handle names the owner of some addresses (a container's network, a script's lease) and
 * counts how many it holds in each block, so that "release by handle" reads one key and then
 * only the blocks that matter. A handle and the blocks it counts change in one transaction.
 */
import type { AllocationAttrs } from './block.js';

export interface HandleRecord {
  handle: string;
  attrs: AllocationAttrs;
  /** Block CIDR -> number of addresses the handle holds in it. */
  blocks: Record<string, number>;
}

export function newHandle(handle: string, attrs: AllocationAttrs): HandleRecord {
  return { handle, attrs, blocks: {} };
}

/** Adds `delta` (negative to remove) addresses in block `cidr`; returns a new record. */
export function adjustHandle(h: HandleRecord, cidr: string, delta: number): HandleRecord {
  const blocks = { ...h.blocks };
  const n = (blocks[cidr] ?? 0) + delta;
  if (n > 0) blocks[cidr] = n;
  else delete blocks[cidr];
  return { ...h, blocks };
}

export function handleTotal(h: HandleRecord): number {
  return Object.values(h.blocks).reduce((a, b) => a + b, 0);
}

export function decodeHandle(text: string, key: string): HandleRecord {
  const h = JSON.parse(text) as HandleRecord;
  if (typeof h?.handle !== 'string' || typeof h.blocks !== 'object' || h.blocks === null) {
    throw new Error(`IPAM handle at "${key}" is malformed`);
  }
  h.attrs ??= {};
  return h;
}
