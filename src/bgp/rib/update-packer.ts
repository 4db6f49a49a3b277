/**
 * Turn one batch of Adj-RIB-Out decisions (prefixes to withdraw; prefixes to announce, each
 * with its outgoing attribute set) into UPDATE messages: prefixes grouped by attribute set,
 * each set written once per message, as many prefixes per message as the session allows.
 */
import { Safi } from '../wire/constants.js';
import { createNlriList, type NlriList } from '../wire/nlri.js';
import { packAnnouncements, packWithdrawals } from '../wire/pack.js';
import type { SessionWireFormat } from '../wire/session-format.js';
import type { OutStore } from './export.js';
import type { PrefixTable } from './prefix-table.js';

function nlriOf(table: PrefixTable, pids: Int32Array, from: number, to: number, pathIds: Int32Array | null = null): NlriList {
  const list = createNlriList(table.afi, to - from, pathIds !== null);
  if (pathIds !== null) for (let i = from; i < to; i++) (list.pathIds as Uint32Array)[i - from] = pathIds[i] as number;
  const w = table.words;
  const src = table.addrs;
  const addrs = list.addrs;
  const lengths = list.lengths;
  if (w === 1) {
    for (let i = from; i < to; i++) {
      const pid = pids[i] as number;
      addrs[i - from] = src[pid] as number;
      lengths[i - from] = table.lengths[pid] as number;
    }
  } else {
    for (let i = from; i < to; i++) {
      const pid = pids[i] as number;
      const k = (i - from) * 4;
      addrs[k] = src[pid * 4] as number;
      addrs[k + 1] = src[pid * 4 + 1] as number;
      addrs[k + 2] = src[pid * 4 + 2] as number;
      addrs[k + 3] = src[pid * 4 + 3] as number;
      lengths[i - from] = table.lengths[pid] as number;
    }
  }
  return list;
}

/**
 * Withdraw pids[0, n) (with ADD-PATH send, path ids pathIds[0, n)). Appends the messages
 * to `out`; returns their total size.
 */
export function packWithdrawn(table: PrefixTable, pids: Int32Array, n: number, wire: SessionWireFormat, out: Buffer[], pathIds: Int32Array | null = null): number {
  if (n === 0) return 0;
  let bytes = 0;
  for (const m of packWithdrawals({ prefixes: nlriOf(table, pids, 0, n, pathIds), safi: Safi.UNICAST }, wire)) {
    out.push(m);
    bytes += m.length;
  }
  return bytes;
}

/**
 * Announce pids[i] with OutStore id outIds[i] (and, with ADD-PATH send, path id
 * pathIds[i]), for i in [0, n). Sorts the arrays by outId in place so that each attribute
 * set's prefixes are contiguous.
 */
export function packAnnounced(
  table: PrefixTable,
  pids: Int32Array,
  outIds: Int32Array,
  n: number,
  outs: OutStore,
  wire: SessionWireFormat,
  out: Buffer[],
  pathIds: Int32Array | null = null,
): number {
  if (n === 0) return 0;
  groupByOutId(pids, outIds, n, pathIds);
  let bytes = 0;
  for (let from = 0; from < n; ) {
    const id = outIds[from] as number;
    let to = from + 1;
    while (to < n && outIds[to] === id) to++;
    const o = outs.get(id);
    const msgs = packAnnouncements(
      { attributes: o.bytes, prefixes: nlriOf(table, pids, from, to, pathIds), safi: Safi.UNICAST, ...(o.mpNextHop !== null ? { nextHop: o.mpNextHop } : {}) },
      wire,
    );
    for (const m of msgs) {
      out.push(m);
      bytes += m.length;
    }
    from = to;
  }
  return bytes;
}

/** Counting sort of (pid, outId) pairs by outId; stable, so prefixes keep queue order. */
function groupByOutId(pids: Int32Array, outIds: Int32Array, n: number, pathIds: Int32Array | null): void {
  let allSame = true;
  const first = outIds[0] as number;
  for (let i = 1; i < n && allSame; i++) allSame = outIds[i] === first;
  if (allSame) return;
  const start = new Map<number, number>();
  for (let i = 0; i < n; i++) start.set(outIds[i] as number, (start.get(outIds[i] as number) ?? 0) + 1);
  let at = 0;
  for (const [id, count] of start) {
    start.set(id, at);
    at += count;
  }
  const p2 = new Int32Array(n);
  const o2 = new Int32Array(n);
  const x2 = pathIds === null ? null : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = outIds[i] as number;
    const k = start.get(id) as number;
    start.set(id, k + 1);
    p2[k] = pids[i] as number;
    o2[k] = id;
    if (x2 !== null) x2[k] = (pathIds as Int32Array)[i] as number;
  }
  pids.set(p2.subarray(0, n));
  outIds.set(o2.subarray(0, n));
  if (x2 !== null) (pathIds as Int32Array).set(x2);
}
