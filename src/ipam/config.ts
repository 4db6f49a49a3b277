/**
 * What IPAM reads besides its own keys: pools, IPAM settings, nodes and live workload
 * endpoints. A narrow interface, so that IPAM does not depend on how resources are stored;
 * `resource-source.ts` adapts the resource store, `StaticConfigSource` serves tests and
 * benchmarks.
 */
import type { Family } from './addr.js';

export interface IpPoolInfo {
  name: string;
  cidr: string;
  /** Prefix length of the pool's blocks (26 for IPv4, 122 for IPv6 by default). */
  blockSize: number;
  disabled?: boolean;
  nodeSelector?: string;
  /** "Workload", "Tunnel"; absent or empty: both. */
  allowedUses?: string[];
}

export interface IpamSettings {
  /** Never borrow an address from another host's block. */
  strictAffinity: boolean;
  /** Most blocks one host may claim; 0 means no limit. */
  maxBlocksPerHost: number;
}

export interface EndpointInfo {
  name: string;
  namespace?: string;
  node: string;
  /** Addresses, bare or as /32 and /128 networks. */
  ips: string[];
}

export interface IpamConfigSource {
  pools(): Promise<IpPoolInfo[]>;
  settings(): Promise<IpamSettings>;
  /** A node's labels; null when the node is not known (then only selector-free pools match). */
  nodeLabels(node: string): Promise<Record<string, string> | null>;
  /** Every workload endpoint that exists now. */
  liveWorkloadEndpoints(): Promise<EndpointInfo[]>;
  /** Whether a Node of this name exists now. */
  nodeExists(node: string): Promise<boolean>;
}

export const DEFAULT_SETTINGS: IpamSettings = { strictAffinity: false, maxBlocksPerHost: 0 };

export function defaultBlockSize(family: Family): number {
  return family === 4 ? 26 : 122;
}

/** Config held in memory: for tests, benchmarks and single-process tools. Mutable on purpose. */
export class StaticConfigSource implements IpamConfigSource {
  poolList: IpPoolInfo[];
  ipamSettings: IpamSettings;
  nodeMap: Map<string, Record<string, string>>;
  endpoints: EndpointInfo[];
  /** When true, a node not in nodeMap still counts as existing (benchmarks with ad hoc hosts). */
  anyNodeExists: boolean;

  constructor(init: { pools?: IpPoolInfo[]; settings?: Partial<IpamSettings>; nodes?: Record<string, Record<string, string>>; endpoints?: EndpointInfo[]; anyNodeExists?: boolean } = {}) {
    this.poolList = init.pools ?? [];
    this.ipamSettings = { ...DEFAULT_SETTINGS, ...init.settings };
    this.nodeMap = new Map(Object.entries(init.nodes ?? {}));
    this.endpoints = init.endpoints ?? [];
    this.anyNodeExists = init.anyNodeExists ?? false;
  }

  async pools(): Promise<IpPoolInfo[]> {
    return this.poolList;
  }

  async settings(): Promise<IpamSettings> {
    return this.ipamSettings;
  }

  async nodeLabels(node: string): Promise<Record<string, string> | null> {
    return this.nodeMap.get(node) ?? (this.anyNodeExists ? {} : null);
  }

  async liveWorkloadEndpoints(): Promise<EndpointInfo[]> {
    return this.endpoints;
  }

  async nodeExists(node: string): Promise<boolean> {
    return this.anyNodeExists || this.nodeMap.has(node);
  }
}
