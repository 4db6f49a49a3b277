/**
 * The CNI plugin as a library, for the node daemon to host and for `tortie workload`:
 *
 *   const deps = { ipam, store, nodeName, log };
 *   const server = await serveControl('/run/tortie/node.sock', { ...cniControlRoutes(deps) });
 *   const result = await cniAdd(parseInvocation(env, stdin), deps);
 */
export { cniAdd, endpointDoc } from './add.js';
export { cniDel, type DelSummary } from './del.js';
export { cniCheck } from './check.js';
export { cniControlRoutes, cniEnvOf, cniGc, cniStatus, handleCni, type CniCall } from './handler.js';
export { ADD_STEPS, attachmentOf, type AddStep, type Attachment, type CniDeps, type CniHooks } from './context.js';
export {
  CniError,
  errorJson,
  formatResult,
  parseCniArgs,
  parseInvocation,
  parseLabelList,
  parseNetConf,
  versionResult,
  type CniCommand,
  type CniEnv,
  type CniResult,
  type CniRequest,
  type NetConf,
} from './spec.js';
export { CNI_ERRORS, LATEST_VERSION, SUPPORTED_VERSIONS, type CniErrorJson, type CniOutcome } from './versions.js';
export {
  endpointName,
  GATEWAY_V4,
  GATEWAY_V6,
  handleId,
  HOST_VETH_MAC,
  HOST_VETH_PREFIX,
  hostVethName,
  WORKLOAD_ROUTE_PROTOCOL,
} from './names.js';
export { DEFAULT_NODE_SOCKET, NODE_SOCKET_ENV } from './client.js';
