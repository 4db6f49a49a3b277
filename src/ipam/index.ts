/**
 * IPAM for the CNI plugin, the node daemon and the CLI: per-host address blocks in the KV
 * store, handed out and taken back by compare-and-swap. See keys.ts for the key layout.
 *
 *   const ipam = new Ipam(kv, new ResourceConfigSource(new ResourceStore(kv)));
 *   const { ips } = await ipam.assign({ node: 'host-1', handle: containerId, attrs: {...} });
 *   await ipam.releaseByHandle(containerId);
 */
export { Ipam, hostHash } from './ipam.js';
export type { AssignRequest, AssignResult, AssignedIp, IpamOptions, NodeReleaseSummary, ReleaseItem, ReleaseOutcome, ReleaseStatus } from './ipam.js';
export type { AllocationAttrs, BlockRecord } from './block.js';
export type { HandleRecord } from './handle.js';
export { StaticConfigSource, DEFAULT_SETTINGS, defaultBlockSize } from './config.js';
export type { EndpointInfo, IpamConfigSource, IpamSettings, IpPoolInfo } from './config.js';
export { ResourceConfigSource } from './resource-source.js';
export { AddressInUseError, ExhaustedError, IpamInputError, PoolRefusedError, SequenceMismatchError } from './errors.js';
export { checkIpam, fixFromReport, parseReport } from './check.js';
export type { CheckReport, FixAction, FixOutcome, Problem, ProblemKind } from './check.js';
export { showAddress, showIpam } from './show.js';
export type { AddressInfo, BlockUsage, BorrowedAddress, IpamShow, PoolUsage } from './show.js';
export { readIpamState } from './state.js';
export type { AffinityRecord, IpamState } from './state.js';
export { IPAM_PREFIX, affinityKey, blockKey, handleKey } from './keys.js';
export type { Family } from './addr.js';
