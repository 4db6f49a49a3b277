/** felix: the per-host dataplane agent (calculation + kernel reconcilers + apply loop). */
export { startFelix, type FelixHandle, type FelixOptions, type FelixStatus } from './felix.js';
export { CalcGraph, type CalcOptions } from './calc/graph.js';
export type { DesiredState, DesiredTable, DesiredIpSet, DesiredRoute } from './calc/model.js';
export { FELIX_ROUTE_PROTOCOL, WORKLOAD_IFACE_PREFIX, CHAIN_PREFIX, FAILSAFE } from './calc/names.js';
export { Dataplane } from './dataplane/dataplane.js';
