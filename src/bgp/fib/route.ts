/**
 * Kernel routes as iproute2 text: next hops checked and put in canonical form, the tail of
 * an `ip route` line that says where a route goes, and the parser for `ip -o route show`
 * lines. Pure: no I/O.
 */
import { canonicalAddress, canonicalPrefix, FibInputError, isLinkLocalV6, type Family } from './addr.js';

/** A next hop as the RIB gives it: the gateway, optionally pinned to an interface, and an ECMP weight (1-256). */
export interface NextHop {
  via: string;
  dev?: string;
  weight?: number;
}

/** A next hop as the kernel holds it. A route straight onto a link has no `via`. */
export interface KernelNextHop {
  via?: string;
  dev?: string;
  weight: number;
}

/** One route of ours as read back from the kernel. */
export interface KernelRoute {
  /** Canonical, always with a length: "10.0.0.1/32", "fd00::/64". */
  prefix: string;
  family: Family;
  /** "unicast", or the type iproute2 prints first: "blackhole", "unreachable" ... */
  type: string;
  metric: number;
  nextHops: KernelNextHop[];
}

/** Interface names as the kernel allows them (no '/', ':' or whitespace, at most 15 bytes). */
const IFNAME = /^[A-Za-z0-9_.@+=-]{1,15}$/;

/**
 * Checks next hops for a prefix of `family` and returns them in canonical form, duplicates
 * dropped, sorted (ECMP order means nothing to the kernel's hash). Throws FibInputError
 * naming the prefix and what is wrong: bad input is a bug of the caller, and must never
 * reach `ip`, where a parse error ends the whole batch.
 */
export function normalizeNextHops(prefix: string, nextHops: readonly (NextHop | string)[]): NextHop[] {
  if (nextHops.length === 0) throw new FibInputError(`route ${prefix}: no next hop`);
  const out: NextHop[] = [];
  const seen = new Set<string>();
  for (const raw of nextHops) {
    const nh: NextHop = typeof raw === 'string' ? { via: raw } : raw;
    const addr = canonicalAddress(nh.via);
    if (addr === null) throw new FibInputError(`route ${prefix}: next hop "${nh.via}" is not an IP address`);
    const hop: NextHop = { via: addr.address };
    if (nh.dev !== undefined) {
      if (!IFNAME.test(nh.dev)) throw new FibInputError(`route ${prefix}: next hop ${nh.via}: "${nh.dev}" is not an interface name`);
      hop.dev = nh.dev;
    } else if (addr.family === 6 && isLinkLocalV6(addr.address)) {
      throw new FibInputError(`route ${prefix}: link-local next hop ${addr.address} needs an interface (dev)`);
    }
    if (nh.weight !== undefined) {
      if (!Number.isInteger(nh.weight) || nh.weight < 1 || nh.weight > 256) {
        throw new FibInputError(`route ${prefix}: next hop ${nh.via}: weight ${nh.weight} is not 1-256`);
      }
      if (nh.weight !== 1) hop.weight = nh.weight;
    }
    const key = hopKey(hop);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(hop);
  }
  out.sort((a, b) => (hopKey(a) < hopKey(b) ? -1 : 1));
  return out;
}

function hopKey(h: NextHop): string {
  return `${h.via}%${h.dev ?? ''}`;
}

function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/**
 * The part of an `ip route` line after the common options: `via G [dev D]` for one next
 * hop, `nexthop via A weight 1 nexthop via B weight 1` for ECMP. A next hop of the other
 * family (RFC 5549, IPv4 over an IPv6 next hop) is written `via inet6 G`.
 */
export function routeTail(family: Family, hops: readonly NextHop[]): string {
  const one = (h: NextHop): string => {
    let s = familyOf(h.via) === family ? `via ${h.via}` : `via ${family === 4 ? 'inet6' : 'inet'} ${h.via}`;
    if (h.dev !== undefined) s += ` dev ${h.dev}`;
    return s;
  };
  if (hops.length === 1) return one(hops[0]!);
  return hops.map((h) => `nexthop ${one(h)} weight ${h.weight ?? 1}`).join(' ');
}

/**
 * Whether the kernel's route forwards the way the wanted next hops say: the same set of
 * gateways; the same interface where one was asked for (the kernel always names one);
 * the same weights where there is more than one path.
 */
export function sameNextHops(want: readonly NextHop[], have: readonly KernelNextHop[]): boolean {
  if (want.length !== have.length) return false;
  for (const w of want) {
    let found = false;
    for (const h of have) {
      if (h.via !== w.via) continue;
      if (w.dev !== undefined && h.dev !== w.dev) continue;
      if (want.length > 1 && (w.weight ?? 1) !== h.weight) continue;
      found = true;
      break;
    }
    if (!found) return false;
  }
  return true;
}

const ROUTE_TYPES = new Set([
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
]);

/** Keywords of `ip route show` output followed by exactly one value. */
const ONE_ARG = new Set([
  'from', 'tos', 'dsfield', 'table', 'proto', 'scope', 'src', 'metric', 'dev', 'pref', 'expires', 'realm', 'realms',
  'mtu', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'ssthresh', 'initcwnd', 'initrwnd', 'quickack',
  'features', 'hoplimit', 'congctl', 'fastopen_no_cookie', 'nhid', 'weight', 'rto_min', 'lock', 'as', 'ttl-propagate',
]);

/**
 * One line of `ip -o route show` (or `ip -o -6 route show`), or null for a line that is
 * not a route. `-o` joins a multipath route's lines with a backslash.
 */
export function parseRouteLine(line: string, defaultFamily: Family): KernelRoute | null {
  const tokens = line.replace(/\\/g, ' ').split(/\s+/);
  let i = 0;
  while (i < tokens.length && tokens[i] === '') i++;
  if (i >= tokens.length) return null;
  let type = 'unicast';
  if (ROUTE_TYPES.has(tokens[i]!)) type = tokens[i++]!;
  const dst = tokens[i++];
  if (dst === undefined || dst === '') return null;
  let prefix: string;
  let family: Family;
  try {
    const p = dst === 'default' ? canonicalPrefix(defaultFamily === 4 ? '0.0.0.0/0' : '::/0') : canonicalPrefix(dst);
    prefix = p.prefix;
    family = p.family;
  } catch {
    return null;
  }
  let metric = 0;
  const top: KernelNextHop = { weight: 1 };
  const hops: KernelNextHop[] = [];
  let cur = top;
  while (i < tokens.length) {
    const t = tokens[i++]!;
    if (t === '') continue;
    if (t === 'nexthop') {
      cur = { weight: 1 };
      hops.push(cur);
    } else if (t === 'via') {
      let v = tokens[i++] ?? '';
      if (v === 'inet' || v === 'inet6') v = tokens[i++] ?? '';
      const a = canonicalAddress(v);
      cur.via = a === null ? v : a.address;
    } else if (t === 'dev') {
      cur.dev = tokens[i++];
    } else if (t === 'weight') {
      cur.weight = Number(tokens[i++]);
    } else if (t === 'metric') {
      metric = Number(tokens[i++]);
    } else if (ONE_ARG.has(t)) {
      i++;
    }
  }
  const nextHops = hops.length > 0 ? hops : top.via !== undefined || top.dev !== undefined ? [top] : [];
  return { prefix, family, type, metric, nextHops };
}
