/**
 * What a NOTIFICATION says, in words, for logs and `tortie bgp peers`, and the RFC 9003
 * shutdown communication inside Cease NOTIFICATIONs. Sources: RFC 4271 §4.5 and §6, RFC 4486
 * and RFC 8538 (Cease subcodes), RFC 9003, RFC 6608 (FSM error subcodes), RFC 7313
 * (ROUTE-REFRESH error), RFC 9687 (send hold timer), RFC 9234 (role mismatch). Pure.
 */

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
  8: 'Send Hold Timer Expired',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure (deprecated)',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop (deprecated)',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

/** RFC 9003: the shutdown communication is at most 255 octets of UTF-8. */
export const SHUTDOWN_COMMUNICATION_MAX_BYTES = 255;

/**
 * The data of a Cease/Administrative Shutdown or Reset carrying a shutdown communication
 * (RFC 9003): one length octet, then UTF-8. A longer text is cut at a character boundary so
 * the peer never sees a broken character.
 */
export function encodeShutdownCommunication(text: string): Uint8Array {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > SHUTDOWN_COMMUNICATION_MAX_BYTES) {
    let end = SHUTDOWN_COMMUNICATION_MAX_BYTES;
    // Step back over UTF-8 continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/**
 * The shutdown communication in a Cease NOTIFICATION's data, or undefined when there is none.
 * Malformed data (a length past the end, bad UTF-8) yields `{ malformed: true }`, as RFC 9003
 * §4 asks receivers to cope with it rather than fail.
 */
export function decodeShutdownCommunication(
  data: Uint8Array,
): { text: string } | { malformed: true } | undefined {
  if (data.length === 0) return undefined;
  const len = data[0]!;
  if (len === 0) return undefined;
  if (1 + len > data.length) return { malformed: true };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(1, 1 + len)) };
  } catch {
    return { malformed: true };
  }
}

export function notificationCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Unknown error code ${code}`;
}

export function notificationSubcodeName(code: number, subcode: number): string | undefined {
  if (subcode === 0) return undefined;
  return SUBCODE_NAMES[code]?.[subcode] ?? `subcode ${subcode}`;
}

const CAPABILITY_NAMES: Record<number, string> = {
  1: 'multiprotocol',
  2: 'route refresh',
  5: 'extended next hop',
  6: 'extended message',
  9: 'BGP role',
  64: 'graceful restart',
  65: '4-octet AS',
  69: 'ADD-PATH',
  70: 'enhanced route refresh',
  71: 'long-lived graceful restart',
  73: 'FQDN',
};

const FAMILY_NAMES: Record<string, string> = { '1/1': 'IPv4 unicast', '2/1': 'IPv6 unicast', '1/2': 'IPv4 multicast', '2/2': 'IPv6 multicast' };

function familyName(afi: number, safi: number): string {
  return FAMILY_NAMES[`${afi}/${safi}`] ?? `AFI ${afi} SAFI ${safi}`;
}

function uint(data: Uint8Array, offset: number, bytes: number): number {
  let v = 0;
  for (let i = 0; i < bytes; i++) v = v * 256 + data[offset + i]!;
  return v;
}

function hex(data: Uint8Array, max = 32): string {
  const shown = Buffer.from(data.subarray(0, max)).toString('hex');
  return data.length > max ? `${shown}… (${data.length} bytes)` : shown;
}

/** What the data of a given code/subcode says, in words; undefined when it says nothing. */
function describeData(code: number, subcode: number, data: Uint8Array): string | undefined {
  if (data.length === 0) return undefined;
  if (code === 1 && subcode === 2 && data.length === 2) return `length ${uint(data, 0, 2)}`;
  if (code === 1 && subcode === 3 && data.length === 1) return `type ${data[0]}`;
  if (code === 2 && subcode === 1 && data.length === 2) return `supported version ${uint(data, 0, 2)}`;
  if (code === 2 && subcode === 2 && (data.length === 2 || data.length === 4)) {
    return `peer said ${uint(data, 0, data.length)}`;
  }
  if (code === 2 && subcode === 3 && data.length === 4) return `identifier ${Array.from(data).join('.')}`;
  if (code === 2 && subcode === 6 && data.length === 2) return `hold time ${uint(data, 0, 2)}`;
  if (code === 2 && subcode === 7) {
    // A list of capability TLVs: code, length, value.
    const names: string[] = [];
    for (let i = 0; i + 2 <= data.length; i += 2 + data[i + 1]!) {
      names.push(CAPABILITY_NAMES[data[i]!] ?? `capability ${data[i]}`);
    }
    return names.length ? `missing ${names.join(', ')}` : `data ${hex(data)}`;
  }
  if (code === 6 && subcode === 1 && data.length === 7) {
    return `${familyName(uint(data, 0, 2), data[2]!)}, limit ${uint(data, 3, 4)}`;
  }
  return `data ${hex(data)}`;
}

/**
 * One line for a NOTIFICATION, e.g.
 *   OPEN Message Error / Bad Peer AS (peer said 65002)
 *   Cease / Administrative Shutdown: "maintenance"
 */
export function describeNotification(code: number, subcode: number, data: Uint8Array = new Uint8Array()): string {
  const codeName = notificationCodeName(code);
  const subName = notificationSubcodeName(code, subcode);
  const head = subName ? `${codeName} / ${subName}` : codeName;
  if (code === 6 /* Cease */ && (subcode === 2 || subcode === 4)) {
    const comm = decodeShutdownCommunication(data);
    if (comm && 'text' in comm) return `${head}: ${JSON.stringify(comm.text)}`;
    if (comm) return `${head} (malformed shutdown communication: ${hex(data)})`;
    return head;
  }
  const said = describeData(code, subcode, data);
  return said ? `${head} (${said})` : head;
}
