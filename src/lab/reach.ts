/**
 * Who reaches whom in a lab: a ping from every workload to every other (observed), beside
 * what Calico's policy semantics say should happen (expected), with the policy to blame
 * for each denied pair.
 *
 * The expectation (explain) is pure. For a packet from S to D: the policies selecting S
 * with type Egress decide first, then those selecting D with type Ingress; within each
 * side, policies in order (then name), rules in order; the first rule that matches decides
 * (Allow, Deny; Pass skips to the profiles, which allow). A side with policies but no
 * deciding rule denies ("selected by P, no rule allows"). No policies: allowed.
 */
import { execa } from 'execa';
import { netnsPath } from '../kernel/netns.js';
import { parseSelector } from '../selector/index.js';

export interface Endpoint {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ip: string;
}

export interface PolicyRule {
  action: string;
  protocol?: string | number;
  notProtocol?: string | number;
  ipVersion?: number;
  source?: EntityMatch;
  destination?: EntityMatch;
}

export interface EntityMatch {
  selector?: string;
  notSelector?: string;
  nets?: string[];
  notNets?: string[];
  ports?: unknown[];
  namespaceSelector?: string;
  serviceAccounts?: unknown;
  services?: unknown;
}

export interface Policy {
  kind: 'NetworkPolicy' | 'GlobalNetworkPolicy';
  name: string;
  namespace?: string;
  order?: number;
  selector: string;
  types: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

export interface Verdict {
  allowed: boolean;
  /** The policy (kind/namespace/name) that denies, and how. */
  by?: string;
  why?: string;
}

function policyName(p: Policy): string {
  return p.kind === 'NetworkPolicy' ? `${p.namespace ?? 'default'}/${p.name}` : `global/${p.name}`;
}

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function inNet(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/');
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base ?? '');
  if (a === undefined || b === undefined) return false;
  const bits = len === undefined ? 32 : Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}

function labelsOf(e: Endpoint): Record<string, string> {
  return { ...e.labels, 'projectcalico.org/namespace': e.namespace };
}

function selects(selector: string | undefined, e: Endpoint): boolean {
  return selector === undefined || selector.trim() === '' ? true : parseSelector(selector).matches(labelsOf(e));
}

function entityMatches(m: EntityMatch | undefined, e: Endpoint): boolean {
  if (!m) return true;
  if (m.ports?.length || m.serviceAccounts || m.services) return false; // a ping has no ports
  if (m.selector !== undefined && !selects(m.selector, e)) return false;
  if (m.notSelector !== undefined && selects(m.notSelector, e)) return false;
  if (m.nets?.length && !m.nets.some((n) => inNet(e.ip, n))) return false;
  if (m.notNets?.length && m.notNets.some((n) => inNet(e.ip, n))) return false;
  if (m.namespaceSelector !== undefined && !parseSelector(m.namespaceSelector).matches({ 'projectcalico.org/name': e.namespace })) return false;
  return true;
}

function isIcmp(p: string | number | undefined): boolean {
  return p === undefined ? false : String(p).toLowerCase() === 'icmp' || p === 1;
}

/** Whether a rule matches an ICMP echo from `src` to `dst`. */
function ruleMatches(r: PolicyRule, src: Endpoint, dst: Endpoint): boolean {
  if (r.protocol !== undefined && !isIcmp(r.protocol)) return false;
  if (r.notProtocol !== undefined && isIcmp(r.notProtocol)) return false;
  if (r.ipVersion === 6) return false;
  return entityMatches(r.source, src) && entityMatches(r.destination, dst);
}

function sorted(policies: readonly Policy[]): Policy[] {
  return [...policies].sort((a, b) => (a.order ?? Infinity) - (b.order ?? Infinity) || policyName(a).localeCompare(policyName(b)));
}

function applies(p: Policy, e: Endpoint, type: 'Ingress' | 'Egress'): boolean {
  const types = p.types.length ? p.types : p.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
  if (!types.includes(type)) return false;
  if (p.kind === 'NetworkPolicy' && (p.namespace ?? 'default') !== e.namespace) return false;
  return selects(p.selector, e);
}

function side(policies: readonly Policy[], type: 'Ingress' | 'Egress', src: Endpoint, dst: Endpoint): Verdict {
  const local = type === 'Ingress' ? dst : src;
  const mine = sorted(policies).filter((p) => applies(p, local, type));
  for (const p of mine) {
    const rules = (type === 'Ingress' ? p.ingress : p.egress) ?? [];
    for (const [i, r] of rules.entries()) {
      if (!ruleMatches(r, src, dst)) continue;
      if (r.action === 'Allow') return { allowed: true };
      if (r.action === 'Deny') return { allowed: false, by: policyName(p), why: `${type.toLowerCase()} rule ${i + 1} denies` };
      if (r.action === 'Pass') return { allowed: true };
      // Log: keep going.
    }
  }
  if (mine.length) return { allowed: false, by: mine.map(policyName).join(', '), why: `selects ${local.name} for ${type.toLowerCase()}; no rule allows ${type === 'Ingress' ? `from ${src.name}` : `to ${dst.name}`}` };
  return { allowed: true };
}

export function explain(policies: readonly Policy[], src: Endpoint, dst: Endpoint): Verdict {
  if (src.name === dst.name) return { allowed: true };
  const egress = side(policies, 'Egress', src, dst);
  if (!egress.allowed) return egress;
  return side(policies, 'Ingress', src, dst);
}

export interface MatrixCell {
  from: string;
  to: string;
  expected: Verdict;
  observed?: boolean;
}

export function expectedMatrix(policies: readonly Policy[], endpoints: readonly Endpoint[]): MatrixCell[] {
  return endpoints.flatMap((s) => endpoints.map((d) => ({ from: s.name, to: d.name, expected: explain(policies, s, d) })));
}

/** One ping (1 s) from a workload namespace to an address. */
export async function ping(netns: string, ip: string, timeoutS = 1): Promise<boolean> {
  const r = await execa('nsenter', [`--net=${netnsPath(netns)}`, '--', 'ping', '-n', '-q', '-c', '1', '-W', String(timeoutS), ip], { reject: false, timeout: (timeoutS + 4) * 1000 });
  return r.exitCode === 0;
}

/**
 * Pings every pair and fills `observed`, repeating the pairs that disagree with the
 * expectation until they agree or `waitMs` is over (policy takes a moment to reach
 * the kernel). Returns the cells that still disagree.
 */
export async function observe(cells: MatrixCell[], netnsOf: (name: string) => string, ipOf: (name: string) => string, waitMs = 20_000): Promise<MatrixCell[]> {
  const deadline = Date.now() + waitMs;
  let todo = cells.filter((c) => c.from !== c.to);
  for (const c of cells) if (c.from === c.to) c.observed = true;
  for (;;) {
    await Promise.all(todo.map(async (c) => (c.observed = await ping(netnsOf(c.from), ipOf(c.to)))));
    todo = todo.filter((c) => c.observed !== c.expected.allowed);
    if (todo.length === 0 || Date.now() > deadline) return todo;
  }
}

/** The matrix as text: rows from, columns to; ✓ reaches, ✗ denied; then why for each ✗. */
export function renderMatrix(cells: readonly MatrixCell[], names: readonly string[]): string {
  const cell = (from: string, to: string) => cells.find((c) => c.from === from && c.to === to)!;
  const w = Math.max(4, ...names.map((n) => n.length));
  const first = Math.max(w, 'from \\ to'.length);
  const lines: string[] = [];
  lines.push(`${'from \\ to'.padEnd(first + 2)}${names.map((n) => n.padEnd(w + 2)).join('')}`.trimEnd());
  for (const from of names) {
    const row = names.map((to) => {
      const c = cell(from, to);
      if (from === to) return '-'.padEnd(w + 2);
      const mark = c.observed === undefined ? '?' : c.observed ? '✓' : '✗';
      const odd = c.observed !== undefined && c.observed !== c.expected.allowed ? '!' : '';
      return `${mark}${odd}`.padEnd(w + 2);
    });
    lines.push(`${from.padEnd(first + 2)}${row.join('')}`.trimEnd());
  }
  const denied = cells.filter((c) => c.from !== c.to && c.observed === false);
  if (denied.length) {
    lines.push('', 'Denied:');
    for (const c of denied) lines.push(`  ${c.from} -> ${c.to}: ${c.expected.allowed ? 'NOT expected (no policy denies it)' : `${c.expected.by}: ${c.expected.why}`}`);
  }
  const surprises = cells.filter((c) => c.observed === true && !c.expected.allowed);
  if (surprises.length) {
    lines.push('', 'Reached although policy should deny:');
    for (const c of surprises) lines.push(`  ${c.from} -> ${c.to}: ${c.expected.by}: ${c.expected.why}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The policies a lab's datastore holds (NetworkPolicy, GlobalNetworkPolicy), for explain(). */
export async function labPolicies(datastoreUrl: string): Promise<Policy[]> {
  const { openKV } = await import('../datastore/open.js');
  const { ResourceStore } = await import('../datastore/resources/store.js');
  const kv = await openKV(datastoreUrl);
  try {
    const store = new ResourceStore(kv);
    const out: Policy[] = [];
    for (const kind of ['NetworkPolicy', 'GlobalNetworkPolicy'] as const) {
      for (const r of (await store.list(kind)).items) {
        const spec = r.spec as unknown as Omit<Policy, 'kind' | 'name' | 'namespace'>;
        out.push({ ...spec, kind, name: r.metadata.name, namespace: r.metadata.namespace ?? undefined });
      }
    }
    return out;
  } finally {
    await kv.close();
  }
}
