/**
 * The CNI specification versions tortie speaks, and the error codes it answers with.
 * No imports on purpose: the plugin executable loads this before anything else.
 */

export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

/** Error codes of the CNI specification (1-99) and tortie's own (100+). */
export const CNI_ERRORS = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADD now (CNI 1.1). */
  NOT_AVAILABLE: 50,
  /** tortie: anything not covered below (a bug, or an unexpected failure). */
  INTERNAL: 100,
  /** tortie: IPAM has no address for this node (pools exhausted, none matching). */
  NO_ADDRESS: 101,
  /** tortie: CHECK found the container's networking not as ADD left it. */
  CHECK_MISMATCH: 102,
  /** tortie: a kernel operation (veth, address, route) failed. */
  DATAPLANE: 103,
  /** tortie: the datastore refused a write or returned something unreadable. */
  DATASTORE: 104,
} as const;

export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** What one plugin invocation prints and how it exits. */
export interface CniOutcome {
  exitCode: number;
  /** Printed on stdout as is (JSON, or empty for DEL/CHECK/STATUS success). */
  stdout: string;
}
