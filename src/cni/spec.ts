/**
 * One CNI invocation as the specification (1.0/1.1, and 0.4.0) defines it: CNI_* environment
 * variables plus the network configuration JSON on stdin, in; a result or an error JSON on
 * stdout, out. Pure: no I/O here, so the node daemon and the executable parse alike.
 *
 *   const req = parseInvocation(process.env, stdinText);   // throws CniError
 *   stdout = formatResult(result, req.cniVersion);
 */
import { isIPv4, isIPv6 } from 'node:net';
import { CNI_ERRORS, LATEST_VERSION, SUPPORTED_VERSIONS, type CniErrorJson } from './versions.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

/** A failure the plugin reports in the specification's error format. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CniError';
  }
}

export interface IpamSettings {
  assignIpv4: boolean;
  assignIpv6: boolean;
  /** Pool names or CIDRs to take addresses from, tried in order; empty: any eligible pool. */
  ipv4Pools: string[];
  ipv6Pools: string[];
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The network configuration, checked. `raw` keeps every key, for chained plugins. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  mtu?: number;
  ipam: IpamSettings;
  /** tortie's own: the node this host is (else the daemon's, TORTIE_NODENAME or the hostname). */
  nodename?: string;
  /** tortie's own: datastore URL for in-process mode (else TORTIE_DATASTORE). */
  datastore?: string;
  etcd?: { ca?: string; cert?: string; key?: string };
  /** tortie's own: the node daemon's socket; "" means never use a daemon. */
  nodeSocket?: string;
  /**
   * tortie's own, for labs and tests: in-process mode treats this named namespace (or path)
   * as the host instead of the plugin's own. A node daemon uses its own setting instead.
   */
  hostNetns?: string;
  dns?: CniDns;
  prevResult?: CniResult;
  runtimeConfig?: { labels?: Record<string, string>; [key: string]: unknown };
  /** Labels from `args.tortie.labels` (the CNI "args" convention). */
  argsLabels?: Record<string, string>;
  /** GC (1.1): the attachments the runtime still has. */
  validAttachments?: { containerID: string; ifname: string }[];
  raw: Record<string, unknown>;
}

export interface CniRequest {
  command: CniCommand;
  /** The version the caller speaks: the config's cniVersion (VERSION: may be absent). */
  cniVersion: string;
  containerId: string;
  /** Path of the container's network namespace; may be absent for DEL. */
  netns?: string;
  ifName: string;
  /** CNI_ARGS as key/value pairs ("K8S_POD_NAME" ...). */
  args: Record<string, string>;
  cniPath: string[];
  config: NetConf;
}

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1 only. */
  mtu?: number;
  sandbox?: string;
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  /** 0.4.0 only: "4" or "6". */
  version?: string;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** The environment variables of one invocation (tests and the daemon pass a plain object). */
export type CniEnv = Record<string, string | undefined>;

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function need(env: CniEnv, name: string, command: CniCommand): string {
  const v = env[name];
  if (v === undefined || v === '') throw new CniError(CNI_ERRORS.INVALID_ENV, `${name} is not set (required for ${command})`);
  return v;
}

/** The rules the kernel (and the spec) puts on an interface name. */
export function checkInterfaceName(name: string, what: string): void {
  const bad = Buffer.byteLength(name) > 15 || name === '' || name === '.' || name === '..' || /[/:\s]/.test(name);
  if (bad) throw new CniError(CNI_ERRORS.INVALID_ENV, `${what} "${name}" is not an interface name (1-15 characters, no '/', ':' or spaces)`);
}

/** CNI_ARGS: "K1=V1;K2=V2". */
export function parseCniArgs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERRORS.INVALID_ENV, `CNI_ARGS: "${part}" is not KEY=VALUE`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** "a=b,c=d" (or "a:b") into labels; used by TORTIE_LABELS in CNI_ARGS and the CLI. */
export function parseLabelList(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const m = /^([^=:]+)[=:](.*)$/.exec(item);
    if (!m) throw new CniError(CNI_ERRORS.INVALID_ENV, `${where}: "${item}" is not KEY=VALUE`);
    out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Reads the environment and stdin of one invocation; throws CniError with the spec's code. */
export function parseInvocation(env: CniEnv, stdin: string): CniRequest {
  const commandText = env.CNI_COMMAND;
  if (!commandText) throw new CniError(CNI_ERRORS.INVALID_ENV, 'CNI_COMMAND is not set');
  const command = commandText.toUpperCase() as CniCommand;
  if (!COMMANDS.includes(command)) throw new CniError(CNI_ERRORS.INVALID_ENV, `CNI_COMMAND "${commandText}" is not one of ${COMMANDS.join(', ')}`);

  if (command === 'VERSION') {
    // stdin holds at most {"cniVersion": "..."}; an empty one is fine.
    let cniVersion = LATEST_VERSION;
    if (stdin.trim() !== '') {
      const doc = decode(stdin);
      if (typeof doc.cniVersion === 'string' && doc.cniVersion !== '') cniVersion = doc.cniVersion;
    }
    return { command, cniVersion, containerId: '', ifName: '', args: {}, cniPath: [], config: emptyConfig(cniVersion) };
  }

  const config = parseNetConf(stdin, command);
  const needsContainer = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  let containerId = '';
  let ifName = '';
  let netns: string | undefined;
  if (needsContainer) {
    containerId = need(env, 'CNI_CONTAINERID', command);
    if (!CONTAINER_ID.test(containerId)) {
      throw new CniError(CNI_ERRORS.INVALID_ENV, `CNI_CONTAINERID "${containerId}" may only hold letters, digits, '_', '.' and '-'`);
    }
    ifName = need(env, 'CNI_IFNAME', command);
    checkInterfaceName(ifName, 'CNI_IFNAME');
    netns = command === 'DEL' ? env.CNI_NETNS || undefined : need(env, 'CNI_NETNS', command);
    if (netns !== undefined && !netns.startsWith('/')) throw new CniError(CNI_ERRORS.INVALID_ENV, `CNI_NETNS "${netns}" is not an absolute path`);
  }
  const args = parseCniArgs(env.CNI_ARGS);
  const cniPath = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '');
  return { command, cniVersion: config.cniVersion, containerId, netns, ifName, args, cniPath, config };
}

function emptyConfig(cniVersion: string): NetConf {
  return { cniVersion, name: '', type: '', ipam: { assignIpv4: true, assignIpv6: false, ipv4Pools: [], ipv6Pools: [] }, raw: {} };
}

function decode(stdin: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CNI_ERRORS.DECODE_FAILURE, `the network configuration on stdin is not JSON: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CniError(CNI_ERRORS.DECODE_FAILURE, 'the network configuration on stdin is not a JSON object');
  }
  return doc as Record<string, unknown>;
}

function invalid(field: string, why: string): CniError {
  return new CniError(CNI_ERRORS.INVALID_CONFIG, `network configuration: ${field} ${why}`);
}

function optString(doc: Record<string, unknown>, key: string, where = key): string | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(where, `must be a string, not ${JSON.stringify(v)}`);
  return v;
}

/** Calico writes booleans in IPAM settings as strings ("true"); both are accepted. */
function optBool(doc: Record<string, unknown>, key: string, where: string, dflt: boolean): boolean {
  const v = doc[key];
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalid(where, `must be true or false, not ${JSON.stringify(v)}`);
}

function stringList(doc: Record<string, unknown>, key: string, where: string): string[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(where, 'must be a list of strings');
  return v as string[];
}

function labelMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(where, 'must be an object of string values');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw invalid(`${where}.${k}`, 'must be a string');
  return v as Record<string, string>;
}

/** The network configuration JSON; `command` decides what it must hold. */
export function parseNetConf(stdin: string, command: CniCommand): NetConf {
  if (stdin.trim() === '') throw new CniError(CNI_ERRORS.DECODE_FAILURE, 'no network configuration on stdin');
  const doc = decode(stdin);
  const cniVersion = optString(doc, 'cniVersion');
  if (!cniVersion) throw invalid('cniVersion', 'is missing');
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(CNI_ERRORS.INCOMPATIBLE_VERSION, `cniVersion "${cniVersion}" is not supported; tortie speaks ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if ((command === 'STATUS' || command === 'GC') && compareVersions(cniVersion, '1.1.0') < 0) {
    throw new CniError(CNI_ERRORS.INCOMPATIBLE_VERSION, `${command} needs cniVersion 1.1.0 or later, the configuration says "${cniVersion}"`);
  }
  const name = optString(doc, 'name');
  if (!name) throw invalid('name', 'is missing');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw invalid('name', `"${name}" may only hold letters, digits, '_', '.' and '-'`);
  const type = optString(doc, 'type');
  if (!type) throw invalid('type', 'is missing');

  let mtu: number | undefined;
  if (doc.mtu !== undefined && doc.mtu !== null) {
    const n = doc.mtu;
    if (n !== 0 && (typeof n !== 'number' || !Number.isInteger(n) || n < 68 || n > 65535)) throw invalid('mtu', `${JSON.stringify(n)} is not an integer from 68 to 65535 (or 0 for the default)`);
    mtu = n === 0 ? undefined : (n as number);
  }

  const ipamDoc = doc.ipam ?? {};
  if (typeof ipamDoc !== 'object' || ipamDoc === null || Array.isArray(ipamDoc)) throw invalid('ipam', 'must be an object');
  const ipamRaw = ipamDoc as Record<string, unknown>;
  const ipamType = optString(ipamRaw, 'type', 'ipam.type');
  if (ipamType !== undefined && ipamType !== '' && ipamType !== 'tortie' && ipamType !== 'tortie-ipam' && ipamType !== 'calico-ipam') {
    throw new CniError(CNI_ERRORS.UNSUPPORTED_FIELD, `network configuration: ipam.type "${ipamType}" is not supported; tortie assigns addresses itself (use "tortie" or leave it out)`);
  }
  const ipam: IpamSettings = {
    assignIpv4: optBool(ipamRaw, 'assign_ipv4', 'ipam.assign_ipv4', true),
    assignIpv6: optBool(ipamRaw, 'assign_ipv6', 'ipam.assign_ipv6', false),
    ipv4Pools: stringList(ipamRaw, 'ipv4_pools', 'ipam.ipv4_pools'),
    ipv6Pools: stringList(ipamRaw, 'ipv6_pools', 'ipam.ipv6_pools'),
  };
  if (!ipam.assignIpv4 && !ipam.assignIpv6 && command === 'ADD') throw invalid('ipam', 'assigns no address (assign_ipv4 and assign_ipv6 are both false)');

  const etcdRaw = {
    ca: optString(doc, 'etcd_ca_cert_file'),
    cert: optString(doc, 'etcd_cert_file'),
    key: optString(doc, 'etcd_key_file'),
  };
  const etcd = etcdRaw.ca || etcdRaw.cert || etcdRaw.key ? etcdRaw : undefined;

  let dns: CniDns | undefined;
  if (doc.dns !== undefined && doc.dns !== null) {
    if (typeof doc.dns !== 'object' || Array.isArray(doc.dns)) throw invalid('dns', 'must be an object');
    dns = doc.dns as CniDns;
  }

  let prevResult: CniResult | undefined;
  if (doc.prevResult !== undefined && doc.prevResult !== null) {
    if (typeof doc.prevResult !== 'object' || Array.isArray(doc.prevResult)) throw invalid('prevResult', 'must be an object');
    prevResult = doc.prevResult as CniResult;
  }

  let runtimeConfig: NetConf['runtimeConfig'];
  if (doc.runtimeConfig !== undefined && doc.runtimeConfig !== null) {
    if (typeof doc.runtimeConfig !== 'object' || Array.isArray(doc.runtimeConfig)) throw invalid('runtimeConfig', 'must be an object');
    runtimeConfig = { ...(doc.runtimeConfig as Record<string, unknown>) };
    const labels = labelMap(runtimeConfig.labels, 'runtimeConfig.labels');
    if (labels) runtimeConfig.labels = labels;
  }

  let argsLabels: Record<string, string> | undefined;
  const args = doc.args as Record<string, unknown> | undefined;
  if (args && typeof args === 'object') {
    const ours = (args.tortie ?? args.cni) as Record<string, unknown> | undefined;
    if (ours && typeof ours === 'object') argsLabels = labelMap(ours.labels, 'args.tortie.labels');
  }

  let validAttachments: NetConf['validAttachments'];
  if (command === 'GC') {
    const list = doc['cni.dev/valid-attachments'] ?? [];
    if (!Array.isArray(list)) throw invalid('cni.dev/valid-attachments', 'must be a list');
    validAttachments = list.map((a, i) => {
      const item = a as Record<string, unknown>;
      if (!item || typeof item.containerID !== 'string' || typeof item.ifname !== 'string') throw invalid(`cni.dev/valid-attachments[${i}]`, 'needs containerID and ifname');
      return { containerID: item.containerID, ifname: item.ifname };
    });
  }

  return {
    cniVersion,
    name,
    type,
    mtu,
    ipam,
    nodename: optString(doc, 'nodename') || undefined,
    datastore: optString(doc, 'datastore') || optString(doc, 'datastore_url') || undefined,
    etcd,
    nodeSocket: optString(doc, 'nodeSocket'),
    hostNetns: optString(doc, 'hostNetns') || undefined,
    dns,
    prevResult,
    runtimeConfig,
    argsLabels,
    validAttachments,
    raw: doc,
  };
}

/** A result in the shape `version` expects (0.4.0 carries ips[].version; 1.1 interface MTUs). */
export function formatResult(result: Omit<CniResult, 'cniVersion'>, version: string): CniResult {
  const old = compareVersions(version, '1.0.0') < 0;
  const withMtu = compareVersions(version, '1.1.0') >= 0;
  const out: CniResult = { cniVersion: version };
  if (result.interfaces) out.interfaces = result.interfaces.map((i) => {
    const copy: CniInterface = { name: i.name };
    if (i.mac !== undefined) copy.mac = i.mac;
    if (withMtu && i.mtu !== undefined) copy.mtu = i.mtu;
    if (i.sandbox !== undefined) copy.sandbox = i.sandbox;
    return copy;
  });
  if (result.ips) out.ips = result.ips.map((ip) => {
    const copy: CniIp = { address: ip.address };
    if (old) copy.version = ip.address.includes(':') ? '6' : '4';
    if (ip.gateway !== undefined) copy.gateway = ip.gateway;
    if (ip.interface !== undefined) copy.interface = ip.interface;
    return copy as CniIp;
  });
  if (result.routes) out.routes = result.routes.map((r) => ({ ...r }));
  out.dns = result.dns ?? {};
  return out;
}

export function versionResult(requested: string): string {
  const cniVersion = isSupportedVersion(requested) ? requested : LATEST_VERSION;
  return JSON.stringify({ cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] });
}

/** The spec's error JSON for any error (non-CniErrors are code 100, "internal"). */
export function errorJson(err: unknown, version: string | undefined): CniErrorJson {
  const cniVersion = version && isSupportedVersion(version) ? version : LATEST_VERSION;
  if (err instanceof CniError) {
    const out: CniErrorJson = { cniVersion, code: err.code, msg: err.message };
    if (err.details) out.details = err.details;
    return out;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { cniVersion, code: CNI_ERRORS.INTERNAL, msg };
}

/** "10.0.0.5/32" -> "10.0.0.5" with a family; null if not an address. */
export function splitAddress(text: string): { ip: string; prefix: number; family: 4 | 6 } | null {
  const [ip, len] = text.split('/');
  if (!ip || len === undefined) return null;
  const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0;
  if (family === 0) return null;
  return { ip, prefix: Number(len), family };
}
