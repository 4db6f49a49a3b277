/**
 * The node's own IPv4/IPv6 address, as calico-node finds it (IP_AUTODETECTION_METHOD):
 *
 *   first-found            the first global address on the first interface that is not a
 *                          known virtual one (lo, docker*, veth*, tortie* (our host veths), ...)
 *   interface=REGEX[,RE]   the first global address on the first interface matching a regex
 *   skip-interface=RE[,RE] like first-found, but skipping interfaces matching these instead
 *   can-reach=IP           the source address the kernel picks to reach IP (`ip route get`)
 *   cidr=CIDR[,CIDR]       the first global address inside one of these CIDRs
 *
 * Selection is pure (`selectAddress` over `ip -j addr` output and an optional route lookup),
 * so the logic is tested on canned JSON; `autodetectAddress` does the two reads.
 * The answer keeps its prefix length ("10.0.0.5/24"), as Calico stores it in the Node.
 */
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../common/errors.js';
import { run } from '../kernel/exec.js';

export type AddrFamily = 4 | 6;

/** One interface of `ip -j addr`, reduced to what selection needs. */
export interface IpAddrLink {
  ifname: string;
  flags?: string[];
  operstate?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

export type AutodetectMethod =
  | { kind: 'first-found' }
  | { kind: 'interface'; patterns: RegExp[]; text: string }
  | { kind: 'skip-interface'; patterns: RegExp[]; text: string }
  | { kind: 'can-reach'; destination: string }
  | { kind: 'cidr'; cidrs: string[] };

/** Calico's default exclusions for first-found, plus tortie's own host veths. */
export const DEFAULT_SKIPPED_INTERFACES: readonly RegExp[] = [
  /^lo$/, /^docker.*/, /^cbr.*/, /^dummy.*/, /^virbr.*/, /^lxcbr.*/, /^veth.*/, /^cali.*/, /^tunl.*/, /^flannel.*/,
  /^kube-ipvs.*/, /^cni.*/, /^vxlan\.calico.*/, /^vxlan-v6\.calico.*/, /^wireguard\.cali.*/, /^wg-v6\.cali.*/, /^br-.*/,
  /^kube-bridge.*/, /^nodelocaldns.*/, /^podman.*/, /^tortie.*/, /^vxlan\.tortie.*/,
];

export class AutodetectError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'AutodetectError';
  }
}

/** Parses METHOD as given to --ip-autodetect / --ip6-autodetect; `flag` names it in errors. */
export function parseAutodetectMethod(text: string, flag = '--ip-autodetect'): AutodetectMethod {
  const t = text.trim();
  if (t === 'first-found') return { kind: 'first-found' };
  const eq = t.indexOf('=');
  const name = eq < 0 ? t : t.slice(0, eq);
  const value = eq < 0 ? '' : t.slice(eq + 1).trim();
  const known = 'first-found, interface=REGEX, skip-interface=REGEX, can-reach=IP or cidr=CIDR';
  if (!['interface', 'skip-interface', 'can-reach', 'cidr'].includes(name)) {
    throw new AutodetectError(`${flag} "${text}": unknown method; use ${known}`);
  }
  if (value === '') throw new AutodetectError(`${flag} "${text}": ${name}= needs a value`);
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  switch (name) {
    case 'interface':
    case 'skip-interface': {
      const patterns = list.map((p) => {
        try {
          return new RegExp(p.startsWith('^') ? p : `^(?:${p})`);
        } catch (err) {
          throw new AutodetectError(`${flag} "${text}": "${p}" is not a regular expression (${(err as Error).message})`);
        }
      });
      // Anchored at the start (Calico's are not, so that "eth" there also picks "veth0").
      return name === 'interface' ? { kind: 'interface', patterns, text: value } : { kind: 'skip-interface', patterns, text: value };
    }
    case 'can-reach': {
      if (list.length !== 1 || isIP(list[0]!) === 0) throw new AutodetectError(`${flag} "${text}": can-reach= takes one IP address`);
      return { kind: 'can-reach', destination: list[0]! };
    }
    default: {
      for (const c of list) {
        if (parseCidrText(c) === null) throw new AutodetectError(`${flag} "${text}": "${c}" is not a CIDR`);
      }
      return { kind: 'cidr', cidrs: list };
    }
  }
}

export function describeMethod(m: AutodetectMethod): string {
  switch (m.kind) {
    case 'first-found':
      return 'first-found';
    case 'interface':
    case 'skip-interface':
      return `${m.kind}=${m.text}`;
    case 'can-reach':
      return `can-reach=${m.destination}`;
    case 'cidr':
      return `cidr=${m.cidrs.join(',')}`;
  }
}

function parseCidrText(text: string): { address: string; length: number; family: AddrFamily } | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return null;
  const family = isIPv4(m[1]!) ? 4 : isIPv6(m[1]!) ? 6 : 0;
  const length = Number(m[2]);
  if (family === 0 || length > (family === 4 ? 32 : 128)) return null;
  return { address: m[1]!, length, family };
}

/** Global (non-link-local, non-host-scope) addresses of one family on a link, in order. */
function usableAddresses(link: IpAddrLink, family: AddrFamily): { address: string; prefixlen: number }[] {
  const want = family === 4 ? 'inet' : 'inet6';
  return (link.addr_info ?? [])
    .filter((a) => a.family === want && (a.scope ?? 'global') === 'global' && !/^fe80:/i.test(a.local))
    .map((a) => ({ address: a.local, prefixlen: a.prefixlen }));
}

function isUp(link: IpAddrLink): boolean {
  return link.operstate !== 'DOWN' && (link.flags === undefined || link.flags.includes('UP'));
}

function firstOn(links: IpAddrLink[], family: AddrFamily, accept: (link: IpAddrLink) => boolean): string | null {
  for (const link of links) {
    if (!isUp(link) || !accept(link)) continue;
    const a = usableAddresses(link, family)[0];
    if (a) return `${a.address}/${a.prefixlen}`;
  }
  return null;
}

/**
 * Picks the address by a method from the interfaces (`ip -j addr`) and, for can-reach, the
 * source address the kernel would use (`ip -j route get`'s prefsrc). Returns "ADDR/LEN", or
 * throws one line naming the method and what it saw.
 */
export function selectAddress(
  method: AutodetectMethod,
  family: AddrFamily,
  links: IpAddrLink[],
  routeSource?: string | null,
): string {
  let found: string | null = null;
  switch (method.kind) {
    case 'first-found':
      found = firstOn(links, family, (l) => !DEFAULT_SKIPPED_INTERFACES.some((re) => re.test(l.ifname)));
      break;
    case 'interface':
      // In the order of the patterns, as Calico does: interface=eth1,eth0 prefers eth1.
      for (const re of method.patterns) {
        found = firstOn(links, family, (l) => re.test(l.ifname));
        if (found) break;
      }
      break;
    case 'skip-interface':
      found = firstOn(links, family, (l) => l.ifname !== 'lo' && !method.patterns.some((re) => re.test(l.ifname)));
      break;
    case 'can-reach': {
      if (routeSource) {
        for (const link of links) {
          const a = usableAddresses(link, family).find((x) => x.address === routeSource);
          if (a) {
            found = `${a.address}/${a.prefixlen}`;
            break;
          }
        }
      }
      break;
    }
    case 'cidr': {
      const blocks = method.cidrs.map((c) => {
        const p = parseCidrText(c)!;
        const list = new BlockList();
        list.addSubnet(p.address, p.length, p.family === 4 ? 'ipv4' : 'ipv6');
        return { list, family: p.family };
      });
      outer: for (const link of links) {
        if (!isUp(link)) continue;
        for (const a of usableAddresses(link, family)) {
          if (blocks.some((b) => b.family === family && b.list.check(a.address, family === 4 ? 'ipv4' : 'ipv6'))) {
            found = `${a.address}/${a.prefixlen}`;
            break outer;
          }
        }
      }
      break;
    }
  }
  if (found) return found;
  const seen = links
    .filter(isUp)
    .flatMap((l) => usableAddresses(l, family).map((a) => `${l.ifname} ${a.address}/${a.prefixlen}`));
  const why = method.kind === 'can-reach'
    ? routeSource ? `the kernel would use ${routeSource}, which no interface holds as a global address` : `no route to ${method.destination}`
    : `no interface matches`;
  throw new AutodetectError(
    `IPv${family} autodetection ${describeMethod(method)}: ${why} (global IPv${family} addresses seen: ${seen.length > 0 ? seen.join(', ') : 'none'})`,
  );
}

/** Reads the interfaces (and for can-reach the route) of this namespace and selects. */
export async function autodetectAddress(method: AutodetectMethod, family: AddrFamily): Promise<string> {
  const links = JSON.parse(await run('ip', [`-${family}`, '-j', 'addr', 'show'])) as IpAddrLink[];
  let source: string | null = null;
  if (method.kind === 'can-reach') {
    if ((isIPv4(method.destination) ? 4 : 6) !== family) {
      throw new AutodetectError(`IPv${family} autodetection ${describeMethod(method)}: ${method.destination} is not an IPv${family} address`);
    }
    try {
      const routes = JSON.parse(await run('ip', ['-j', 'route', 'get', method.destination])) as { prefsrc?: string }[];
      source = routes[0]?.prefsrc ?? null;
    } catch {
      source = null; // unreachable: reported by selectAddress
    }
  }
  return selectAddress(method, family, links, source);
}
