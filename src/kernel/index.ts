/** Network namespaces, links and processes inside them: the kernel toolkit for felix, labs and tests. */
export { CommandError, formatCommand, ipBatch, oneLine, run, type IpBatchOptions, type RunOptions } from './exec.js';
export { checkIfName, checkNetnsName, InvalidNameError, MAX_IFNAME_LENGTH, MAX_NETNS_NAME_LENGTH } from './names.js';
export { addressInSubnet, InvalidAddressError, parseCidr, type Cidr, type IpFamily } from './addr.js';
export {
  createNetns,
  type CreateNetnsOptions,
  deleteNetns,
  execInNetns,
  getSysctl,
  listNetns,
  NETNS_DIR,
  netnsExists,
  netnsPath,
  setSysctl,
  setSysctls,
} from './netns.js';
export {
  addAddresses,
  addBridge,
  addBridgePort,
  addressLines,
  addVethPair,
  listAddresses,
  listLinks,
  setLinkUp,
  setMtu,
  type BridgeOptions,
  type LinkInfo,
  type VethEnd,
  type VethOptions,
} from './links.js';
export { spawnInNetns, type NetnsProcess, type ProcessExit, type SpawnOptions } from './process.js';
export { CleanupError, NetnsScope, netnsWithPrefix, type NetnsScopeOptions } from './scope.js';
