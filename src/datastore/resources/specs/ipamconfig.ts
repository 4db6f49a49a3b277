/** IPAMConfiguration: cluster-wide IPAM settings; Calico only reads the one named `default`. */
import { Fields } from '../../../common/fields.js';
import type { IPAMConfigurationSpec } from '../types.js';

export function validateIPAMConfigurationSpec(value: unknown, path: string): IPAMConfigurationSpec {
  const f = Fields.of(value ?? {}, path, ['strictAffinity', 'maxBlocksPerHost', 'autoAllocateBlocks']);
  return {
    strictAffinity: f.bool('strictAffinity') ?? false,
    // 0 means no limit, as in Calico.
    maxBlocksPerHost: f.int('maxBlocksPerHost', 0, 2147483647) ?? 0,
    autoAllocateBlocks: f.bool('autoAllocateBlocks') ?? true,
  };
}
