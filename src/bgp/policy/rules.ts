/**
 * tortie's own rule language (the `policies:` of `tortie bgp run --config`), checked field by
 * field and compiled to predicates and modifiers. The language is described for users in
 * index.ts; every error names the field path, e.g.
 * `policies.from-tor[2].match.prefix: "10.0.0.0/33" is not a prefix (...)`.
 */
import { Afi, Origin } from '../wire/constants.js';
import { checkInt, checkList, checkOneOf, fail, Fields, join, show } from '../../common/fields.js';
import { asPathContains, asPathLengthIn, asPathMatches, asPathOriginatedBy, asPathStartsWith, compileAsPathRegex, prependAsns } from './aspath.js';
import {
  communityValue, editCommunities, editLargeCommunities, hasAnyCommunity, hasAnyLargeCommunity,
  largeCommunityValue, parseCommunity, parseLargeCommunity,
} from './community.js';
import { allOf, chain } from './engine.js';
import { setLocalPref, setMed, setNextHop, setOrigin } from './modifiers.js';
import { NEXT_HOP_SELF } from './next-hop.js';
import { familyIs, lengthIn, nextHopIn, originIn, peerAsnIn, peerIbgp, peerIn, prefixIn } from './predicates.js';
import { familyBits, formatAddress, formatPrefix, hasHostBits, masked, parseAddress, parsePrefix, prefixRange, type PrefixRange } from './prefix.js';
import { RuleAction, type CompiledRule, type Modifier, type Predicate } from './types.js';

const RULE_KEYS = ['match', 'set', 'action', 'description'] as const;
const MATCH_KEYS = ['prefix', 'length', 'family', 'peer', 'peerType', 'peerAsn', 'community', 'largeCommunity', 'asPath', 'nextHop', 'origin'] as const;
const AS_PATH_KEYS = ['contains', 'originatedBy', 'startsWith', 'length', 'regex'] as const;
const SET_KEYS = ['localPref', 'med', 'origin', 'communities', 'largeCommunities', 'nextHop', 'prepend'] as const;
const EDIT_KEYS = ['add', 'remove', 'replace'] as const;
const ACTIONS = ['accept', 'reject', 'next'] as const;
const ORIGINS = { igp: Origin.IGP, egp: Origin.EGP, incomplete: Origin.INCOMPLETE } as const;
const MAX_ASN = 0xffffffff;
const MAX_PREPEND = 32;

export function compileRules(rules: unknown, path: string): CompiledRule[] {
  return checkList(rules, path, compileRule);
}

function compileRule(v: unknown, path: string): CompiledRule {
  const f = Fields.of(v, path, RULE_KEYS);
  f.string('description');
  if (!f.has('action')) fail(f.at('action'), `is required: ${ACTIONS.join(', ')}`);
  const action = checkOneOf(f.raw('action'), f.at('action'), ACTIONS);
  const match = f.object('match', compileMatch) ?? null;
  const modify = f.object('set', compileSet) ?? null;
  if (modify !== null && action === 'reject') fail(f.at('set'), 'has no effect: this rule rejects the route (use action: next or accept)');
  return { match, modify, action: action === 'accept' ? RuleAction.ACCEPT : action === 'reject' ? RuleAction.REJECT : RuleAction.NEXT };
}

/** One value or a non-empty list of them ("any of"). */
function oneOrList<T>(v: unknown, path: string, each: (item: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) return [each(v, path)];
  if (v.length === 0) fail(path, 'must list at least one value');
  return checkList(v, path, each);
}

function checkAsn(v: unknown, path: string): number {
  return checkInt(v, path, 1, MAX_ASN);
}

interface LengthRange {
  min?: number;
  max?: number;
}

/** `24` (exactly /24) or `{ min: 26, max: 32 }` (either bound may be left out). */
function checkLengthRange(v: unknown, path: string, limit: number): LengthRange {
  if (typeof v === 'number') {
    const n = checkInt(v, path, 0, limit);
    return { min: n, max: n };
  }
  const f = Fields.of(v, path, ['min', 'max']);
  const min = f.int('min', 0, limit);
  const max = f.int('max', 0, limit);
  if (min === undefined && max === undefined) fail(path, 'must give min, max or both');
  if (min !== undefined && max !== undefined && min > max) fail(path, `min ${min} is greater than max ${max}`);
  return { min, max };
}

// ---- match ----

function compileMatch(v: unknown, path: string): Predicate | null {
  const f = Fields.of(v, path, MATCH_KEYS);
  const length = f.object('length', (x, p) => checkLengthRange(x, p, 128));
  const preds: Predicate[] = [];
  // Cheapest conditions first: most routes are decided by family, length and prefix.
  const family = f.oneOf('family', ['ipv4', 'ipv6'] as const);
  if (family !== undefined) preds.push(familyIs(family === 'ipv4' ? Afi.IPV4 : Afi.IPV6));
  if (f.has('prefix')) {
    preds.push(prefixIn(oneOrList(f.raw('prefix'), f.at('prefix'), (x, p) => checkPrefixEntry(x, p, length, f.at('length')))));
  } else if (length !== undefined) {
    preds.push(lengthIn(length.min ?? 0, length.max ?? 128));
  }
  const peerType = f.oneOf('peerType', ['ibgp', 'ebgp'] as const);
  if (peerType !== undefined) preds.push(peerIbgp(peerType === 'ibgp'));
  if (f.has('peer')) preds.push(peerIn(new Set(oneOrList(f.raw('peer'), f.at('peer'), checkAddressText))));
  if (f.has('peerAsn')) preds.push(peerAsnIn(new Set(oneOrList(f.raw('peerAsn'), f.at('peerAsn'), checkAsn))));
  if (f.has('origin')) preds.push(originIn(new Set(oneOrList(f.raw('origin'), f.at('origin'), checkOrigin))));
  if (f.has('community')) preds.push(hasAnyCommunity(oneOrList(f.raw('community'), f.at('community'), (x, p) => parseCommunity(x, p, true))));
  if (f.has('largeCommunity')) {
    preds.push(hasAnyLargeCommunity(oneOrList(f.raw('largeCommunity'), f.at('largeCommunity'), (x, p) => parseLargeCommunity(x, p, true))));
  }
  if (f.has('nextHop')) preds.push(nextHopIn(oneOrList(f.raw('nextHop'), f.at('nextHop'), checkNextHopEntry)));
  const asPath = f.object('asPath', compileAsPathMatch);
  if (asPath !== undefined) preds.push(asPath);
  return allOf(preds);
}

const PREFIX_FORMS = 'e.g. 10.0.0.0/8, 10.0.0.0/8+ for it and everything inside, or 10.0.0.0/8{16,24}';

/**
 * A prefix entry. Bare `10.0.0.0/8` matches that prefix exactly (FRR's prefix-list without
 * ge/le, BIRD's `net = 10.0.0.0/8`), unless the match has a `length` range, which then
 * applies to the routes inside it. `P+` and `P{a,b}` (BIRD's forms) carry their own range.
 */
function checkPrefixEntry(v: unknown, path: string, length: LengthRange | undefined, lengthPath: string): PrefixRange {
  if (typeof v !== 'string') fail(path, `must be a prefix (${PREFIX_FORMS}), not ${show(v)}`);
  const m = /^(.*?)(\+|\{(\d{1,3}),(\d{1,3})\})?$/.exec(v.trim())!;
  const p = parsePrefix(m[1]!);
  if (p === null) fail(path, `${show(v)} is not a prefix (${PREFIX_FORMS})`);
  if (hasHostBits(p)) fail(path, `${show(v)} has host bits set (did you mean ${formatPrefix(masked(p))}?)`);
  const bits = familyBits(p.afi);
  if (m[2] === '+') return prefixRange(p, p.length, bits);
  if (m[2] !== undefined) {
    const lo = Number(m[3]);
    const hi = Number(m[4]);
    if (lo < p.length || hi > bits || lo > hi) fail(path, `${show(v)}: the range must be within ${p.length}-${bits} and ascending`);
    return prefixRange(p, lo, hi);
  }
  if (length === undefined) return prefixRange(p, p.length, p.length);
  const lo = length.min ?? p.length;
  const hi = length.max ?? bits;
  if (lo < p.length) fail(join(lengthPath, 'min'), `${lo} is shorter than ${formatPrefix(p)}: routes inside it are /${p.length} or longer`);
  if (hi > bits) fail(join(lengthPath, 'max'), `${hi} is longer than an ${bits === 32 ? 'IPv4' : 'IPv6'} prefix can be (${bits})`);
  if (hi < p.length) fail(join(lengthPath, 'max'), `${hi} is shorter than ${formatPrefix(p)}: no route inside it is that short`);
  return prefixRange(p, lo, hi);
}

function checkAddressText(v: unknown, path: string): string {
  const a = typeof v === 'string' ? parseAddress(v) : null;
  if (a === null) fail(path, `${show(v)} is not an IP address`);
  return formatAddress(a);
}

/** An address (a /32 or /128) or a prefix the next hop must lie inside. */
function checkNextHopEntry(v: unknown, path: string): PrefixRange {
  const text = typeof v === 'string' ? v : '';
  const addr = text.includes('/') ? null : parseAddress(text);
  if (addr !== null) return prefixRange({ ...addr, length: familyBits(addr.afi) }, 0, 128);
  const p = parsePrefix(text);
  if (p === null) fail(path, `${show(v)} is not an IP address or prefix`);
  if (hasHostBits(p)) fail(path, `${show(v)} has host bits set (did you mean ${formatPrefix(masked(p))}?)`);
  return prefixRange(p, 0, 128);
}

function checkOrigin(v: unknown, path: string): Origin {
  return ORIGINS[checkOneOf(v, path, Object.keys(ORIGINS) as (keyof typeof ORIGINS)[])];
}

function compileAsPathMatch(v: unknown, path: string): Predicate {
  const f = Fields.of(v, path, AS_PATH_KEYS);
  const preds: Predicate[] = [];
  const length = f.object('length', (x, p) => checkLengthRange(x, p, 1000));
  if (length !== undefined) preds.push(asPathLengthIn(length.min ?? 0, length.max ?? Infinity));
  if (f.has('contains')) preds.push(asPathContains(new Set(oneOrList(f.raw('contains'), f.at('contains'), checkAsn))));
  if (f.has('originatedBy')) preds.push(asPathOriginatedBy(new Set(oneOrList(f.raw('originatedBy'), f.at('originatedBy'), checkAsn))));
  if (f.has('startsWith')) preds.push(asPathStartsWith(oneOrList(f.raw('startsWith'), f.at('startsWith'), checkAsn)));
  if (f.has('regex')) preds.push(asPathMatches(compileAsPathRegex(f.raw('regex'), f.at('regex'))));
  if (preds.length === 0) fail(path, `must give at least one of ${AS_PATH_KEYS.join(', ')}`);
  return allOf(preds)!;
}

// ---- set ----

function compileSet(v: unknown, path: string): Modifier {
  const f = Fields.of(v, path, SET_KEYS);
  const mods: Modifier[] = [];
  const origin = f.object('origin', checkOrigin);
  if (origin !== undefined) mods.push(setOrigin(origin));
  const localPref = f.int('localPref', 0, 0xffffffff);
  if (localPref !== undefined) mods.push(setLocalPref(localPref));
  const med = f.int('med', 0, 0xffffffff);
  if (med !== undefined) mods.push(setMed(med));
  const communities = f.object('communities', compileCommunityEdit);
  if (communities !== undefined) mods.push(communities);
  const large = f.object('largeCommunities', compileLargeCommunityEdit);
  if (large !== undefined) mods.push(large);
  const nextHop = f.object('nextHop', checkNextHopSet);
  if (nextHop !== undefined) mods.push(setNextHop(nextHop));
  const prepend = f.object('prepend', checkPrepend);
  if (prepend !== undefined) mods.push(prependAsns(prepend));
  if (mods.length === 0) fail(path, `must set at least one of ${SET_KEYS.join(', ')}`);
  return chain(mods)!;
}

function editFields(v: unknown, path: string): Fields {
  const f = Fields.of(v, path, EDIT_KEYS);
  if (!EDIT_KEYS.some((k) => f.has(k))) fail(path, `must give add, remove or replace (e.g. { add: ["65000:1"] })`);
  return f;
}

function compileCommunityEdit(v: unknown, path: string): Modifier {
  const f = editFields(v, path);
  const exact = (x: unknown, p: string): number => communityValue(parseCommunity(x, p, false));
  return editCommunities({
    replace: f.list('replace', exact),
    remove: f.has('remove') ? oneOrList(f.raw('remove'), f.at('remove'), (x, p) => parseCommunity(x, p, true)) : undefined,
    add: f.has('add') ? oneOrList(f.raw('add'), f.at('add'), exact) : undefined,
  });
}

function compileLargeCommunityEdit(v: unknown, path: string): Modifier {
  const f = editFields(v, path);
  const exact = (x: unknown, p: string) => largeCommunityValue(parseLargeCommunity(x, p, false));
  return editLargeCommunities({
    replace: f.list('replace', exact),
    remove: f.has('remove') ? oneOrList(f.raw('remove'), f.at('remove'), (x, p) => parseLargeCommunity(x, p, true)) : undefined,
    add: f.has('add') ? oneOrList(f.raw('add'), f.at('add'), exact) : undefined,
  });
}

function checkNextHopSet(v: unknown, path: string): string {
  if (v === NEXT_HOP_SELF) return NEXT_HOP_SELF;
  const a = typeof v === 'string' ? parseAddress(v) : null;
  if (a === null) fail(path, `${show(v)} is not an IP address or "self"`);
  return formatAddress(a);
}

/** `{ asn: 65001, count: 2 }`, a list of ASNs prepended in that order, or one ASN once. */
function checkPrepend(v: unknown, path: string): number[] {
  if (typeof v === 'number') return [checkAsn(v, path)];
  if (Array.isArray(v)) {
    if (v.length === 0 || v.length > MAX_PREPEND) fail(path, `must list 1-${MAX_PREPEND} ASNs`);
    return checkList(v, path, checkAsn);
  }
  const f = Fields.of(v, path, ['asn', 'count']);
  const asn = checkAsn(f.required('asn'), f.at('asn'));
  const count = f.int('count', 1, MAX_PREPEND) ?? 1;
  return new Array<number>(count).fill(asn);
}
