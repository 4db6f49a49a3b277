/**
 * Checks of single values shared by several kinds: names, labels, selectors, addresses,
 * ports, protocols, AS numbers, durations. Each one throws a ValidationError naming `path`,
 * or returns the value in canonical form.
 */
import { fail, show } from '../../common/fields.js';
import { ipVersion, parseCidr, parseNet, type IPVersion } from './net.js';
import { validateSelector } from './selector.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** metadata.name and similar: a DNS-1123 subdomain (lower case, digits, '-', '.'; 253 max). */
export function checkName(name: string, path: string): void {
  if (name === '') fail(path, 'must not be empty');
  if (name.length > 253) fail(path, `${show(name)} is longer than 253 characters`);
  if (!name.split('.').every((part) => DNS1123_LABEL.test(part))) {
    fail(path, `${show(name)} is not a valid name (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)`);
  }
}

/** A namespace: a DNS-1123 label (no dots, 63 max). */
export function checkNamespace(ns: string, path: string): void {
  if (ns.length > 63 || !DNS1123_LABEL.test(ns)) {
    fail(path, `${show(ns)} is not a valid namespace (lower-case letters, digits and '-', at most 63)`);
  }
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** A Kubernetes label key: optional DNS prefix and '/', then a name of at most 63. */
export function checkLabelKey(key: string, path: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !prefix.split('.').every((p) => DNS1123_LABEL.test(p)))) {
    fail(path, `label key ${show(key)} has an invalid prefix`);
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    fail(path, `${show(key)} is not a valid label key`);
  }
}

export function checkLabelValue(value: string, path: string): void {
  if (value !== '' && (value.length > 63 || !LABEL_NAME.test(value))) {
    fail(path, `${show(value)} is not a valid label value`);
  }
}

export function checkSelector(selector: string, path: string): void {
  const problem = validateSelector(selector);
  if (problem) fail(path, `${show(selector)} is not a valid selector: ${problem}`);
}

/** A CIDR; host bits set is an error that says which network was probably meant. */
export function checkCidr(text: string, path: string, options: { version?: IPVersion } = {}): string {
  const cidr = parseCidr(text);
  if (!cidr) fail(path, `${show(text)} is not a CIDR`);
  if (options.version && cidr.version !== options.version) fail(path, `${show(text)} is not an IPv${options.version} CIDR`);
  if (cidr.hostBitsSet) fail(path, `${show(text)} has host bits set (did you mean ${cidr.text}?)`);
  return cidr.text;
}

/** A CIDR or a bare address, as policy `nets` take; host bits are masked as Calico does. */
export function checkNet(text: string, path: string): string {
  const net = parseNet(text);
  if (!net) fail(path, `${show(text)} is not an IP address or CIDR`);
  return net.text;
}

export function checkIP(text: string, path: string, version?: IPVersion): string {
  const v = ipVersion(text);
  if (v === undefined) fail(path, `${show(text)} is not an IP address`);
  if (version && v !== version) fail(path, `${show(text)} is not an IPv${version} address`);
  return text;
}

/** An address with its prefix length (Node spec.bgp.ipv4Address: `10.0.0.1/24`) or without. */
export function checkIPWithPrefix(text: string, path: string, version: IPVersion): string {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  if (ipVersion(addr) !== version) fail(path, `${show(text)} is not an IPv${version} address`);
  if (slash >= 0 && !parseCidr(text)) fail(path, `${show(text)} has an invalid prefix length`);
  return text;
}

/** `IP` or `IP:port` (IPv4) or `[IPv6]:port`, as BGPPeer peerIP takes. */
export function checkIPPort(text: string, path: string): string {
  let addr = text;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    addr = v6[1];
    port = v6[2];
  } else if (/^[\d.]+:\d+$/.test(text)) {
    [addr, port] = text.split(':');
  }
  if (ipVersion(addr) === undefined) fail(path, `${show(text)} is not an IP address (or IP:port)`);
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) fail(path, `${show(text)} has port ${port} out of range 1-65535`);
  return text;
}

const MAC = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;
export function checkMAC(text: string, path: string): string {
  if (!MAC.test(text)) fail(path, `${show(text)} is not a MAC address`);
  return text;
}

/**
 * An AS number: 0-4294967295, or the asdot form `1.10` (= 65546) Calico also takes.
 * Returns the plain number.
 */
export function checkASNumber(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4294967295) return v;
  if (typeof v === 'string') {
    const dot = /^(\d+)\.(\d+)$/.exec(v);
    if (dot && Number(dot[1]) <= 65535 && Number(dot[2]) <= 65535) return Number(dot[1]) * 65536 + Number(dot[2]);
    if (/^\d+$/.test(v) && Number(v) <= 4294967295) return Number(v);
  }
  fail(path, `${show(v)} is not an AS number (0-4294967295 or asdot like 1.10)`);
}

/** A Go duration as Calico takes them: `120s`, `1m30s`, `2h`. */
export function checkDuration(text: string, path: string): string {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) fail(path, `${show(text)} is not a duration (like 120s, 5m or 1h30m)`);
  return text;
}

export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;

/** A protocol name (any case; stored as Calico spells it) or a number 1-255. */
export function checkProtocol(v: unknown, path: string): string | number {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 255) return v;
    fail(path, `protocol ${v} is out of range 1-255`);
  }
  if (typeof v === 'string') {
    const name = PROTOCOL_NAMES.find((p) => p.toLowerCase() === v.toLowerCase());
    if (name) return name;
    if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 255) return Number(v);
  }
  fail(path, `${show(v)} is not a protocol (one of ${PROTOCOL_NAMES.join(', ')} or a number 1-255)`);
}

/** Whether ports make sense with this protocol (Calico: TCP, UDP and SCTP only). */
export function protocolHasPorts(protocol: string | number | undefined): boolean {
  return protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP' || protocol === 6 || protocol === 17 || protocol === 132;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * A port: a number 0-65535, a range `a:b` with a <= b, or a named port (IANA service name
 * style: lower case, digits and '-', at most 15, with at least one letter).
 */
export function checkPort(v: unknown, path: string): number | string {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 65535) return v;
    fail(path, `port ${v} is out of range 0-65535`);
  }
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return checkPort(Number(v), path);
    const range = /^(\d+):(\d+)$/.exec(v);
    if (range) {
      const [lo, hi] = [Number(range[1]), Number(range[2])];
      if (lo > 65535 || hi > 65535) fail(path, `port range ${show(v)} goes past 65535`);
      if (lo > hi) fail(path, `port range ${show(v)} has its start after its end`);
      return v;
    }
    if (v.length <= 15 && PORT_NAME.test(v) && /[a-z]/.test(v)) return v;
  }
  fail(path, `${show(v)} is not a port (a number, a range like "8000:8080", or a port name)`);
}
