/**
 * Communities (RFC 1997) and large communities (RFC 8092) in policies: parsing their text
 * forms, matching them (with `*` wildcards, like BIRD's `(65000, *)`), and editing the
 * lists (add / remove / replace) without touching the input's arrays.
 */
import type { LargeCommunity, PathAttributes } from '../wire/attributes/types.js';
import { fail, show } from '../../common/fields.js';
import type { Modifier, Predicate } from './types.js';

/** Well-known communities by the names FRR and BIRD users write. */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = Object.freeze({
  'graceful-shutdown': 0xffff0000, // RFC 8326
  blackhole: 0xffff029a, // RFC 7999
  'no-export': 0xffffff01, // RFC 1997
  'no-advertise': 0xffffff02, // RFC 1997
  'no-export-subconfed': 0xffffff03, // RFC 1997
});

/** Matches community c when `(c & mask) === value` (both signed int32, as `&` gives). */
export interface CommunityPattern {
  readonly value: number;
  readonly mask: number;
}

/** A large community with `null` for a `*` part. */
export interface LargeCommunityPattern {
  readonly globalAdmin: number | null;
  readonly localData1: number | null;
  readonly localData2: number | null;
}

const STANDARD_HELP = 'A:B with A and B 0-65535, or no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown';
const LARGE_HELP = 'A:B:C with each part 0-4294967295';

function part(text: string, max: number, wildcard: boolean): number | null | undefined {
  if (wildcard && text === '*') return null;
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** "A:B", a well-known name, or (with `wildcard`) "A:*", "*:B" -> pattern. */
export function parseCommunity(v: unknown, path: string, wildcard: boolean): CommunityPattern {
  if (typeof v !== 'string') fail(path, `must be a community (${STANDARD_HELP}), not ${show(v)}`);
  const known = WELL_KNOWN_COMMUNITIES[v.toLowerCase()];
  if (known !== undefined) return { value: known | 0, mask: -1 };
  const parts = v.split(':');
  if (parts.length === 3) fail(path, `${show(v)} is a large community: list it under largeCommunities`);
  const hi = parts.length === 2 ? part(parts[0]!, 0xffff, wildcard) : undefined;
  const lo = parts.length === 2 ? part(parts[1]!, 0xffff, wildcard) : undefined;
  if (hi === undefined || lo === undefined) fail(path, `${show(v)} is not a community (${wildcard ? `${STANDARD_HELP}; * for any part` : STANDARD_HELP})`);
  const mask = (hi === null ? 0 : 0xffff0000) | (lo === null ? 0 : 0xffff);
  return { value: ((hi ?? 0) * 0x10000 + (lo ?? 0)) & mask, mask: mask | 0 };
}

/** A pattern without wildcards, as the uint32 the codec carries. */
export function communityValue(p: CommunityPattern): number {
  return p.value >>> 0;
}

/** "A:B:C" or (with `wildcard`) any part `*` -> pattern. */
export function parseLargeCommunity(v: unknown, path: string, wildcard: boolean): LargeCommunityPattern {
  if (typeof v !== 'string') fail(path, `must be a large community (${LARGE_HELP}), not ${show(v)}`);
  const parts = v.split(':');
  const p = parts.length === 3 ? parts.map((x) => part(x, 0xffffffff, wildcard)) : [];
  if (p.length !== 3 || p.includes(undefined)) fail(path, `${show(v)} is not a large community (${wildcard ? `${LARGE_HELP}; * for any part` : LARGE_HELP})`);
  return { globalAdmin: p[0]!, localData1: p[1]!, localData2: p[2]! };
}

export function largeCommunityValue(p: LargeCommunityPattern): LargeCommunity {
  return Object.freeze({ globalAdmin: p.globalAdmin ?? 0, localData1: p.localData1 ?? 0, localData2: p.localData2 ?? 0 });
}

function matchesStandard(c: number, patterns: readonly CommunityPattern[]): boolean {
  for (let j = 0; j < patterns.length; j++) {
    const p = patterns[j]!;
    if ((c & p.mask) === p.value) return true;
  }
  return false;
}

function matchesLarge(c: LargeCommunity, patterns: readonly LargeCommunityPattern[]): boolean {
  for (let j = 0; j < patterns.length; j++) {
    const p = patterns[j]!;
    if ((p.globalAdmin === null || p.globalAdmin === c.globalAdmin)
      && (p.localData1 === null || p.localData1 === c.localData1)
      && (p.localData2 === null || p.localData2 === c.localData2)) return true;
  }
  return false;
}

/** The route carries any of the communities. */
export function hasAnyCommunity(patterns: readonly CommunityPattern[]): Predicate {
  return (_input, attrs) => {
    const cs = attrs.communities;
    if (cs === undefined) return false;
    for (let i = 0; i < cs.length; i++) if (matchesStandard(cs[i]!, patterns)) return true;
    return false;
  };
}

/** The route carries any of the large communities. */
export function hasAnyLargeCommunity(patterns: readonly LargeCommunityPattern[]): Predicate {
  return (_input, attrs) => {
    const cs = attrs.largeCommunities;
    if (cs === undefined) return false;
    for (let i = 0; i < cs.length; i++) if (matchesLarge(cs[i]!, patterns)) return true;
    return false;
  };
}

export interface CommunityEdit<V, P> {
  /** Start from this list instead of the route's (an empty list clears them). */
  replace?: readonly V[];
  remove?: readonly P[];
  add?: readonly V[];
}

/**
 * replace, then remove, then add (a value already present is not added twice; order kept).
 * An empty result drops the attribute rather than sending an empty one.
 */
export function editCommunities(edit: CommunityEdit<number, CommunityPattern>): Modifier {
  return (attrs) => {
    const before = attrs.communities ?? [];
    let list = (edit.replace ?? before).slice();
    if (edit.remove) list = list.filter((c) => !matchesStandard(c, edit.remove!));
    for (const c of edit.add ?? []) if (!list.includes(c)) list.push(c);
    if (sameList(list, before, (a, b) => a === b)) return attrs;
    const out: PathAttributes = { ...attrs };
    if (list.length > 0) out.communities = list;
    else delete out.communities;
    return out;
  };
}

export function editLargeCommunities(edit: CommunityEdit<LargeCommunity, LargeCommunityPattern>): Modifier {
  return (attrs) => {
    const before = attrs.largeCommunities ?? [];
    let list = (edit.replace ?? before).slice();
    if (edit.remove) list = list.filter((c) => !matchesLarge(c, edit.remove!));
    for (const c of edit.add ?? []) if (!list.some((x) => sameLarge(x, c))) list.push(c);
    if (sameList(list, before, sameLarge)) return attrs;
    const out: PathAttributes = { ...attrs };
    if (list.length > 0) out.largeCommunities = list;
    else delete out.largeCommunities;
    return out;
  };
}

function sameLarge(a: LargeCommunity, b: LargeCommunity): boolean {
  return a.globalAdmin === b.globalAdmin && a.localData1 === b.localData1 && a.localData2 === b.localData2;
}

function sameList<T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!eq(a[i]!, b[i]!)) return false;
  return true;
}
