/**
 * Mocha fixtures on top of src/kernel: a scope per describe block, a ready-made underlay
 * segment of hosts, and probes (ping, TCP connect, TCP/UDP echo) that run inside a
 * namespace. The probes are tiny Node scripts or iputils ping, so they test the real
 * kernel path and nothing of ours.
 *
 *   describe('my feature', function () {
 *     const scope = useNetnsScope();
 *     it('routes', async () => {
 *       const seg = await makeHosts(scope(), 2, { subnet: '10.210.0.0/24', v6Subnet: 'fd21::/64' });
 *       expect(await ping(seg.hosts[0]!.netns, seg.hosts[1]!.ipv4)).to.equal(true);
 *     });
 *   });
 *
 * Pick subnets in 10.200.0.0/13 or fd20::/16 that no other test file uses: namespaces are
 * private, so clashes do no harm, but distinct subnets make captures easier to read.
 */
import {
  addBridgePort,
  addressInSubnet,
  CommandError,
  execInNetns,
  NetnsScope,
  parseCidr,
  setSysctls,
  type NetnsProcess,
  type NetnsScopeOptions,
} from '../../src/kernel/index.js';
import { waitFor } from './wait.js';

/**
 * Makes a NetnsScope in before() and cleans it up in after() (which mocha runs also when
 * a test fails). Call inside describe(); use the returned getter inside hooks and tests.
 */
export function useNetnsScope(options: NetnsScopeOptions = {}): () => NetnsScope {
  let scope: NetnsScope | undefined;
  before(() => {
    scope = new NetnsScope(options);
  });
  after(async function () {
    this.timeout(20_000);
    await scope?.cleanup();
  });
  return () => {
    if (!scope) throw new Error('useNetnsScope: the scope exists only from before() until after()');
    return scope;
  };
}

export interface Host {
  netns: string;
  /** The host's interface on the segment. */
  ifname: string;
  /** "10.0.0.1" (no prefix length). */
  ipv4: string;
  /** "10.0.0.1/24". */
  cidr4: string;
  ipv6?: string;
  cidr6?: string;
}

export interface Segment {
  /** The namespace holding the bridge. */
  netns: string;
  bridge: string;
  hosts: Host[];
}

export interface MakeHostsOptions {
  /** Host i (from 1) gets address number i of this subnet, e.g. "10.99.0.0/24". */
  subnet: string;
  v6Subnet?: string;
  /** Name stem: namespaces "<prefix>-<name>1".. and "<prefix>-<name>seg" (default "h"). */
  name?: string;
  /** Interface name of each host on the segment (default "eth0"). */
  ifname?: string;
  mtu?: number;
  /** Let the hosts route between their interfaces (IPv4 and IPv6 forwarding on). */
  forwarding?: boolean;
}

/** The sysctls that turn a namespace into a router. */
export const FORWARDING_SYSCTLS = { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 } as const;

/**
 * n host namespaces on one underlay segment: a bridge in its own namespace, one veth to
 * each host. Like hosts plugged into one switch.
 */
export async function makeHosts(scope: NetnsScope, n: number, options: MakeHostsOptions): Promise<Segment> {
  const stem = options.name ?? 'h';
  const ifname = options.ifname ?? 'eth0';
  // Check every address before making anything.
  const plan = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const cidr4 = addressInSubnet(options.subnet, i, 'makeHosts subnet');
    const cidr6 = options.v6Subnet === undefined ? undefined : addressInSubnet(options.v6Subnet, i, 'makeHosts v6Subnet');
    return { i, cidr4, cidr6 };
  });
  const segment = await scope.netns(`${stem}seg`);
  const bridge = 'br0';
  await scope.bridge(segment, bridge, { mtu: options.mtu });
  const hosts = await Promise.all(
    plan.map(async ({ i, cidr4, cidr6 }) => {
      const netns = await scope.netns(`${stem}${i}`);
      if (options.forwarding) await setSysctls(netns, FORWARDING_SYSCTLS);
      const port = `${stem}${i}`;
      await scope.veth(
        { netns, name: ifname, addresses: cidr6 === undefined ? [cidr4] : [cidr4, cidr6] },
        { netns: segment, name: port },
        { mtu: options.mtu },
      );
      await addBridgePort(segment, bridge, port);
      const host: Host = { netns, ifname, ipv4: parseCidr(cidr4).address, cidr4 };
      if (cidr6 !== undefined) Object.assign(host, { ipv6: parseCidr(cidr6).address, cidr6 });
      return host;
    }),
  );
  return { netns: segment, bridge, hosts };
}

/** One ICMP echo from inside `fromNs`; true if a reply came back within timeoutMs. */
export async function ping(fromNs: string, toAddr: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
  const waitSeconds = Math.max(0.2, (options.timeoutMs ?? 1000) / 1000).toFixed(1);
  try {
    await execInNetns(fromNs, 'ping', ['-n', '-q', '-c', '1', '-W', waitSeconds, toAddr]);
    return true;
  } catch (err) {
    // ping exits 1 for "no reply" and 2 for "cannot send" (no route): both are a no.
    if (err instanceof CommandError && (err.exitCode === 1 || err.exitCode === 2)) return false;
    throw err;
  }
}

// The probe scripts take their arguments from argv; they print one line and exit 0/1.
const CLIENT_SCRIPT = String.raw`
const [proto, host, port, timeoutMs, message] = process.argv.slice(1);
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timeout'), Number(timeoutMs)).unref();
if (proto === 'tcp') {
  const s = require('node:net').connect({ host, port: Number(port) });
  s.on('error', (e) => fail(e.code || e.message));
  s.on('connect', () => {
    if (message === '') { console.log('CONNECTED'); process.exit(0); }
    let got = '';
    s.on('data', (d) => { got += d; if (got.length >= message.length) { console.log('REPLY ' + got); process.exit(0); } });
    s.write(message);
  });
} else {
  const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.on('error', (e) => fail(e.code || e.message));
  s.on('message', (d) => { console.log('REPLY ' + d); process.exit(0); });
  s.send(message, Number(port), host);
}
`;

const SERVER_SCRIPT = String.raw`
const [proto, host, port] = process.argv.slice(1);
const ready = (p) => console.log('LISTENING ' + p);
if (proto === 'tcp') {
  const srv = require('node:net').createServer((c) => { c.on('error', () => {}); c.pipe(c); });
  srv.listen({ host, port: Number(port), ipv6Only: false }, () => ready(srv.address().port));
} else {
  const s = require('node:dgram').createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
  s.on('message', (d, r) => s.send(d, r.port, r.address));
  s.bind(Number(port), host, () => ready(s.address().port));
}
process.on('SIGTERM', () => process.exit(0));
`;

async function client(fromNs: string, proto: 'tcp' | 'udp', addr: string, port: number, timeoutMs: number, message: string): Promise<string | null> {
  try {
    const out = await execInNetns(fromNs, process.execPath, ['-e', CLIENT_SCRIPT, proto, addr, String(port), String(timeoutMs), message], {
      timeoutMs: timeoutMs + 5000,
    });
    return out.trim();
  } catch (err) {
    if (err instanceof CommandError && err.exitCode === 1) return null;
    throw err;
  }
}

/** Whether a TCP connection from inside `fromNs` to addr:port is accepted within timeoutMs. */
export async function tcpConnect(fromNs: string, addr: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return (await client(fromNs, 'tcp', addr, port, timeoutMs, '')) === 'CONNECTED';
}

/** Sends a random message to an echo server and checks that the same bytes come back. */
export async function echoRoundTrip(
  fromNs: string,
  proto: 'tcp' | 'udp',
  addr: string,
  port: number,
  timeoutMs = 1000,
): Promise<boolean> {
  const message = `tortie-${Math.random().toString(36).slice(2)}`;
  return (await client(fromNs, proto, addr, port, timeoutMs, message)) === `REPLY ${message}`;
}

export interface EchoServer {
  proto: 'tcp' | 'udp';
  port: number;
  process: NetnsProcess;
  stop(): Promise<void>;
}

/**
 * Starts a TCP or UDP echo server inside a namespace of the scope (listening on every
 * address, v4 and v6, by default) and resolves once it listens. Port 0 picks a free port.
 */
export async function startEchoServer(
  scope: NetnsScope,
  netns: string,
  options: { proto: 'tcp' | 'udp'; port?: number; host?: string },
): Promise<EchoServer> {
  const proc = await scope.spawn(netns, process.execPath, [
    '-e',
    SERVER_SCRIPT,
    options.proto,
    options.host ?? '::',
    String(options.port ?? 0),
  ]);
  const port = await waitFor(
    () => {
      if (proc.exit) throw new Error(`echo server exited early: ${proc.output().trim()}`);
      const m = /LISTENING (\d+)/.exec(proc.output());
      return m ? Number(m[1]) : null;
    },
    { what: `${options.proto} echo server in ${netns} to listen`, timeoutMs: 5000, intervalMs: 10 },
  );
  return {
    proto: options.proto,
    port,
    process: proc,
    stop: async () => {
      await proc.stop();
    },
  };
}
