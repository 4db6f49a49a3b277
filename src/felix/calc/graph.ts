/**
 * The calculation: datastore resources in, the desired dataplane of one host out. Pure (no
 * I/O, no clock), and incremental where it pays, as Felix's calculation graph is:
 * `onUpdate`/`onDelete` only record a change and keep two selector indexes current (which
 * local endpoints each policy selects; which endpoints, cluster-wide, each rule selector
 * selects), policies and profiles are rendered once per change, and `desired()` assembles
 * the state from those pieces.
 *
 * Semantics (Calico's, with Kubernetes' default for unselected workloads):
 * - policies that select an endpoint run in order (spec.order, then name); the first Allow
 *   or Deny decides; Pass skips the remaining policies and goes to the profiles; if no
 *   policy decides, the packet is dropped: selected by any policy in a direction means
 *   default-deny in that direction;
 * - profiles (the endpoint's spec.profiles) run after the policies, or alone when no policy
 *   applies; when profiles are reached and none allows, the packet is dropped;
 * - a workload that no policy selects and whose profiles have no rules in a direction is
 *   open in that direction (Kubernetes); a host endpoint is default-deny (Calico), except
 *   for the failsafe ports;
 * - a policy that cannot be rendered (a selector that does not parse, a field felix cannot
 *   enforce) denies every endpoint it may apply to in its directions: failing closed;
 * - traffic to or from a workload interface (tortie*) felix does not know is dropped.
 */
import type {
  AnyResource,
  GlobalNetworkPolicy,
  HostEndpoint,
  IPPool,
  NetworkPolicy,
  Profile,
  Rule,
  WorkloadEndpoint,
} from '../../datastore/resources/types.js';
import { hashText } from './hash.js';
import { SelectorIndex, selectorId as parseSelectorId, SelectorError } from '../../selector/index.js';
import type { DesiredIpSet, DesiredRoute, DesiredState, DesiredTable } from './model.js';
import { routeKey } from './model.js';
import {
  chainName,
  CHAINS,
  FAILSAFE,
  hex,
  HOOKS,
  ipsetName,
  MARK_ACCEPT,
  MARK_MASK,
  MARK_PASS,
  WORKLOAD_IFACE_PREFIX,
  type Direction,
  type Family,
} from './names.js';
import { and, NAMESPACE_LABEL, NAMESPACE_LABEL_PREFIX, normalizeNet, prefixLabelKeys, renderRule, SERVICE_ACCOUNT_LABEL, UnrenderableError, type SetRef } from './rules.js';

export interface CalcOptions {
  /** This host's name: WorkloadEndpoints and HostEndpoints with this spec.node are local. */
  nodeName: string;
  /** Manage IPv6 too (ip6tables, v6 ipsets and routes, proxy_ndp). Default true. */
  ipv6?: boolean;
}

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

interface EndpointInfo {
  key: string;
  host: boolean;
  namespace?: string;
  local: boolean;
  /** Local workloads: the host-side interface. Host endpoints: the host's interface ('*' = all). */
  iface?: string;
  /** Per family: addresses (no length) and nets (as the kernel prints hash:net members). */
  addrs: Record<Family, string[]>;
  members: Record<Family, string[]>;
  routes: { family: Family; dst: string }[];
  ports: { name: string; protocol: string; port: number }[];
  profiles: string[];
  ownLabels: Record<string, string>;
  extraLabels: Record<string, string>;
}

interface Rendered {
  /** Per family and direction: the rule specs; absent when the direction is not in types. */
  rules: Map<string, string[]>;
  sets: Map<string, SetRef>;
  /** Why it cannot be rendered; it then fails closed. */
  error?: string;
}

interface PolicyInfo {
  key: string;
  order: number;
  types: Set<Direction>;
  rendered: Rendered;
}

interface ProfileInfo {
  name: string;
  labels: Record<string, string>;
  hasRules: Record<Direction, boolean>;
  rendered: Rendered;
}

const noop = { onMatchStarted: () => undefined, onMatchStopped: () => undefined };

export class CalcGraph {
  readonly nodeName: string;
  readonly families: readonly Family[];
  private readonly endpoints = new Map<string, EndpointInfo>();
  private readonly policies = new Map<string, PolicyInfo>();
  private readonly profiles = new Map<string, ProfileInfo>();
  private readonly pools = new Map<string, IPPool>();
  private localBlocks: string[] = [];
  /** Which local endpoints each policy selects. */
  private readonly selection = new SelectorIndex<string, string>(noop);
  /** Which endpoints (all hosts) each rule selector selects, by selector id; reference counted. */
  private readonly membership = new SelectorIndex<string, string>(noop);
  private readonly membershipRefs = new Map<string, number>();
  private readonly idCache = new Map<string, string>();

  constructor(options: CalcOptions) {
    this.nodeName = options.nodeName;
    this.families = options.ipv6 === false ? [4] : [4, 6];
  }

  onUpdate(r: AnyResource): void {
    switch (r.kind) {
      case 'WorkloadEndpoint':
        return this.updateEndpoint(workloadInfo(r, this.nodeName));
      case 'HostEndpoint':
        return this.updateEndpoint(hostInfo(r, this.nodeName));
      case 'NetworkPolicy':
      case 'GlobalNetworkPolicy':
        return this.updatePolicy(r);
      case 'Profile':
        return this.updateProfile(r);
      case 'IPPool':
        this.pools.set(r.metadata.name, r);
        return;
      default:
        return;
    }
  }

  onDelete(r: AnyResource): void {
    const key = resourceKey(r);
    switch (r.kind) {
      case 'WorkloadEndpoint':
      case 'HostEndpoint':
        this.endpoints.delete(key);
        this.selection.deleteItem(key);
        this.membership.deleteItem(key);
        return;
      case 'NetworkPolicy':
      case 'GlobalNetworkPolicy': {
        const old = this.policies.get(key);
        if (old) this.release(old.rendered);
        this.policies.delete(key);
        this.selection.deleteSelector(key);
        return;
      }
      case 'Profile': {
        const old = this.profiles.get(r.metadata.name);
        if (old) this.release(old.rendered);
        this.profiles.delete(r.metadata.name);
        this.relabel(r.metadata.name);
        return;
      }
      case 'IPPool':
        this.pools.delete(r.metadata.name);
        return;
      default:
        return;
    }
  }

  /** This host's IPAM blocks (from the node daemon): blackholed so they are never sent back out. */
  setLocalBlocks(blocks: readonly string[]): void {
    this.localBlocks = [...new Set(blocks)].sort();
  }

  private selectorId(text: string): string {
    let id = this.idCache.get(text);
    if (id === undefined) {
      id = parseSelectorId(text);
      if (this.idCache.size > 10_000) this.idCache.clear();
      this.idCache.set(text, id);
    }
    return id;
  }

  // ---- endpoints -------------------------------------------------------------------------

  private updateEndpoint(info: EndpointInfo): void {
    this.endpoints.set(info.key, info);
    this.index(info);
  }

  private labelsOf(ep: EndpointInfo): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const name of ep.profiles) Object.assign(labels, this.profiles.get(name)?.labels);
    if (ep.namespace !== undefined) {
      for (const [k, v] of Object.entries(this.profiles.get(`kns.${ep.namespace}`)?.labels ?? {})) {
        labels[k.startsWith(NAMESPACE_LABEL_PREFIX) ? k : NAMESPACE_LABEL_PREFIX + k] = v;
      }
      labels[`${NAMESPACE_LABEL_PREFIX}projectcalico.org/name`] = ep.namespace;
    }
    Object.assign(labels, ep.ownLabels, ep.extraLabels);
    return labels;
  }

  private index(ep: EndpointInfo): void {
    const labels = this.labelsOf(ep);
    const ctx = { isGlobal: ep.host };
    this.membership.updateItem(ep.key, labels, ctx);
    if (ep.local) this.selection.updateItem(ep.key, labels, ctx);
    else this.selection.deleteItem(ep.key);
  }

  /** A profile's labels changed: re-index the endpoints that inherit them. */
  private relabel(profileName: string): void {
    const ns = profileName.startsWith('kns.') ? profileName.slice(4) : undefined;
    for (const ep of this.endpoints.values()) {
      if (ep.profiles.includes(profileName) || (ns !== undefined && ep.namespace === ns)) this.index(ep);
    }
  }

  // ---- policies and profiles -------------------------------------------------------------

  private updatePolicy(p: NetworkPolicy | GlobalNetworkPolicy): void {
    const key = resourceKey(p);
    const namespace = p.kind === 'NetworkPolicy' ? (p.metadata.namespace ?? 'default') : undefined;
    const spec = p.spec;
    const types = new Set<Direction>(
      (spec.types?.length ? spec.types : spec.egress?.length ? (spec.ingress?.length ? ['Ingress', 'Egress'] : ['Egress']) : ['Ingress']).map(
        (t) => (t === 'Ingress' ? 'ingress' : 'egress') as Direction,
      ),
    );
    // Which endpoints it selects: a NetworkPolicy only those of its namespace.
    const scope = namespace !== undefined ? `${NAMESPACE_LABEL} == "${namespace}"` : undefined;
    let selection: string;
    let selectionError: string | undefined;
    try {
      let sel = nonEmpty(spec.selector);
      if (sel !== undefined) parseSelectorId(sel);
      const nsSel = p.kind === 'GlobalNetworkPolicy' ? nonEmpty(p.spec.namespaceSelector) : undefined;
      if (nsSel !== undefined) sel = and(sel, `has(${NAMESPACE_LABEL}) && (${prefixLabelKeys(nsSel, NAMESPACE_LABEL_PREFIX)})`);
      selection = and(scope, sel) ?? 'all()';
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      // Which endpoints it meant is unknown: it may apply to any in its scope, so it denies them all.
      selection = scope ?? 'all()';
      selectionError = `${describe(p)}: spec.selector: ${err.message}`;
    }
    const rendered = this.render(key, namespace, { ingress: types.has('ingress') ? (spec.ingress ?? []) : undefined, egress: types.has('egress') ? (spec.egress ?? []) : undefined }, describe(p));
    if (selectionError !== undefined) rendered.error = selectionError;
    const old = this.policies.get(key);
    this.policies.set(key, { key, order: spec.order ?? Number.POSITIVE_INFINITY, types, rendered });
    if (old) this.release(old.rendered);
    this.selection.updateSelector(key, selection);
  }

  private updateProfile(p: Profile): void {
    const name = p.metadata.name;
    const rendered = this.render(`Profile/${name}`, undefined, { ingress: p.spec.ingress ?? [], egress: p.spec.egress ?? [] }, describe(p));
    const old = this.profiles.get(name);
    const labels = { ...(p.spec.labelsToApply ?? {}) };
    this.profiles.set(name, { name, labels, hasRules: { ingress: (p.spec.ingress?.length ?? 0) > 0, egress: (p.spec.egress?.length ?? 0) > 0 }, rendered });
    if (old) this.release(old.rendered);
    if (!old || JSON.stringify(old.labels) !== JSON.stringify(labels)) this.relabel(name);
  }

  /** Renders rules for every family; references the selectors the ipsets need. */
  private render(key: string, namespace: string | undefined, rules: Record<Direction, Rule[] | undefined>, what: string): Rendered {
    const out: Rendered = { rules: new Map(), sets: new Map() };
    try {
      for (const family of this.families) {
        const ctx = { family, namespace, logPrefix: `tortie-${hashText(key, 8)}:`, selectorId: (t: string) => this.selectorId(t) };
        for (const dir of DIRECTIONS) {
          const list = rules[dir];
          if (list === undefined) continue;
          const specs: string[] = [];
          list.forEach((rule, i) => {
            try {
              specs.push(...renderRule(rule, ctx, out.sets));
            } catch (err) {
              if (err instanceof UnrenderableError || err instanceof SelectorError) throw new UnrenderableError(`${what}: ${dir}[${i}]: ${err.message}`);
              throw err;
            }
          });
          out.rules.set(`${family} ${dir}`, specs);
        }
      }
    } catch (err) {
      if (!(err instanceof UnrenderableError)) throw err;
      return { rules: new Map(), sets: new Map(), error: err.message };
    }
    for (const ref of out.sets.values()) if (ref.kind !== 'nets') this.retain(ref.selector);
    return out;
  }

  private retain(selector: string): void {
    const id = this.selectorId(selector);
    const n = this.membershipRefs.get(id) ?? 0;
    this.membershipRefs.set(id, n + 1);
    if (n === 0) this.membership.updateSelector(id, selector);
  }

  private release(r: Rendered): void {
    for (const ref of r.sets.values()) {
      if (ref.kind === 'nets') continue;
      const id = this.selectorId(ref.selector);
      const n = (this.membershipRefs.get(id) ?? 1) - 1;
      if (n > 0) this.membershipRefs.set(id, n);
      else {
        this.membershipRefs.delete(id);
        this.membership.deleteSelector(id);
      }
    }
  }

  // ---- output ----------------------------------------------------------------------------

  desired(): DesiredState {
    const problems: string[] = [];
    const local = [...this.endpoints.values()].filter((e) => e.local).sort((a, b) => cmp(a.key, b.key));
    const workloads: EndpointInfo[] = [];
    const byIface = new Map<string, string>();
    for (const ep of local) {
      if (ep.host || ep.iface === undefined) continue;
      const other = byIface.get(ep.iface);
      if (other !== undefined) {
        problems.push(`${ep.key}: interface ${ep.iface} is already ${other}'s; ignored`);
        continue;
      }
      byIface.set(ep.iface, ep.key);
      workloads.push(ep);
    }
    const hosts = local.filter((e) => e.host && e.iface !== undefined);

    // Policies per endpoint and direction, in order; and which policies are active at all.
    const active = new Map<string, PolicyInfo>();
    const activeProfiles = new Map<string, ProfileInfo>();
    const plan = new Map<string, Record<Direction, { policies: PolicyInfo[]; profiles: ProfileInfo[]; failed: boolean }>>();
    for (const ep of [...workloads, ...hosts]) {
      const selected = this.selection
        .matchingSelectors(ep.key)
        .map((k) => this.policies.get(k)!)
        .filter((p) => p !== undefined)
        .sort((a, b) => a.order - b.order || cmp(a.key, b.key));
      const perDir = {} as Record<Direction, { policies: PolicyInfo[]; profiles: ProfileInfo[]; failed: boolean }>;
      for (const dir of DIRECTIONS) {
        const policies = selected.filter((p) => p.types.has(dir));
        const failed = policies.some((p) => p.rendered.error !== undefined);
        const profiles = ep.profiles.map((n) => this.profiles.get(n)).filter((p): p is ProfileInfo => p !== undefined && (p.hasRules[dir] || p.rendered.error !== undefined));
        perDir[dir] = { policies, profiles, failed };
        if (!failed) {
          for (const p of policies) active.set(p.key, p);
          for (const p of profiles) activeProfiles.set(p.name, p);
        }
      }
      plan.set(ep.key, perDir);
    }
    for (const p of this.policies.values()) if (p.rendered.error && this.selection.matchingItems(p.key).length > 0) problems.push(`${p.rendered.error} (failed closed)`);
    for (const p of this.profiles.values()) if (p.rendered.error) problems.push(`${p.rendered.error} (failed closed)`);

    const tables: DesiredTable[] = [];
    const ipsets = new Map<string, DesiredIpSet>();
    const setRefs = new Map<string, SetRef>();
    for (const p of active.values()) for (const [n, r] of p.rendered.sets) setRefs.set(n, r);
    for (const p of activeProfiles.values()) for (const [n, r] of p.rendered.sets) setRefs.set(n, r);

    for (const family of this.families) {
      const filter: DesiredTable = { family, table: 'filter', chains: new Map(), hooks: new Map() };
      const chains = filter.chains;
      for (const [kernel, ours] of Object.entries(HOOKS.filter)) filter.hooks.set(kernel, [`-j ${ours}`]);
      const wl = `${WORKLOAD_IFACE_PREFIX}+`;
      chains.set(HOOKS.filter.FORWARD, [
        `-i ${wl} -j ${CHAINS.fromWorkloadDispatch}`,
        `-o ${wl} -j ${CHAINS.toWorkloadDispatch}`,
        `-i ${wl} -j ACCEPT`,
        `-o ${wl} -j ACCEPT`,
      ]);
      chains.set(HOOKS.filter.INPUT, [
        `-i ${wl} -j ${CHAINS.fromWorkloadDispatch}`,
        `-i ${wl} -j ACCEPT`,
        ...(hosts.length > 0 ? [`-j ${CHAINS.toHostDispatch}`] : []),
      ]);
      chains.set(HOOKS.filter.OUTPUT, [
        `-o ${wl} -j ${CHAINS.toWorkloadDispatch}`,
        `-o ${wl} -j ACCEPT`,
        ...(hosts.length > 0 ? [`-j ${CHAINS.fromHostDispatch}`] : []),
      ]);
      const toWl: string[] = [];
      const fromWl: string[] = [];
      const usedPolicies = new Set<string>();
      const usedProfiles = new Set<string>();
      // Endpoints with the same policies and profiles have the same chain contents: build once.
      const built = new Map<string, string[]>();
      const endpointChain = (epKey: string, dir: Direction, host: boolean): string[] => {
        const p = plan.get(epKey)![dir];
        const signature = `${dir} ${host} ${p.failed} ${p.policies.map((x) => x.key).join(',')} ${p.profiles.map((x) => x.name).join(',')}`;
        let rules = built.get(signature);
        if (rules === undefined) {
          rules = buildEndpointChain(p, dir, host);
          built.set(signature, rules);
        }
        return rules;
      };
      const buildEndpointChain = (p: { policies: PolicyInfo[]; profiles: ProfileInfo[]; failed: boolean }, dir: Direction, host: boolean): string[] => {
        const rules = ['-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-m conntrack --ctstate INVALID -j DROP'];
        if (host) rules.push(`-j ${dir === 'ingress' ? CHAINS.failsafeIn : CHAINS.failsafeOut}`);
        rules.push(`-j MARK --set-xmark 0x0/${hex(MARK_MASK)}`);
        if (p.failed) {
          rules.push('-j DROP');
          return rules;
        }
        if (p.policies.length > 0) {
          const policyChains = p.policies.map((x) => chainName.policy(x.key, dir));
          const group = chainName.group(dir, policyChains);
          if (!chains.has(group)) {
            const g: string[] = [];
            policyChains.forEach((c, i) => {
              g.push(`-j ${c}`);
              if (i < policyChains.length - 1) g.push(`-m mark ! --mark 0x0/${hex(MARK_MASK)} -j RETURN`);
            });
            chains.set(group, g);
          }
          p.policies.forEach((x) => usedPolicies.add(`${x.key}\n${dir}`));
          rules.push(`-j ${group}`, `-m mark --mark ${hex(MARK_ACCEPT)}/${hex(MARK_ACCEPT)} -j RETURN`, `-m mark --mark 0x0/${hex(MARK_PASS)} -j DROP`);
        }
        if (p.policies.length > 0 || p.profiles.length > 0 || host) {
          for (const prof of p.profiles) {
            usedProfiles.add(`${prof.name}\n${dir}`);
            rules.push(`-j ${chainName.profile(prof.name, dir)}`, `-m mark --mark ${hex(MARK_ACCEPT)}/${hex(MARK_ACCEPT)} -j RETURN`);
          }
          rules.push('-j DROP');
        }
        return rules;
      };
      for (const ep of workloads) {
        const tw = chainName.toWorkload(ep.iface!);
        const fw = chainName.fromWorkload(ep.iface!);
        toWl.push(`-o ${ep.iface} -g ${tw}`);
        fromWl.push(`-i ${ep.iface} -g ${fw}`);
        chains.set(tw, endpointChain(ep.key, 'ingress', false));
        chains.set(fw, endpointChain(ep.key, 'egress', false));
      }
      // Unknown workload interfaces: dropped.
      chains.set(CHAINS.toWorkloadDispatch, [...toWl, '-j DROP']);
      chains.set(CHAINS.fromWorkloadDispatch, [...fromWl, '-j DROP']);
      if (hosts.length > 0) {
        const toHost: string[] = [];
        const fromHost: string[] = [];
        // Named interfaces first, then the all-interfaces endpoint ('*').
        for (const ep of [...hosts].sort((a, b) => Number(a.iface === '*') - Number(b.iface === '*') || cmp(a.key, b.key))) {
          const th = chainName.toHost(ep.key);
          const fh = chainName.fromHost(ep.key);
          toHost.push(ep.iface === '*' ? `! -i lo -g ${th}` : `-i ${ep.iface} -g ${th}`);
          fromHost.push(ep.iface === '*' ? `! -o lo -g ${fh}` : `-o ${ep.iface} -g ${fh}`);
          chains.set(th, endpointChain(ep.key, 'ingress', true));
          chains.set(fh, endpointChain(ep.key, 'egress', true));
        }
        chains.set(CHAINS.toHostDispatch, toHost);
        chains.set(CHAINS.fromHostDispatch, fromHost);
        chains.set(CHAINS.failsafeIn, [`-p tcp -m multiport --dports ${FAILSAFE.tcp.join(',')} -j ACCEPT`, `-p udp -m multiport --dports ${FAILSAFE.udp.join(',')} -j ACCEPT`]);
        chains.set(CHAINS.failsafeOut, [`-p tcp -m multiport --dports ${FAILSAFE.tcp.join(',')} -j ACCEPT`, `-p udp -m multiport --dports ${FAILSAFE.udp.join(',')} -j ACCEPT`]);
      }
      for (const used of usedPolicies) {
        const [key, dir] = used.split('\n') as [string, Direction];
        chains.set(chainName.policy(key, dir), this.policies.get(key)!.rendered.rules.get(`${family} ${dir}`) ?? []);
      }
      for (const used of usedProfiles) {
        const [name, dir] = used.split('\n') as [string, Direction];
        const prof = this.profiles.get(name)!;
        chains.set(chainName.profile(name, dir), prof.rendered.error !== undefined ? ['-j DROP'] : (prof.rendered.rules.get(`${family} ${dir}`) ?? []));
      }
      tables.push(filter);

      // NAT outgoing: from a natOutgoing pool to anywhere outside every pool.
      const nat: DesiredTable = { family, table: 'nat', chains: new Map(), hooks: new Map() };
      const pools = [...this.pools.values()].map((p) => ({ pool: p, net: normalizeNet(p.spec.cidr) })).filter((p) => p.net.family === family);
      const masq = pools.filter((p) => p.pool.spec.natOutgoing && !p.pool.spec.disabled);
      if (masq.length > 0) {
        const all = ipsetName.allPools(family);
        const mq = ipsetName.masqPools(family);
        ipsets.set(all, { name: all, type: 'hash:net', family, members: new Set(pools.map((p) => memberNet(p.net.text))) });
        ipsets.set(mq, { name: mq, type: 'hash:net', family, members: new Set(masq.map((p) => memberNet(p.net.text))) });
        nat.hooks.set('POSTROUTING', [`-j ${HOOKS.nat.POSTROUTING}`]);
        nat.chains.set(HOOKS.nat.POSTROUTING, [`-j ${CHAINS.natOutgoing}`]);
        nat.chains.set(CHAINS.natOutgoing, [`-m set --match-set ${mq} src -m set ! --match-set ${all} dst -j MASQUERADE`]);
      }
      tables.push(nat);
    }

    for (const ref of setRefs.values()) ipsets.set(ref.name, this.members(ref));

    const routes = new Map<string, DesiredRoute>();
    const sysctls = new Map<string, string>();
    for (const family of this.families) {
      for (const block of this.localBlocks) {
        const n = normalizeNet(block);
        if (n.family === family) routes.set(routeKey(family, n.text), { family, dst: n.text, type: 'blackhole' });
      }
    }
    if (workloads.length > 0) sysctls.set('net/ipv4/ip_forward', '1');
    for (const ep of workloads) {
      const iface = ep.iface!;
      sysctls.set(`net/ipv4/conf/${iface}/forwarding`, '1');
      sysctls.set(`net/ipv4/conf/${iface}/proxy_arp`, '1');
      sysctls.set(`net/ipv4/conf/${iface}/rp_filter`, '1');
      sysctls.set(`net/ipv4/neigh/${iface}/proxy_delay`, '0');
      if (this.families.includes(6) && ep.routes.some((r) => r.family === 6)) {
        sysctls.set('net/ipv6/conf/all/forwarding', '1');
        sysctls.set(`net/ipv6/conf/${iface}/proxy_ndp`, '1');
        sysctls.set(`net/ipv6/conf/${iface}/forwarding`, '1');
      }
      for (const r of ep.routes) {
        if (!this.families.includes(r.family)) continue;
        routes.set(routeKey(r.family, r.dst), { family: r.family, dst: r.dst, type: 'unicast', dev: iface });
      }
    }
    return {
      tables,
      ipsets,
      routes,
      sysctls,
      counts: { endpoints: workloads.length + hosts.length, policies: active.size, profiles: activeProfiles.size },
      problems,
    };
  }

  private members(ref: SetRef): DesiredIpSet {
    if (ref.kind === 'nets') return { name: ref.name, type: 'hash:net', family: ref.family, members: new Set(ref.nets.map(memberNet)) };
    const eps = this.membership.matchingItems(this.selectorId(ref.selector)).map((k) => this.endpoints.get(k)!);
    const members = new Set<string>();
    if (ref.kind === 'selector') {
      for (const ep of eps) for (const m of ep.members[ref.family]) members.add(m);
      return { name: ref.name, type: 'hash:net', family: ref.family, members };
    }
    for (const ep of eps) {
      for (const port of ep.ports) {
        if (port.name !== ref.port || port.protocol !== ref.protocol) continue;
        for (const a of ep.addrs[ref.family]) members.add(`${a},${ref.protocol}:${port.port}`);
      }
    }
    return { name: ref.name, type: 'hash:ip,port', family: ref.family, members };
  }
}

// ---- helpers ----------------------------------------------------------------------------

export function resourceKey(r: AnyResource): string {
  return r.metadata.namespace !== undefined && (r.kind === 'NetworkPolicy' || r.kind === 'WorkloadEndpoint')
    ? `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`
    : `${r.kind}/${r.metadata.name}`;
}

function describe(r: AnyResource): string {
  return r.metadata.namespace !== undefined && r.kind === 'NetworkPolicy' ? `${r.kind} ${r.metadata.namespace}/${r.metadata.name}` : `${r.kind} ${r.metadata.name}`;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A net as `ipset save` prints a hash:net member: host nets without their length. */
function memberNet(text: string): string {
  return text.endsWith('/32') && !text.includes(':') ? text.slice(0, -3) : text.endsWith('/128') ? text.slice(0, -4) : text;
}

function addresses(nets: readonly string[]): Pick<EndpointInfo, 'addrs' | 'members' | 'routes'> {
  const out: Pick<EndpointInfo, 'addrs' | 'members' | 'routes'> = { addrs: { 4: [], 6: [] }, members: { 4: [], 6: [] }, routes: [] };
  for (const net of nets) {
    let n;
    try {
      n = normalizeNet(net);
    } catch {
      continue; // validated on write; a stored value that is not a net has no address to use
    }
    const address = net.split('/')[0]!;
    out.addrs[n.family].push(normalizeNet(address).text.split('/')[0]!);
    out.members[n.family].push(memberNet(n.text));
    out.routes.push({ family: n.family, dst: n.text });
  }
  return out;
}

function workloadInfo(r: WorkloadEndpoint, nodeName: string): EndpointInfo {
  const extra: Record<string, string> = {};
  if (r.metadata.namespace !== undefined) extra[NAMESPACE_LABEL] = r.metadata.namespace;
  if (r.spec.orchestrator) extra['projectcalico.org/orchestrator'] = r.spec.orchestrator;
  if (r.spec.serviceAccountName) extra[SERVICE_ACCOUNT_LABEL] = r.spec.serviceAccountName;
  return {
    key: resourceKey(r),
    host: false,
    namespace: r.metadata.namespace ?? 'default',
    local: r.spec.node === nodeName,
    iface: r.spec.interfaceName,
    ...addresses(r.spec.ipNetworks ?? []),
    ports: (r.spec.ports ?? []).map((p) => ({ name: p.name, protocol: String(p.protocol).toLowerCase(), port: p.port })),
    profiles: r.spec.profiles ?? [],
    ownLabels: r.metadata.labels ?? {},
    extraLabels: extra,
  };
}

function hostInfo(r: HostEndpoint, nodeName: string): EndpointInfo {
  return {
    key: resourceKey(r),
    host: true,
    local: r.spec.node === nodeName,
    ...(r.spec.interfaceName !== undefined ? { iface: r.spec.interfaceName } : {}),
    ...addresses(r.spec.expectedIPs ?? []),
    ports: (r.spec.ports ?? []).map((p) => ({ name: p.name, protocol: String(p.protocol).toLowerCase(), port: p.port })),
    profiles: r.spec.profiles ?? [],
    ownLabels: r.metadata.labels ?? {},
    extraLabels: {},
  };
}
