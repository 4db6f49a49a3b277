/**
 * One policy rule (Calico's v3 Rule) into iptables rule specs for one IP family, and the
 * ipsets those specs use. Pure.
 *
 * Fields: action (Allow/Deny/Log/Pass), protocol/notProtocol, icmp/notICMP, ipVersion, and
 * for source and destination: nets/notNets, selector/notSelector, namespaceSelector,
 * ports/notPorts (numbers, ranges, named ports) and serviceAccounts.names. Selectors become
 * ipsets of member addresses (one per canonical selector), named ports ipsets of
 * `ip,proto:port`, lists of several nets an ipset of nets. A Calico rule can need more than
 * one iptables rule (ports in more than one multiport match, numbers beside named ports);
 * those are alternatives, each with the same action.
 *
 * Fields felix cannot enforce (http, serviceAccounts.selector, services) make the rule
 * unrenderable: UnrenderableError, and the caller fails the policy closed.
 */
import { parseCidr, addressInSubnet } from '../../kernel/addr.js';
import type { EntityRule, Port, Protocol, Rule } from '../../datastore/resources/types.js';
import { parseSelectorAst, printSelector, type SelectorNode } from '../../selector/index.js';
import { hex, ipsetName, MARK_ACCEPT, MARK_PASS, type Family } from './names.js';

/** An ipset a rule needs; members are filled in by the calculation. */
export type SetRef =
  | { kind: 'selector'; name: string; family: Family; selector: string }
  | { kind: 'namedPort'; name: string; family: Family; selector: string; protocol: string; port: string }
  | { kind: 'nets'; name: string; family: Family; nets: string[] };

/** A rule that cannot be rendered faithfully; the policy holding it fails closed. */
export class UnrenderableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrenderableError';
  }
}

export interface RuleContext {
  family: Family;
  /** A NetworkPolicy's namespace: its rule selectors only see endpoints of that namespace. */
  namespace?: string;
  /** Prefix for LOG rules (short, no spaces). */
  logPrefix: string;
  /** Text of a selector -> its canonical id (throws SelectorError if it does not parse). */
  selectorId(text: string): string;
}

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
/** Namespace labels reach endpoints with this prefix, so a namespaceSelector can match them. */
export const NAMESPACE_LABEL_PREFIX = 'pcns.';

/** Renders one rule; returns [] when the rule does not apply to this family. */
export function renderRule(rule: Rule, ctx: RuleContext, sets: Map<string, SetRef>): string[] {
  if (rule.http) throw new UnrenderableError('http matches need an L7 proxy, which tortie does not have');
  if (rule.ipVersion !== undefined && rule.ipVersion !== ctx.family) return [];
  const head: string[] = [];
  if (rule.protocol !== undefined) {
    const p = protocolFor(rule.protocol, ctx.family);
    if (p === null) return []; // ICMP in v6 or ICMPv6 in v4: matches nothing here
    head.push(`-p ${p}`);
  }
  if (rule.notProtocol !== undefined) {
    const p = protocolFor(rule.notProtocol, ctx.family);
    if (p !== null) head.push(`! -p ${p}`);
  }
  if (rule.icmp) head.push(icmpMatch(rule.icmp, ctx.family, false));
  if (rule.notICMP) head.push(icmpMatch(rule.notICMP, ctx.family, true));

  const protoName = rule.protocol === undefined ? undefined : protocolFor(rule.protocol, ctx.family) ?? undefined;
  const src = renderSide(rule.source, 'src', ctx, protoName, sets);
  const dst = renderSide(rule.destination, 'dst', ctx, protoName, sets);
  if (src === null || dst === null) return [];

  const matches: string[] = [];
  for (const s of src.alternatives) {
    for (const d of dst.alternatives) {
      matches.push([...head, ...src.all, s, ...dst.all, d].filter((x) => x !== '').join(' '));
    }
  }
  const set = (bit: number) => `-j MARK --set-xmark ${hex(bit)}/${hex(bit)}`;
  const back = (bit: number) => `-m mark --mark ${hex(bit)}/${hex(bit)} -j RETURN`;
  const withMatch = (m: string, target: string) => (m === '' ? target : `${m} ${target}`);
  switch (rule.action) {
    case 'Allow':
      return [...matches.map((m) => withMatch(m, set(MARK_ACCEPT))), back(MARK_ACCEPT)];
    case 'Pass':
      return [...matches.map((m) => withMatch(m, set(MARK_PASS))), back(MARK_PASS)];
    case 'Deny':
      return matches.map((m) => withMatch(m, '-j DROP'));
    case 'Log':
      return matches.map((m) => withMatch(m, `-j LOG --log-prefix ${ctx.logPrefix} --log-level 5`));
  }
}

interface SideMatch {
  /** Matches that must all hold. */
  all: string[];
  /** One of these must hold ('' alone when there is no choice). */
  alternatives: string[];
}

function renderSide(side: EntityRule | undefined, dir: 'src' | 'dst', ctx: RuleContext, proto: string | undefined, sets: Map<string, SetRef>): SideMatch | null {
  if (!side) return { all: [], alternatives: [''] };
  if (side.services) throw new UnrenderableError(`${dir === 'src' ? 'source' : 'destination'}.services is not supported`);
  if (side.serviceAccounts?.selector) throw new UnrenderableError(`${dir === 'src' ? 'source' : 'destination'}.serviceAccounts.selector is not supported (no service account labels)`);
  const flag = dir === 'src' ? '-s' : '-d';
  const all: string[] = [];

  if (side.nets !== undefined && side.nets.length > 0) {
    const mine = familyNets(side.nets, ctx.family);
    if (mine.length === 0) return null; // only nets of the other family: nothing here matches
    if (mine.length === 1) all.push(`${flag} ${mine[0]}`);
    else all.push(`-m set --match-set ${netSet(mine, ctx.family, sets)} ${dir}`);
  }
  if (side.notNets !== undefined && side.notNets.length > 0) {
    const mine = familyNets(side.notNets, ctx.family);
    // One -s/-d per rule: beside a positive net, even a single negated one goes in a set.
    const usedFlag = all.some((m) => m.startsWith(`${flag} `));
    if (mine.length === 1 && !usedFlag) all.push(`! ${flag} ${mine[0]}`);
    else if (mine.length > 0) all.push(`-m set ! --match-set ${netSet(mine, ctx.family, sets)} ${dir}`);
  }

  const { selector, notSelector } = scopedSelectors(side, ctx.namespace);
  if (selector !== undefined) all.push(`-m set --match-set ${selectorSet(selector, ctx, sets)} ${dir}`);
  if (notSelector !== undefined) all.push(`-m set ! --match-set ${selectorSet(notSelector, ctx, sets)} ${dir}`);

  // Named ports belong to the endpoints this side selects (all of them if it selects none).
  const portSelector = and(selector ?? 'all()', notSelector === undefined ? undefined : `!(${notSelector})`)!;
  const portFlag = dir === 'src' ? '--sports' : '--dports';
  const alternatives: string[] = [];
  if (side.ports !== undefined && side.ports.length > 0) {
    const { numeric, named } = splitPorts(side.ports);
    for (const chunk of multiportChunks(numeric)) alternatives.push(`-m multiport ${portFlag} ${chunk}`);
    for (const name of named) alternatives.push(`-m set --match-set ${namedPortSet(name, proto, portSelector, ctx, sets)} ${dir},${dir}`);
  }
  if (side.notPorts !== undefined && side.notPorts.length > 0) {
    const { numeric, named } = splitPorts(side.notPorts);
    for (const chunk of multiportChunks(numeric)) all.push(`-m multiport ! ${portFlag} ${chunk}`);
    for (const name of named) all.push(`-m set ! --match-set ${namedPortSet(name, proto, portSelector, ctx, sets)} ${dir},${dir}`);
  }
  return { all, alternatives: alternatives.length > 0 ? alternatives : [''] };
}

/**
 * The selectors a side really means, written out (Calico's rule scoping):
 * - a namespaceSelector selects endpoints in the namespaces whose labels match it (the
 *   namespace labels are on each endpoint with the `pcns.` prefix);
 * - in a NetworkPolicy, a selector without a namespaceSelector means the policy's namespace;
 * - serviceAccounts.names selects by the service-account label.
 */
export function scopedSelectors(side: EntityRule, namespace: string | undefined): { selector?: string; notSelector?: string } {
  const sel = nonEmpty(side.selector);
  const notSel = nonEmpty(side.notSelector);
  const nsSel = nonEmpty(side.namespaceSelector);
  const accounts = side.serviceAccounts?.names?.length ? side.serviceAccounts.names : undefined;
  let scope: string | undefined;
  if (nsSel !== undefined) scope = `has(${NAMESPACE_LABEL}) && (${prefixLabelKeys(nsSel, NAMESPACE_LABEL_PREFIX)})`;
  else if (namespace !== undefined && (sel !== undefined || notSel !== undefined || accounts !== undefined)) scope = `${NAMESPACE_LABEL} == "${namespace}"`;
  const accountSel = accounts === undefined ? undefined : `${SERVICE_ACCOUNT_LABEL} in {${accounts.map(quote).join(', ')}}`;
  const out: { selector?: string; notSelector?: string } = {};
  const selector = and(and(scope, sel), accountSel);
  if (selector !== undefined) out.selector = selector;
  if (notSel !== undefined) out.notSelector = notSel;
  return out;
}

/** `(a) && (b)`, or whichever is given. */
export function and(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return `(${a}) && (${b})`;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

function quote(s: string): string {
  return s.includes('"') ? `'${s}'` : `"${s}"`;
}

/** Rewrites every label key of a selector with a prefix: `team == "a"` -> `pcns.team == "a"`. */
export function prefixLabelKeys(text: string, prefix: string): string {
  const walk = (n: SelectorNode): SelectorNode => {
    switch (n.kind) {
      case 'all':
      case 'global':
        return n;
      case 'not':
        return { kind: 'not', operand: walk(n.operand) };
      case 'and':
      case 'or':
        return { kind: n.kind, operands: n.operands.map(walk) };
      default:
        return { ...n, key: prefix + n.key };
    }
  };
  return printSelector(walk(parseSelectorAst(text)));
}

function selectorSet(selector: string, ctx: RuleContext, sets: Map<string, SetRef>): string {
  const name = ipsetName.selector(ctx.family, ctx.selectorId(selector));
  if (!sets.has(name)) sets.set(name, { kind: 'selector', name, family: ctx.family, selector });
  return name;
}

function namedPortSet(port: string, proto: string | undefined, selector: string, ctx: RuleContext, sets: Map<string, SetRef>): string {
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new UnrenderableError(`named port "${port}" needs protocol TCP, UDP or SCTP`);
  const id = ctx.selectorId(selector);
  const name = ipsetName.namedPort(ctx.family, `${id} ${proto} ${port}`);
  if (!sets.has(name)) sets.set(name, { kind: 'namedPort', name, family: ctx.family, selector, protocol: proto, port });
  return name;
}

function netSet(nets: string[], family: Family, sets: Map<string, SetRef>): string {
  const sorted = [...new Set(nets)].sort();
  const name = ipsetName.nets(family, sorted);
  if (!sets.has(name)) sets.set(name, { kind: 'nets', name, family, nets: sorted });
  return name;
}

/** The nets of one family, in the form the kernel prints them (network address, /len). */
export function familyNets(nets: readonly string[], family: Family): string[] {
  const out: string[] = [];
  for (const net of nets) {
    const n = normalizeNet(net);
    if (n.family === family) out.push(n.text);
  }
  return out;
}

/** "10.1.2.3/8" -> 10.0.0.0/8; a bare address gets /32 (/128); v6 in compressed form. */
export function normalizeNet(net: string): { family: Family; text: string } {
  const withLength = net.includes('/') ? net : `${net}/${net.includes(':') ? 128 : 32}`;
  const c = parseCidr(withLength, 'net');
  return { family: c.family, text: addressInSubnet(`${c.address}/${c.prefixLength}`, 0) };
}

function splitPorts(ports: readonly Port[]): { numeric: string[]; named: string[] } {
  const numeric: string[] = [];
  const named: string[] = [];
  for (const p of ports) {
    if (typeof p === 'number' || /^\d+(:\d+)?$/.test(p)) numeric.push(String(p));
    else named.push(p);
  }
  return { numeric, named };
}

/** multiport takes at most 15 ports, a range counting as two. */
function multiportChunks(ports: string[]): string[] {
  const chunks: string[] = [];
  let cur: string[] = [];
  let slots = 0;
  for (const p of ports) {
    const need = p.includes(':') ? 2 : 1;
    if (slots + need > 15) {
      chunks.push(cur.join(','));
      cur = [];
      slots = 0;
    }
    cur.push(p);
    slots += need;
  }
  if (cur.length > 0) chunks.push(cur.join(','));
  return chunks;
}

/** The iptables protocol name, or null when the protocol cannot occur in this family. */
export function protocolFor(p: Protocol, family: Family): string | null {
  const named: Record<string, string | number> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmpv6: 'ipv6-icmp', sctp: 'sctp', udplite: 'udplite' };
  const key = typeof p === 'number' ? ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' } as Record<number, string>)[p] : p.toLowerCase();
  if (key === 'icmp' && family === 6) return null;
  if (key === 'icmpv6' && family === 4) return null;
  if (key !== undefined && named[key] !== undefined) return String(named[key]);
  return String(p);
}

function icmpMatch(f: { type?: number; code?: number }, family: Family, negate: boolean): string {
  if (f.type === undefined) return '';
  const value = f.code === undefined ? `${f.type}` : `${f.type}/${f.code}`;
  const not = negate ? '! ' : '';
  return family === 4 ? `-m icmp ${not}--icmp-type ${value}` : `-m icmp6 ${not}--icmpv6-type ${value}`;
}
