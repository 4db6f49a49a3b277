/**
 * Names and numbers felix marks its kernel objects with, so that what is ours can always be
 * found and swept, and what is not ours is never touched:
 *   - iptables chains start with `tortie-`, and every rule felix writes carries the comment
 *     `tortie:<hash of the rule>`;
 *   - ipsets start with `tortie-` (IPv4) or `tortie6-` (IPv6);
 *   - routes carry FELIX_ROUTE_PROTOCOL (the BGP speaker uses a number of its own);
 *   - workload interfaces on the host start with WORKLOAD_IFACE_PREFIX.
 */
import { hashText } from './hash.js';

export type Family = 4 | 6;

export const CHAIN_PREFIX = 'tortie-';
export const COMMENT_PREFIX = 'tortie:';
/** Matches every ipset name felix may have made, both families. */
export const IPSET_NAME = /^tortie6?-/;
/**
 * The route protocol number on every route felix installs (`proto 80`, as Calico's felix
 * uses for its own routes). The BGP speaker's routes carry another number, so the two never
 * take each other's routes for their own.
 */
export const FELIX_ROUTE_PROTOCOL = 80;
/** Host-side workload veths are named `tortie<hash>` by the CNI plugin. */
export const WORKLOAD_IFACE_PREFIX = 'tortie';

/** iptables allows chain names of up to 28 characters; ipset names may have 31. */
export const MAX_CHAIN_NAME = 28;
export const MAX_IPSET_NAME = 31;

/** Packet mark bits felix uses between its chains (as Calico: accept and pass). */
export const MARK_ACCEPT = 0x10000;
export const MARK_PASS = 0x20000;
export const MARK_MASK = MARK_ACCEPT | MARK_PASS;
export const hex = (n: number): string => `0x${n.toString(16)}`;

/** The kernel chains felix hooks into, and the chain of ours each one jumps to first. */
export const HOOKS = {
  filter: { FORWARD: 'tortie-FORWARD', INPUT: 'tortie-INPUT', OUTPUT: 'tortie-OUTPUT' },
  nat: { POSTROUTING: 'tortie-POSTROUTING' },
} as const;

export const CHAINS = {
  fromWorkloadDispatch: 'tortie-from-wl-dispatch',
  toWorkloadDispatch: 'tortie-to-wl-dispatch',
  toHostDispatch: 'tortie-to-host-dispatch',
  fromHostDispatch: 'tortie-from-host-dispatch',
  failsafeIn: 'tortie-failsafe-in',
  failsafeOut: 'tortie-failsafe-out',
  natOutgoing: 'tortie-nat-outgoing',
} as const;

/** Chains per endpoint (by interface), per policy, per profile and per group of policies. */
export const chainName = {
  /** To a workload: its ingress policy. */
  toWorkload: (iface: string) => `tortie-tw-${hashText(iface)}`,
  /** From a workload: its egress policy. */
  fromWorkload: (iface: string) => `tortie-fw-${hashText(iface)}`,
  /** Into the host through a host endpoint: its ingress policy. */
  toHost: (key: string) => `tortie-th-${hashText(key)}`,
  /** Out of the host through a host endpoint: its egress policy. */
  fromHost: (key: string) => `tortie-fh-${hashText(key)}`,
  policy: (key: string, dir: Direction) => `tortie-p${dir === 'ingress' ? 'i' : 'o'}-${hashText(key)}`,
  profile: (name: string, dir: Direction) => `tortie-pr${dir === 'ingress' ? 'i' : 'o'}-${hashText(name)}`,
  /** A sequence of policies shared by every endpoint that has exactly that sequence. */
  group: (dir: Direction, policyChains: readonly string[]) => `tortie-g${dir === 'ingress' ? 'i' : 'o'}-${hashText(policyChains.join(' '))}`,
};

export type Direction = 'ingress' | 'egress';

/** ipset names: one per canonical selector (and family), per named port, per list of nets. */
export const ipsetName = {
  selector: (family: Family, selectorId: string) => `${setPrefix(family)}s-${selectorId}`,
  namedPort: (family: Family, key: string) => `${setPrefix(family)}n-${hashText(key)}`,
  nets: (family: Family, nets: readonly string[]) => `${setPrefix(family)}net-${hashText(nets.join(','))}`,
  allPools: (family: Family) => `${setPrefix(family)}all-pools`,
  masqPools: (family: Family) => `${setPrefix(family)}masq-pools`,
  /** The scratch set a new member list is built in before it is swapped in. */
  temporary: (name: string) => `tortie-tmp-${hashText(name)}`,
};

function setPrefix(family: Family): string {
  return family === 4 ? 'tortie-' : 'tortie6-';
}

/** The failsafe ports: always open through host endpoints, both ways (Calico's defaults). */
export const FAILSAFE = {
  tcp: [22, 179, 2379, 2380, 6443],
  udp: [53, 67, 68],
} as const;
