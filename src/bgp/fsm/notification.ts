/**
 * NOTIFICATION error codes and subcodes by name, and their description for logs and
 * `tortie bgp peers`. Sources: RFC 4271 §4.5 and §6, RFC 4486 and RFC 8538 (Cease subcodes),
 * RFC 9003 (shutdown communication), RFC 6608 (FSM error subcodes), RFC 7313 (ROUTE-REFRESH
 * error), RFC 9687 (send hold timer), RFC 9234 (role mismatch).
 * Pure: no I/O.
 */

export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FsmError: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
  SendHoldTimerExpired: 8,
} as const;

export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486, RFC 8538 (Hard Reset), RFC 9384 (BFD Down). */
export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;

/** A NOTIFICATION's content, independent of the codec's types. */
export interface Notification {
  code: number;
  subcode: number;
  data: Uint8Array;
}

export {
  SHUTDOWN_COMMUNICATION_MAX_BYTES,
  decodeShutdownCommunication,
  describeNotification,
  encodeShutdownCommunication,
  notificationCodeName,
  notificationSubcodeName,
} from '../wire/notification-text.js';

/** Builders for the NOTIFICATIONs the FSM and OPEN validation send. */
export function notification(code: number, subcode = 0, data: Uint8Array = new Uint8Array()): Notification {
  return { code, subcode, data };
}

export function uint16Data(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}

export function uint32Data(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}
