/** The desired dataplane: what the calculation produces and the reconcilers make true. */
import type { Family } from './names.js';

export type TableName = 'filter' | 'nat';

/** One iptables table of one family: our chains, and our jumps at the top of kernel chains. */
export interface DesiredTable {
  family: Family;
  table: TableName;
  /**
   * Our chains (names start with `tortie-`), each a list of rule specs without `-A CHAIN`
   * and without the hash comment, which the Table adds.
   */
  chains: Map<string, string[]>;
  /** Kernel chain (FORWARD, INPUT ...) -> the rules of ours that must be first in it. */
  hooks: Map<string, string[]>;
}

export type IpSetType = 'hash:net' | 'hash:ip,port';

export interface DesiredIpSet {
  name: string;
  type: IpSetType;
  family: Family;
  /** Members as `ipset save` prints them: "10.0.0.1", "10.1.0.0/24", "10.0.0.1,tcp:80". */
  members: Set<string>;
}

export interface DesiredRoute {
  family: Family;
  /** "10.0.0.5/32", "10.0.0.0/26" (always with a prefix length). */
  dst: string;
  type: 'unicast' | 'blackhole';
  /** For unicast: the interface (scope link). */
  dev?: string;
}

export interface DesiredState {
  tables: DesiredTable[];
  ipsets: Map<string, DesiredIpSet>;
  /** Keyed by family and dst. */
  routes: Map<string, DesiredRoute>;
  /** /proc/sys paths ("net/ipv4/conf/tortie1/proxy_arp") -> value. */
  sysctls: Map<string, string>;
  counts: { endpoints: number; policies: number; profiles: number };
  /** Input that could not be used (and was failed closed): one line each. */
  problems: string[];
}

export const routeKey = (family: Family, dst: string): string => `${family} ${dst}`;
