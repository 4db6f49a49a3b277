/**
 * The standalone speaker's configuration file (`tortie bgp run --config FILE.yaml`), with the
 * keys ARCHITECTURE.md fixes: asn, routerId, listen, peers, originate, policies, fib, control.
 * Loading checks every field and names the first bad one with its path, so that a typo never
 * starts a speaker that silently does something else.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { parseDocument } from 'yaml';
import { UserError } from '../../common/errors.js';
import { checkInt, checkList, checkString, fail, Fields, show } from '../../common/fields.js';

export type FamilyName = 'ipv4' | 'ipv6';
export type AddPathMode = 'none' | 'receive' | 'send' | 'both';
/** A policy reference: a policy by name, or one of the two built-ins. */
export type PolicyRef = string;
export const ACCEPT_ALL = 'accept-all';
export const REJECT_ALL = 'reject-all';

export interface GracefulRestartConfig {
  enabled: boolean;
  /** Seconds the peer should keep our routes while we restart (RFC 4724 Restart Time). */
  restartTime: number;
}

export interface SpeakerGracefulRestart extends GracefulRestartConfig {
  /**
   * After a restart with kernel routes kept (fib.install), the longest we wait for
   * End-of-RIB from every peer before sweeping stale kernel routes anyway, seconds
   * (RFC 4724's selection deferral timer).
   */
  selectionDeferralTime: number;
}

export interface PeerConfig {
  /** Peer address; the peer's key everywhere (control API, logs). */
  address: string;
  port: number;
  asn: number;
  /** Never connect; wait for the peer. */
  passive: boolean;
  /** Hold time we offer, seconds: 0, or 3-65535. */
  holdTime: number;
  /** Keepalive interval, seconds (default: a third of the negotiated hold time). */
  keepaliveTime?: number;
  /** Seconds between connection attempts. */
  connectRetryTime: number;
  /** TCP MD5 key (RFC 2385), Calico's BGPPeer password. */
  password?: string;
  /** GTSM (RFC 5082): the peer is at most this many hops away (Calico's ttlSecurity). */
  ttlSecurity?: number;
  families: FamilyName[];
  routeReflectorClient: boolean;
  /** Transparent route server for this peer (RFC 7947): our AS is not added, next hop kept. */
  routeServerClient: boolean;
  addPaths: AddPathMode;
  gracefulRestart: GracefulRestartConfig;
  import?: PolicyRef;
  export?: PolicyRef;
  /** Source address for the connection. */
  localAddress?: string;
  /** Free text shown in `tortie bgp peers`. */
  description?: string;
  /** Largest number of prefixes accepted from the peer before a Cease (RFC 4486 subcode 1). */
  maxPrefixes?: number;
}

export interface OriginateConfig {
  prefix: string;
  nextHop?: string;
  communities: string[];
  localPref?: number;
  med?: number;
}

export interface SpeakerConfig {
  asn: number;
  routerId: string;
  listen: { address: string; port: number } | null;
  peers: PeerConfig[];
  originate: OriginateConfig[];
  /** Named policies; their rule language belongs to the policy module, kept raw here. */
  policies: Record<string, unknown[]>;
  fib: {
    install: boolean;
    table: number;
    /** How often the kernel table is read back and repaired (default 30 s, as BIRD's scan time order). */
    repairIntervalMs: number;
  };
  control: { socket: string };
  /** Route reflector cluster id (RFC 4456), a dotted quad; default the router id. */
  clusterId?: string;
  /** ECMP: at most this many equal best paths go into the kernel as one multipath route (default 1). */
  multipath: number;
  /** Speaker-wide graceful restart (RFC 4724): peers' defaults and the restarting-side timer. */
  gracefulRestart: SpeakerGracefulRestart;
  /**
   * RFC 8212: without an explicit import/export policy, routes from and to eBGP peers are
   * refused. `false` turns that off, like FRR's `no bgp ebgp-requires-policy`.
   */
  ebgpRequiresPolicy: boolean;
}

export const DEFAULT_CONTROL_SOCKET = '/run/tortie/bgp.sock';
const DEFAULT_HOLD_TIME = 90;
const DEFAULT_CONNECT_RETRY = 5;
const DEFAULT_RESTART_TIME = 120;
const DEFAULT_SELECTION_DEFERRAL = 120;
const DEFAULT_REPAIR_INTERVAL_MS = 30_000;

export class ConfigError extends UserError {
  constructor(source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export function loadSpeakerConfig(file: string): SpeakerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseSpeakerConfig(text, file);
}

export function parseSpeakerConfig(text: string, source = 'config'): SpeakerConfig {
  const doc = parseDocument(text);
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0];
    throw new ConfigError(source, `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  try {
    return checkSpeakerConfig(doc.toJS());
  } catch (err) {
    if (err instanceof UserError && !(err instanceof ConfigError)) throw new ConfigError(source, err.message);
    throw err;
  }
}

export function checkSpeakerConfig(value: unknown): SpeakerConfig {
  const f = Fields.of(value ?? {}, '', [
    'asn', 'routerId', 'listen', 'holdTime', 'peers', 'originate', 'policies', 'fib', 'control', 'ebgpRequiresPolicy',
    'clusterId', 'multipath', 'gracefulRestart',
  ]);
  const asn = checkAsn(f.required('asn'), 'asn');
  const routerId = f.requiredString('routerId', (s, p) => {
    if (!isIPv4(s) || s === '0.0.0.0') fail(p, `${show(s)} is not a router id (a non-zero dotted quad)`);
  });
  const defaultHold = f.has('holdTime') ? checkHoldTime(f.raw('holdTime'), 'holdTime') : DEFAULT_HOLD_TIME;
  const policies = f.object('policies', checkPolicies) ?? {};
  const gracefulRestart: SpeakerGracefulRestart = f.has('gracefulRestart')
    ? checkSpeakerGracefulRestart(f.raw('gracefulRestart'), 'gracefulRestart')
    : { enabled: true, restartTime: DEFAULT_RESTART_TIME, selectionDeferralTime: DEFAULT_SELECTION_DEFERRAL };
  const peers = f.list('peers', (v, p) => checkPeer(v, p, defaultHold, policies, gracefulRestart)) ?? [];
  const seen = new Set<string>();
  peers.forEach((peer, i) => {
    if (seen.has(peer.address)) fail(`peers[${i}].address`, `${peer.address} is listed twice`);
    seen.add(peer.address);
  });
  return {
    asn,
    routerId,
    listen: f.has('listen') ? checkListen(f.raw('listen'), 'listen') : { address: '0.0.0.0', port: 179 },
    peers,
    originate: f.list('originate', checkOriginate) ?? [],
    policies,
    fib: f.object('fib', (v, p) => {
      const g = Fields.of(v, p, ['install', 'table', 'repairIntervalMs']);
      return {
        install: g.bool('install') ?? false,
        table: g.int('table', 1, 0xfffffffe) ?? 254,
        repairIntervalMs: g.int('repairIntervalMs', 100, 86_400_000) ?? DEFAULT_REPAIR_INTERVAL_MS,
      };
    }) ?? { install: false, table: 254, repairIntervalMs: DEFAULT_REPAIR_INTERVAL_MS },
    control: f.object('control', (v, p) => {
      const g = Fields.of(v, p, ['socket']);
      return { socket: g.string('socket') ?? DEFAULT_CONTROL_SOCKET };
    }) ?? { socket: DEFAULT_CONTROL_SOCKET },
    ebgpRequiresPolicy: f.bool('ebgpRequiresPolicy') ?? true,
    clusterId: f.string('clusterId', (s, p) => {
      if (!isIPv4(s) || s === '0.0.0.0') fail(p, `${show(s)} is not a cluster id (a non-zero dotted quad)`);
    }),
    multipath: f.int('multipath', 1, 64) ?? 1,
    gracefulRestart,
  };
}

function checkSpeakerGracefulRestart(v: unknown, path: string): SpeakerGracefulRestart {
  if (typeof v === 'boolean') return { enabled: v, restartTime: DEFAULT_RESTART_TIME, selectionDeferralTime: DEFAULT_SELECTION_DEFERRAL };
  const f = Fields.of(v, path, ['enabled', 'restartTime', 'selectionDeferralTime']);
  return {
    enabled: f.bool('enabled') ?? true,
    restartTime: f.int('restartTime', 0, 4095) ?? DEFAULT_RESTART_TIME,
    selectionDeferralTime: f.int('selectionDeferralTime', 1, 3600) ?? DEFAULT_SELECTION_DEFERRAL,
  };
}

function checkAsn(v: unknown, path: string): number {
  return checkInt(v, path, 1, 0xffffffff);
}

function checkHoldTime(v: unknown, path: string): number {
  const n = checkInt(v, path, 0, 65535);
  if (n === 1 || n === 2) fail(path, `${n} is not allowed: a hold time is 0 or at least 3 seconds (RFC 4271)`);
  return n;
}

function checkAddress(s: string, path: string): string {
  if (!isIPv4(s) && !isIPv6(s)) fail(path, `${show(s)} is not an IP address`);
  return s;
}

function checkListen(v: unknown, path: string): SpeakerConfig['listen'] {
  if (v === false) return null;
  const f = Fields.of(v, path, ['address', 'port']);
  const port = f.int('port', 0, 65535) ?? 179;
  if (port === 0) return null;
  return { address: f.string('address', checkAddress) ?? '0.0.0.0', port };
}

function checkPolicyRef(v: unknown, path: string, policies: Record<string, unknown[]>): PolicyRef {
  const name = checkString(v, path);
  if (name !== ACCEPT_ALL && name !== REJECT_ALL && !(name in policies)) {
    const known = [ACCEPT_ALL, REJECT_ALL, ...Object.keys(policies)];
    fail(path, `no policy named ${show(name)} (known: ${known.join(', ')})`);
  }
  return name;
}

function checkPeer(v: unknown, path: string, defaultHold: number, policies: Record<string, unknown[]>, gr: GracefulRestartConfig): PeerConfig {
  const f = Fields.of(v, path, [
    'address', 'port', 'asn', 'passive', 'holdTime', 'keepaliveTime', 'connectRetryTime', 'password', 'ttlSecurity',
    'families', 'routeReflectorClient', 'routeServerClient', 'addPaths', 'gracefulRestart', 'import', 'export',
    'localAddress', 'description', 'maxPrefixes',
  ]);
  const address = f.requiredString('address', checkAddress);
  const holdTime = f.has('holdTime') ? checkHoldTime(f.raw('holdTime'), f.at('holdTime')) : defaultHold;
  const keepaliveTime = f.int('keepaliveTime', 0, 65535);
  if (keepaliveTime !== undefined && holdTime > 0 && keepaliveTime >= holdTime) {
    fail(f.at('keepaliveTime'), `${keepaliveTime} must be less than the hold time (${holdTime})`);
  }
  const families = f.list('families', (x, p) => {
    const s = checkString(x, p).toLowerCase().replace(/[-_ ]?unicast$/, '');
    if (s !== 'ipv4' && s !== 'ipv6') fail(p, `${show(x)} is not a family (ipv4 or ipv6)`);
    return s;
  }) ?? [isIPv6(address) ? 'ipv6' : 'ipv4'];
  if (families.length === 0) fail(f.at('families'), 'must name at least one family');
  return {
    address,
    port: f.int('port', 1, 65535) ?? 179,
    asn: checkAsn(f.required('asn'), f.at('asn')),
    passive: f.bool('passive') ?? false,
    holdTime,
    keepaliveTime,
    connectRetryTime: f.int('connectRetryTime', 1, 65535) ?? DEFAULT_CONNECT_RETRY,
    password: f.string('password', (s, p) => {
      if (s.length === 0 || Buffer.byteLength(s) > 80) fail(p, 'must be 1-80 bytes (the kernel limit for TCP MD5 keys)');
    }),
    ttlSecurity: f.int('ttlSecurity', 1, 254),
    families: [...new Set(families)],
    routeReflectorClient: f.bool('routeReflectorClient') ?? false,
    routeServerClient: f.bool('routeServerClient') ?? false,
    addPaths: f.oneOf('addPaths', ['none', 'receive', 'send', 'both'] as const) ?? 'none',
    gracefulRestart: f.has('gracefulRestart') ? checkGracefulRestart(f.raw('gracefulRestart'), f.at('gracefulRestart'), gr) : { enabled: gr.enabled, restartTime: gr.restartTime },
    import: f.has('import') ? checkPolicyRef(f.raw('import'), f.at('import'), policies) : undefined,
    export: f.has('export') ? checkPolicyRef(f.raw('export'), f.at('export'), policies) : undefined,
    localAddress: f.string('localAddress', checkAddress),
    description: f.string('description'),
    maxPrefixes: f.int('maxPrefixes', 1, 0xffffffff),
  };
}

function checkGracefulRestart(v: unknown, path: string, defaults: GracefulRestartConfig): GracefulRestartConfig {
  if (typeof v === 'boolean') return { enabled: v, restartTime: defaults.restartTime };
  const f = Fields.of(v, path, ['enabled', 'restartTime']);
  return { enabled: f.bool('enabled') ?? true, restartTime: f.int('restartTime', 0, 4095) ?? defaults.restartTime };
}

function checkPrefix(s: string, path: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const addr = m?.[1] ?? s;
  const len = Number(m?.[2]);
  const max = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : -1;
  if (!m || max < 0 || len > max) fail(path, `${show(s)} is not a prefix (e.g. 10.1.0.0/24 or 2001:db8::/48)`);
  return s;
}

const COMMUNITY = /^(\d+):(\d+)$|^(\d+):(\d+):(\d+)$|^(no-export|no-advertise|no-export-subconfed|graceful-shutdown|blackhole)$/i;

export function checkOriginate(v: unknown, path: string): OriginateConfig {
  if (typeof v === 'string') return { prefix: checkPrefix(v, path), communities: [] };
  const f = Fields.of(v, path, ['prefix', 'nextHop', 'communities', 'localPref', 'med']);
  return {
    prefix: f.requiredString('prefix', checkPrefix),
    nextHop: f.string('nextHop', checkAddress),
    communities: f.list('communities', (x, p) => {
      const s = checkString(x, p);
      if (!COMMUNITY.test(s)) fail(p, `${show(s)} is not a community (A:B, A:B:C or a well-known name)`);
      return s;
    }) ?? [],
    localPref: f.int('localPref', 0, 0xffffffff),
    med: f.int('med', 0, 0xffffffff),
  };
}

function checkPolicies(v: unknown, path: string): Record<string, unknown[]> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, `must be a map of policy name to rules, not ${show(v)}`);
  const out: Record<string, unknown[]> = {};
  for (const [name, rules] of Object.entries(v as Record<string, unknown>)) {
    if (name === ACCEPT_ALL || name === REJECT_ALL) fail(`${path}.${name}`, 'is a built-in policy name');
    out[name] = checkList(rules, `${path}.${name}`, (r) => r);
  }
  return out;
}
