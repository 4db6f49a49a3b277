/**
 * Calico's BGPFilter resource (projectcalico.org/v3) as a RoutePolicy, with Calico's meaning:
 *
 *   "The BGPFilter rules are applied sequentially: the action for the first rule that
 *    matches is executed immediately. If an address does not match any explicit BGP filter
 *    rule, the default action is Accept."  (docs.tigera.io, reference/resources/bgpfilter)
 *
 * Calico compiles each rule to a BIRD condition (confd's template functions): `In` is
 * `net ~ [cidr{lo,hi}]`, `Equal` is `net = cidr`, `NotIn` / `NotEqual` their negations, with
 * lo = max(cidr length, prefixLength.min) and hi = min(32 or 128, prefixLength.max);
 * `source: RemotePeers` is "learned over BGP"; `interface` a BIRD glob over the route's
 * interface; `peerType` compares the peer's AS with ours; `asPathPrefix` is
 * `bgp_path ~ [= a b * =]`. A peer's `filters: [a, b]` run in that order before Calico's
 * own rules, which is one rule list: a's rules, then b's, then accept.
 *
 * Not supported (refused with a message, never silently ignored): `priority` and the
 * `setPriority` operation, which act on kernel route metrics rather than BGP.
 */
import { checkInt, checkList, checkOneOf, checkString, fail, Fields, join, show } from '../../common/fields.js';
import { Afi } from '../wire/constants.js';
import { asPathStartsWith, prependAsns } from './aspath.js';
import { communityValue, editCommunities, editLargeCommunities, hasAnyCommunity, hasAnyLargeCommunity, largeCommunityValue, parseCommunity, parseLargeCommunity } from './community.js';
import { allOf, chain, RuleListPolicy } from './engine.js';
import { familyIs, interfaceMatches, learnedFromPeer, peerIbgp } from './predicates.js';
import { familyBits, familyName, masked, parsePrefix, prefixRange, rangeMatches } from './prefix.js';
import { RuleAction, type CompiledRule, type Modifier, type Predicate, type RoutePolicy } from './types.js';

export type CalicoFamily = 'v4' | 'v6';
export type CalicoDirection = 'import' | 'export';

export interface CalicoFilterOptions {
  /** The policy's name (default `bgpfilter`). */
  name?: string;
  /** Field path of the spec in messages (default `spec`). */
  path?: string;
}

const SPEC_KEYS = ['exportV4', 'importV4', 'exportV6', 'importV6'] as const;
const RULE_KEYS = [
  'cidr', 'prefixLength', 'matchOperator', 'source', 'interface', 'peerType', 'communities', 'asPathPrefix', 'priority',
  'action', 'operations',
] as const;
const OPERATORS = ['Equal', 'NotEqual', 'In', 'NotIn'] as const;
const MAX_OPERATIONS = 10;
const UNSUPPORTED_PRIORITY = 'is not supported by tortie: route priority is a kernel metric, not a BGP attribute';

/**
 * One family and direction of a BGPFilter spec (`importV4`, say) as a policy. Routes of the
 * other family are outside the filter and fall through to Accept, as in Calico, where a V4
 * filter is never applied to V6 routes.
 */
export function compileCalicoBgpFilter(
  filterSpec: unknown,
  family: CalicoFamily,
  direction: CalicoDirection,
  options: CalicoFilterOptions = {},
): RoutePolicy {
  const rules = calicoRules(filterSpec, [family], direction, options.path ?? 'spec');
  return new RuleListPolicy(options.name ?? 'bgpfilter', rules, 'accept');
}

/**
 * The filters of one BGPPeer (its `filters: [...]`, in order) for one direction, both
 * families, as one policy: each filter's V4 and V6 rules in turn, then Accept.
 */
export function compileCalicoBgpFilterChain(
  filters: readonly { name: string; spec: unknown }[],
  direction: CalicoDirection,
  options: { name?: string } = {},
): RoutePolicy {
  const rules: CompiledRule[] = [];
  for (const filter of filters) rules.push(...calicoRules(filter.spec, ['v4', 'v6'], direction, `BGPFilter ${JSON.stringify(filter.name)}: spec`));
  return new RuleListPolicy(options.name ?? filters.map((f) => f.name).join('+'), rules, 'accept');
}

function calicoRules(spec: unknown, families: readonly CalicoFamily[], direction: CalicoDirection, path: string): CompiledRule[] {
  const f = Fields.of(spec ?? {}, path, SPEC_KEYS);
  const rules: CompiledRule[] = [];
  for (const family of families) {
    const key = `${direction}${family === 'v4' ? 'V4' : 'V6'}`;
    rules.push(...(f.list(key, (r, p) => compileCalicoRule(r, p, family === 'v4' ? Afi.IPV4 : Afi.IPV6, direction)) ?? []));
  }
  return rules;
}

function compileCalicoRule(v: unknown, path: string, afi: number, direction: CalicoDirection): CompiledRule {
  const f = Fields.of(v, path, RULE_KEYS);
  const action = checkOneOf(f.required('action'), f.at('action'), ['Accept', 'Reject'] as const);
  // Every rule is confined to its list's family, so the other family falls through to Accept.
  const preds: Predicate[] = [familyIs(afi)];
  const cidr = compileCidrMatch(f, afi);
  if (cidr !== null) preds.push(cidr);
  const source = f.oneOf('source', ['RemotePeers'] as const);
  if (source !== undefined) {
    if (direction === 'import') fail(f.at('source'), 'is not applicable to import rules: every imported route comes from a peer');
    preds.push(learnedFromPeer());
  }
  const iface = f.string('interface', (s, p) => {
    if (s === '') fail(p, 'must not be empty');
  });
  if (iface !== undefined) preds.push(interfaceMatches(globToRegExp(iface)));
  const peerType = f.oneOf('peerType', ['eBGP', 'iBGP'] as const);
  if (peerType !== undefined) preds.push(peerIbgp(peerType === 'iBGP'));
  const communities = f.object('communities', compileCommunityMatch);
  if (communities !== undefined) preds.push(communities);
  const asPathPrefix = f.list('asPathPrefix', checkCalicoAsn);
  if (asPathPrefix !== undefined && asPathPrefix.length > 0) preds.push(asPathStartsWith(asPathPrefix));
  if (f.has('priority')) fail(f.at('priority'), UNSUPPORTED_PRIORITY);
  let modify: Modifier | null = null;
  if (f.has('operations')) {
    if (action !== 'Accept') fail(f.at('operations'), 'may only be used with action Accept');
    const ops = checkList(f.raw('operations'), f.at('operations'), compileOperation);
    if (ops.length === 0 || ops.length > MAX_OPERATIONS) fail(f.at('operations'), `must list 1-${MAX_OPERATIONS} operations`);
    modify = chain(ops);
  }
  return { match: allOf(preds), modify, action: action === 'Accept' ? RuleAction.ACCEPT : RuleAction.REJECT };
}

/** cidr + matchOperator (+ prefixLength), or null when the rule has no cidr. */
function compileCidrMatch(f: Fields, afi: number): Predicate | null {
  const hasCidr = f.has('cidr') && f.raw('cidr') !== '';
  const hasOperator = f.has('matchOperator') && f.raw('matchOperator') !== '';
  if (hasCidr !== hasOperator) fail(f.at(hasCidr ? 'matchOperator' : 'cidr'), 'cidr and matchOperator must both be set or both be empty');
  if (!hasCidr) {
    if (f.has('prefixLength')) fail(f.at('prefixLength'), 'cidr is required when prefixLength is set');
    return null;
  }
  const text = checkString(f.raw('cidr'), f.at('cidr'));
  const parsed = parsePrefix(text);
  if (parsed === null || parsed.afi !== afi) fail(f.at('cidr'), `${show(text)} is not an ${familyName(afi)} CIDR`);
  // Calico parses the cidr with Go's net.ParseCIDR, which drops host bits: so do we.
  const p = masked(parsed);
  const bits = familyBits(afi);
  const operator = checkOneOf(f.raw('matchOperator'), f.at('matchOperator'), OPERATORS);
  const range = f.object('prefixLength', (x, path) => {
    const g = Fields.of(x, path, ['min', 'max']);
    const min = g.int('min', 0, bits);
    const max = g.int('max', 0, bits);
    if (min !== undefined && max !== undefined && min > max) fail(path, `min ${min} is greater than max ${max}`);
    return { min, max };
  });
  const lo = Math.max(p.length, range?.min ?? p.length);
  const hi = Math.min(bits, range?.max ?? bits);
  if (operator === 'In' || operator === 'NotIn') {
    const r = prefixRange(p, lo, hi);
    const inside: Predicate = (input) => rangeMatches(r, input.afi, input.addr, input.length);
    return operator === 'In' ? inside : (input, attrs) => !inside(input, attrs);
  }
  // Equal: the route is the cidr itself; a prefixLength can only narrow that to nothing.
  const exact = prefixRange(p, p.length, p.length);
  const possible = lo <= p.length && p.length <= hi;
  const equal: Predicate = (input) => possible && rangeMatches(exact, input.afi, input.addr, input.length);
  return operator === 'Equal' ? equal : (input, attrs) => !equal(input, attrs);
}

/** `{ values: ["65000:100"] }` (standard) or `["65000:1:2"]` (large): carries any of them. */
function compileCommunityMatch(v: unknown, path: string): Predicate {
  const f = Fields.of(v, path, ['values']);
  const values = checkList(f.required('values'), f.at('values'), (x, p) => checkString(x, p));
  if (values.length === 0) fail(f.at('values'), 'must list a community');
  const standard = [];
  const large = [];
  for (const [i, text] of values.entries()) {
    const p = join(f.at('values'), i);
    if (text.split(':').length === 3) large.push(parseLargeCommunity(text, p, false));
    else standard.push(parseCommunity(text, p, false));
  }
  const a = standard.length > 0 ? hasAnyCommunity(standard) : null;
  const b = large.length > 0 ? hasAnyLargeCommunity(large) : null;
  if (a !== null && b !== null) return (input, attrs) => a(input, attrs) || b(input, attrs);
  return (a ?? b)!;
}

function compileOperation(v: unknown, path: string): Modifier {
  const f = Fields.of(v, path, ['addCommunity', 'prependASPath', 'setPriority']);
  const set = ['addCommunity', 'prependASPath', 'setPriority'].filter((k) => f.has(k));
  if (set.length !== 1) fail(path, `must set exactly one of addCommunity, prependASPath, setPriority${set.length > 1 ? ` (not ${set.join(' and ')})` : ''}`);
  if (f.has('setPriority')) fail(f.at('setPriority'), UNSUPPORTED_PRIORITY);
  if (f.has('addCommunity')) {
    const g = Fields.of(f.raw('addCommunity'), f.at('addCommunity'), ['value']);
    const text = checkString(g.required('value'), g.at('value'));
    if (text.split(':').length === 3) return editLargeCommunities({ add: [largeCommunityValue(parseLargeCommunity(text, g.at('value'), false))] });
    return editCommunities({ add: [communityValue(parseCommunity(text, g.at('value'), false))] });
  }
  const g = Fields.of(f.raw('prependASPath'), f.at('prependASPath'), ['prefix']);
  const asns = checkList(g.required('prefix'), g.at('prefix'), checkCalicoAsn);
  if (asns.length === 0 || asns.length > 10) fail(g.at('prefix'), 'must list 1-10 AS numbers');
  return prependAsns(asns);
}

/** Calico's numorstring.ASNumber: a number, its decimal text, or asdot ("1.10" = 65546). */
function checkCalicoAsn(v: unknown, path: string): number {
  if (typeof v === 'string') {
    const dot = /^(\d{1,5})\.(\d{1,5})$/.exec(v);
    if (dot && Number(dot[1]) <= 0xffff && Number(dot[2]) <= 0xffff) return Number(dot[1]) * 0x10000 + Number(dot[2]);
    if (/^\d{1,10}$/.test(v)) return checkInt(Number(v), path, 0, 0xffffffff);
    fail(path, `${show(v)} is not an AS number`);
  }
  return checkInt(v, path, 0, 0xffffffff);
}

/** BIRD's string match (`ifname ~ "*.calico"`): `*` any run, `?` one character, whole name. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
