/** The FIB writer: best routes into the kernel, batched, read back and repaired. */
export {
  DEFAULT_FIB_METRIC,
  KernelFib,
  MAIN_TABLE,
  TORTIE_ROUTE_PROTOCOL,
  type FibFailure,
  type FibFailureReason,
  type FibReport,
  type FibRoute,
  type KernelFibOptions,
  type NextHopsInput,
} from './kernel-fib.js';
export { canonicalPrefix, FibInputError } from './addr.js';
export type { KernelNextHop, KernelRoute, NextHop } from './route.js';
export { IpBatch, IpBatchError, type IpBatchOptions, type LineFailures } from './ip-batch.js';
