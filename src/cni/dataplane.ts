/**
 * The kernel side of a container's wiring: a veth pair between the host and the container's
 * namespace, the container's /32 (/128) addresses and default route, the host route, and a
 * read-back of all of it for CHECK.
 *
 * Namespaces are given as paths (CNI_NETNS is one; a named namespace is /run/netns/NAME);
 * "undefined" is the caller's own namespace (the host, in production). Each step is one
 * `sh` under `nsenter --net=PATH`, which runs iproute2 (mostly one `ip -batch`): a process
 * start costs more than anything else here, so there are as few as possible.
 * Every value reaches the shell as a positional argument or as a checked address; nothing
 * from the invocation is pasted into the script text.
 */
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { CommandError, oneLine, run } from '../kernel/exec.js';
import { NETNS_DIR } from '../kernel/netns.js';
import { GATEWAY_V4, GATEWAY_V6, HOST_VETH_MAC, WORKLOAD_ROUTE_PROTOCOL } from './names.js';

/** A named namespace or a path to one; undefined stays undefined (the current namespace). */
export function netnsPathOf(netns: string | undefined): string | undefined {
  if (netns === undefined || netns === '') return undefined;
  return netns.startsWith('/') ? netns : `${NETNS_DIR}/${netns}`;
}

/**
 * Runs a script in a namespace. A failure is a CommandError whose one-line message names
 * the namespace and what the tools printed (not the script text).
 */
async function shIn(nsPath: string | undefined, script: string, args: readonly string[], input?: string): Promise<string> {
  const argv = ['-c', script, 'sh', ...args];
  try {
    if (nsPath === undefined) return await run('sh', argv, { input, timeoutMs: 20_000 });
    return await run('nsenter', [`--net=${nsPath}`, 'sh', ...argv], { input, timeoutMs: 20_000 });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const where = nsPath === undefined ? 'host namespace' : `netns ${nsPath}`;
    const said = oneLine(err.stderr).replace(/Command failed -:\d+/g, '').replace(/;\s*$/, '').trim();
    throw new CommandError(`${where}: ${said || err.message}`, err.command, err.exitCode, err.stderr);
  }
}

function checkIp(ip: string): 4 | 6 {
  if (isIPv4(ip)) return 4;
  if (isIPv6(ip)) return 6;
  throw new Error(`dataplane: "${ip}" is not an IP address`);
}

function checkNsPath(path: string): void {
  if (!/^\/[A-Za-z0-9_.:/@+-]+$/.test(path)) throw new Error(`dataplane: netns path "${path}" has characters that are not allowed`);
}

export interface VethSpec {
  /** MAC of the container end (default: the kernel's random one). */
  containerMac?: string;
  /** Host namespace (undefined: the current one). */
  hostNs?: string;
  hostVeth: string;
  /** Container namespace path (CNI_NETNS). */
  containerNs: string;
  containerIf: string;
  mtu?: number;
  /** The container's addresses, bare ("10.65.0.5", "fd00::5"). */
  ips: string[];
}

const HOST_SCRIPT = `set -e
h="$1"; c="$2"; cns="$3"; mtu="$4"; v6="$5"; cmac="$6"; cbatch="$7"
if [ -n "$mtu" ]; then m="mtu $mtu"; else m=""; fi
if [ -n "$cmac" ]; then ca="address $cmac"; else ca=""; fi
ip link add "$h" $m address ${HOST_VETH_MAC} type veth peer name "$c" $m $ca netns "$cns"
echo 1 > "/proc/sys/net/ipv4/conf/$h/proxy_arp"
echo 0 > "/proc/sys/net/ipv4/neigh/$h/proxy_delay"
echo 1 > "/proc/sys/net/ipv4/conf/$h/forwarding"
if [ "$v6" = 1 ]; then
  echo 0 > "/proc/sys/net/ipv6/conf/$h/accept_dad"
  echo 1 > "/proc/sys/net/ipv6/conf/$h/forwarding"
fi
ip -batch -
if [ -n "$cbatch" ]; then printf '%s\n' "$cbatch" | nsenter --net="$cns" ip -batch -; fi
`;

function hostRouteLine(ip: string, dev: string): string {
  return checkIp(ip) === 4
    ? `route replace ${ip}/32 dev ${dev} scope link proto ${WORKLOAD_ROUTE_PROTOCOL}`
    : `route replace ${ip}/128 dev ${dev} proto ${WORKLOAD_ROUTE_PROTOCOL}`;
}

/**
 * Makes the veth pair (the container end straight in the container's namespace), the host
 * end's MAC, proxy ARP and forwarding, brings it up and adds the host routes. On failure the
 * host end may exist: the caller deletes it (deleteHostVeth) to undo.
 */
export async function createVeth(spec: VethSpec): Promise<void> {
  await hostScript(spec, []);
}

/**
 * createVeth and configureContainer in one process start (the ADD fast path): the container
 * end must have a MAC given (containerMac), since nothing is read back.
 */
export async function wireContainer(spec: VethSpec & { containerMac: string }): Promise<void> {
  await hostScript(spec, containerLines(spec.containerIf, spec.ips));
}

async function hostScript(spec: VethSpec, containerBatch: string[]): Promise<void> {
  checkNsPath(spec.containerNs);
  if (spec.containerMac !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(spec.containerMac)) throw new Error(`dataplane: "${spec.containerMac}" is not a MAC`);
  const v6 = spec.ips.some((ip) => checkIp(ip) === 6);
  const lines = [`link set ${spec.hostVeth} up`, ...spec.ips.map((ip) => hostRouteLine(ip, spec.hostVeth))];
  await shIn(
    netnsPathOf(spec.hostNs),
    HOST_SCRIPT,
    [spec.hostVeth, spec.containerIf, spec.containerNs, spec.mtu === undefined ? '' : String(spec.mtu), v6 ? '1' : '0', spec.containerMac ?? '', containerBatch.join('\n')],
    lines.join('\n') + '\n',
  );
}

/** Adds the host routes again (idempotent: `route replace`). */
export async function addHostRoutes(hostNs: string | undefined, hostVeth: string, ips: readonly string[]): Promise<void> {
  await shIn(netnsPathOf(hostNs), 'ip -batch -', [], ips.map((ip) => hostRouteLine(ip, hostVeth)).join('\n') + '\n');
}

/**
 * Inside the container: the interface up, its addresses as /32 and /128, a default route
 * via the gateway on link (with a permanent neighbour entry for the v4 gateway, so that the
 * first packet does not wait for ARP). Returns the container interface's MAC.
 */
export async function configureContainer(containerNs: string, ifName: string, ips: readonly string[]): Promise<{ mac: string }> {
  checkNsPath(containerNs);
  const lines = containerLines(ifName, ips);
  const out = await shIn(containerNs, 'set -e; ip -batch -; ip -j link show dev "$1"', [ifName], lines.join('\n') + '\n');
  const link = (JSON.parse(out || '[]') as { address?: string }[])[0];
  return { mac: link?.address ?? '' };
}

function containerLines(ifName: string, ips: readonly string[]): string[] {
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(ifName)) throw new Error(`dataplane: "${ifName}" is not an interface name we handle`);
  const lines = [`link set ${ifName} up`];
  let v4 = false;
  let v6 = false;
  for (const ip of ips) {
    if (checkIp(ip) === 4) {
      lines.push(`addr add ${ip}/32 dev ${ifName}`);
      v4 = true;
    } else {
      lines.push(`addr add ${ip}/128 dev ${ifName} nodad`);
      v6 = true;
    }
  }
  if (v4) {
    lines.push(`neigh replace ${GATEWAY_V4} lladdr ${HOST_VETH_MAC} dev ${ifName} nud permanent`);
    lines.push(`route add default via ${GATEWAY_V4} dev ${ifName} onlink`);
  }
  if (v6) lines.push(`route add ::/0 via ${GATEWAY_V6} dev ${ifName}`);
  return lines;
}

/** Deletes the host end (which takes the container end along). True if it was there. */
export async function deleteHostVeth(hostNs: string | undefined, hostVeth: string): Promise<boolean> {
  const out = await shIn(
    netnsPathOf(hostNs),
    'if ip link show dev "$1" >/dev/null 2>&1; then ip link del dev "$1"; echo deleted; fi',
    [hostVeth],
  );
  return out.trim() === 'deleted';
}

/** Deletes a veth named ifName inside the container namespace, if both exist. True if deleted. */
export async function deleteContainerVeth(containerNs: string, ifName: string): Promise<boolean> {
  checkNsPath(containerNs);
  if (!existsSync(containerNs)) return false;
  try {
    const out = await shIn(
      containerNs,
      'if ip -d link show dev "$1" 2>/dev/null | grep -q "veth"; then ip link del dev "$1"; echo deleted; fi',
      [ifName],
    );
    return out.trim() === 'deleted';
  } catch (err) {
    // A namespace file that is no longer a namespace (the container is gone): nothing to do.
    if (err instanceof CommandError && /nsenter/.test(err.message) && !existsSync(containerNs)) return false;
    throw err;
  }
}

export interface LinkState {
  exists: boolean;
  up?: boolean;
  mac?: string;
  mtu?: number;
  kind?: string;
  addresses: string[];
  /** Routes on this device: destination ("default" or CIDR), gateway, protocol. */
  routes: { dst: string; gateway?: string; protocol?: string; scope?: string }[];
  proxyArp?: string;
}

const READ_SCRIPT = `d="$1"
if ! ip link show dev "$d" >/dev/null 2>&1; then echo MISSING; exit 0; fi
ip -j -d addr show dev "$d"; echo
ip -j route show dev "$d"; echo
ip -j -6 route show dev "$d"; echo
cat "/proc/sys/net/ipv4/conf/$d/proxy_arp" 2>/dev/null || echo "?"
`;

interface IpAddrJson {
  address?: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
  addr_info?: { local: string; prefixlen: number; scope?: string }[];
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
}

/** What is on one interface of a namespace: link, addresses, routes through it. */
export async function readLink(nsPath: string | undefined, dev: string): Promise<LinkState> {
  const out = await shIn(nsPath, READ_SCRIPT, [dev]);
  if (out.trim() === 'MISSING') return { exists: false, addresses: [], routes: [] };
  const [addrText, r4, r6, proxyArp] = out.split('\n').filter((l) => l.trim() !== '');
  const link = (JSON.parse(addrText ?? '[]') as IpAddrJson[])[0] ?? {};
  const routes = [...(JSON.parse(r4 ?? '[]') as IpRouteJson[]), ...(JSON.parse(r6 ?? '[]') as IpRouteJson[])];
  return {
    exists: true,
    up: (link.flags ?? []).includes('UP'),
    mac: link.address,
    mtu: link.mtu,
    kind: link.linkinfo?.info_kind,
    addresses: (link.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`),
    routes: routes.map((r) => ({ dst: r.dst, gateway: r.gateway, protocol: r.protocol === undefined ? undefined : String(r.protocol), scope: r.scope })),
    proxyArp: proxyArp?.trim(),
  };
}
