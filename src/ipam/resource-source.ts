/**
 * IPAM's configuration read from the resource store: IPPools, the IPAMConfiguration named
 * "default", Nodes and WorkloadEndpoints. The one place IPAM knows how resources are kept.
 */
import type { ResourceStore } from '../datastore/resources/store.js';
import type { EndpointInfo, IpamConfigSource, IpamSettings, IpPoolInfo } from './config.js';
import { DEFAULT_SETTINGS } from './config.js';

export class ResourceConfigSource implements IpamConfigSource {
  constructor(readonly store: ResourceStore) {}

  async pools(): Promise<IpPoolInfo[]> {
    const { items } = await this.store.list('IPPool');
    return items.map((p) => ({
      name: p.metadata.name,
      cidr: p.spec.cidr,
      blockSize: p.spec.blockSize,
      disabled: p.spec.disabled,
      nodeSelector: p.spec.nodeSelector,
      allowedUses: p.spec.allowedUses,
    }));
  }

  async settings(): Promise<IpamSettings> {
    const c = await this.store.get('IPAMConfiguration', 'default');
    if (!c) return DEFAULT_SETTINGS;
    return { strictAffinity: c.spec.strictAffinity, maxBlocksPerHost: c.spec.maxBlocksPerHost };
  }

  async nodeLabels(node: string): Promise<Record<string, string> | null> {
    const n = await this.store.get('Node', node);
    return n ? (n.metadata.labels ?? {}) : null;
  }

  async liveWorkloadEndpoints(): Promise<EndpointInfo[]> {
    const { items } = await this.store.list('WorkloadEndpoint');
    return items.map((w) => ({
      name: w.metadata.name,
      namespace: w.metadata.namespace,
      node: w.spec.node ?? '',
      ips: w.spec.ipNetworks ?? [],
    }));
  }

  async nodeExists(node: string): Promise<boolean> {
    return (await this.store.get('Node', node)) !== null;
  }
}
