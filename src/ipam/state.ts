/**
 * Reading IPAM's records. `readIpamState` takes every IPAM key in one list, so the blocks,
 * handles and affinities it returns are one consistent snapshot (a block and its handles are
 * always written in one transaction): check and show never see half a change.
 */
import type { KV } from '../datastore/kv.js';
import type { BlockRecord } from './block.js';
import { decodeBlock } from './block.js';
import type { HandleRecord } from './handle.js';
import { decodeHandle } from './handle.js';
import { AFFINITIES_PREFIX, BLOCKS_PREFIX, HANDLES_PREFIX, IPAM_PREFIX } from './keys.js';

export interface Versioned<T> {
  key: string;
  value: T;
  rev: number;
}

export type AffinityState = 'pending' | 'confirmed' | 'pendingDeletion';

export interface AffinityRecord {
  node: string;
  cidr: string;
  state: AffinityState;
}

export interface IpamState {
  revision: number;
  blocks: Versioned<BlockRecord>[];
  handles: Map<string, Versioned<HandleRecord>>;
  affinities: Versioned<AffinityRecord>[];
}

export function decodeAffinity(text: string, key: string): AffinityRecord {
  const a = JSON.parse(text) as AffinityRecord;
  if (typeof a?.node !== 'string' || typeof a.cidr !== 'string') throw new Error(`IPAM affinity at "${key}" is malformed`);
  return a;
}

export async function readIpamState(kv: KV): Promise<IpamState> {
  const { items, revision } = await kv.list(IPAM_PREFIX);
  const state: IpamState = { revision, blocks: [], handles: new Map(), affinities: [] };
  for (const kv of items) {
    if (kv.key.startsWith(BLOCKS_PREFIX)) {
      state.blocks.push({ key: kv.key, value: decodeBlock(kv.value, kv.key), rev: kv.modRevision });
    } else if (kv.key.startsWith(HANDLES_PREFIX)) {
      const h = decodeHandle(kv.value, kv.key);
      state.handles.set(h.handle, { key: kv.key, value: h, rev: kv.modRevision });
    } else if (kv.key.startsWith(AFFINITIES_PREFIX)) {
      state.affinities.push({ key: kv.key, value: decodeAffinity(kv.value, kv.key), rev: kv.modRevision });
    }
  }
  return state;
}
