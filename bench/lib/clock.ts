/**
 * One clock for every process of a benchmark run: wall-clock milliseconds since the epoch
 * with sub-millisecond resolution. performance.timeOrigin is the process's start as a
 * wall-clock timestamp (microsecond precision) and performance.now() a monotonic offset from
 * it, so two processes on the same machine produce comparable times (the injector's "first
 * UPDATE sent" against the monitor's "last prefix seen"), unlike process.hrtime, whose
 * origin is arbitrary per process.
 */
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

/** Wall-clock ms since the epoch, sub-ms resolution, monotonic within a process. */
export function nowMs(): number {
  return origin + performance.now();
}
