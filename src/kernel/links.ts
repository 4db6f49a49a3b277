/**
 * Links inside named namespaces: veth pairs, bridges with ports, addresses, MTU, and a
 * read-back of what is there. Every change to one namespace is one `ip -batch` process.
 *
 * Veth pairs are created in their first namespace with the peer placed straight into the
 * second, so no end ever appears in the root namespace, not even for a moment.
 */
import { ipBatch, run } from './exec.js';
import { parseCidr } from './addr.js';
import { checkIfName, checkNetnsName } from './names.js';
import { UserError } from '../common/errors.js';

/** One end of a veth pair. */
export interface VethEnd {
  netns: string;
  /** Interface name, at most 15 characters. */
  name: string;
  /** "10.0.0.1/24", "fd00::1/64" ... (v6 addresses are added with nodad). */
  addresses?: readonly string[];
  /** Bring the end up (default true). */
  up?: boolean;
}

export interface VethOptions {
  mtu?: number;
}

function checkMtu(mtu: number | undefined, where: string): void {
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) {
    throw new UserError(`${where}: MTU ${mtu} is not an integer from 68 to 65535`);
  }
}

/** `ip` lines that add addresses to a device; IPv6 with nodad, so they work at once. */
export function addressLines(dev: string, addresses: readonly string[], where: string): string[] {
  return addresses.map((text) => {
    const cidr = parseCidr(text, where);
    return `addr add ${cidr.address}/${cidr.prefixLength} dev ${dev}${cidr.family === 6 ? ' nodad' : ''}`;
  });
}

/**
 * Lines for one end: MTU, up, then addresses. The order matters for IPv6: an address
 * added while the link is down is brought in later by a deferred kernel job, and a packet
 * sent in that window is dropped (neighbour solicitations are lost for a second). Added
 * to an up link, even a carrier-less one, it works at once.
 */
function endLines(end: VethEnd, mtu: number | undefined): { link: string[]; addresses: string[] } {
  const where = `veth ${end.name} in netns ${end.netns}`;
  return {
    link: [
      ...(mtu === undefined ? [] : [`link set ${end.name} mtu ${mtu}`]),
      ...(end.up === false ? [] : [`link set ${end.name} up`]),
    ],
    addresses: addressLines(end.name, end.addresses ?? [], where),
  };
}

/** Creates a veth pair between two (distinct or equal) namespaces, addressed and up. */
export async function addVethPair(a: VethEnd, b: VethEnd, options: VethOptions = {}): Promise<void> {
  for (const end of [a, b]) {
    checkNetnsName(end.netns, `veth ${end.name}`);
    checkIfName(end.name, `veth end in netns ${end.netns}`);
  }
  if (a.netns === b.netns && a.name === b.name) {
    throw new UserError(`veth ${a.name} in netns ${a.netns}: both ends have the same name`);
  }
  checkMtu(options.mtu, `veth ${a.name}/${b.name}`);
  // Check every address before changing anything, so a typo leaves no half-made pair.
  const aLines = endLines(a, options.mtu);
  const bLines = endLines(b, options.mtu);
  const peerNetns = a.netns === b.netns ? '' : ` netns ${b.netns}`;
  await ipBatch([`link add ${a.name} type veth peer name ${b.name}${peerNetns}`, ...aLines.link], { netns: a.netns });
  await ipBatch([...bLines.link, ...bLines.addresses], { netns: b.netns });
  await ipBatch(aLines.addresses, { netns: a.netns });
}

export interface BridgeOptions {
  /** Existing interfaces in the same namespace to enslave to the bridge. */
  ports?: readonly string[];
  addresses?: readonly string[];
  mtu?: number;
}

/** Creates a Linux bridge inside a namespace, up, with its ports up and attached. */
export async function addBridge(netns: string, name: string, options: BridgeOptions = {}): Promise<void> {
  checkNetnsName(netns, `bridge ${name}`);
  checkIfName(name, `bridge in netns ${netns}`);
  checkMtu(options.mtu, `bridge ${name} in netns ${netns}`);
  const lines = [
    `link add ${name} type bridge`,
    ...(options.mtu === undefined ? [] : [`link set ${name} mtu ${options.mtu}`]),
    `link set ${name} up`, // before the addresses: see endLines
    ...addressLines(name, options.addresses ?? [], `bridge ${name} in netns ${netns}`),
  ];
  for (const port of options.ports ?? []) lines.push(...bridgePortLines(netns, name, port));
  await ipBatch(lines, { netns });
}

function bridgePortLines(netns: string, bridge: string, port: string): string[] {
  checkIfName(port, `port of bridge ${bridge} in netns ${netns}`);
  return [`link set ${port} master ${bridge}`, `link set ${port} up`];
}

/** Attaches an existing interface to a bridge in the same namespace. */
export async function addBridgePort(netns: string, bridge: string, port: string): Promise<void> {
  checkIfName(bridge, `bridge in netns ${netns}`);
  await ipBatch(bridgePortLines(netns, bridge, port), { netns });
}

export async function addAddresses(netns: string, dev: string, addresses: readonly string[]): Promise<void> {
  checkIfName(dev, `interface in netns ${netns}`);
  await ipBatch(addressLines(dev, addresses, `${dev} in netns ${netns}`), { netns });
}

export async function setLinkUp(netns: string, dev: string, up = true): Promise<void> {
  checkIfName(dev, `interface in netns ${netns}`);
  await ipBatch([`link set ${dev} ${up ? 'up' : 'down'}`], { netns });
}

export async function setMtu(netns: string, dev: string, mtu: number): Promise<void> {
  checkIfName(dev, `interface in netns ${netns}`);
  checkMtu(mtu, `${dev} in netns ${netns}`);
  await ipBatch([`link set ${dev} mtu ${mtu}`], { netns });
}

/** A link as `ip -j link show` reports it, reduced to what callers check. */
export interface LinkInfo {
  name: string;
  index: number;
  mtu: number;
  /** Administratively up (the UP flag). */
  up: boolean;
  /** "UP", "DOWN", "UNKNOWN", "LOWERLAYERDOWN" ... */
  operState: string;
  /** "veth", "bridge", "loopback"-like kind, when the kernel reports one. */
  kind?: string;
  /** The bridge this link is a port of. */
  master?: string;
  mac?: string;
}

interface IpJsonLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  operstate?: string;
  master?: string;
  address?: string;
  link_type?: string;
  linkinfo?: { info_kind?: string };
}

/** The links inside a namespace, in index order. */
export async function listLinks(netns: string): Promise<LinkInfo[]> {
  checkNetnsName(netns);
  const out = await run('ip', ['-n', netns, '-j', '-d', 'link', 'show']);
  return (JSON.parse(out || '[]') as IpJsonLink[]).map((l) => ({
    name: l.ifname,
    index: l.ifindex,
    mtu: l.mtu,
    up: (l.flags ?? []).includes('UP'),
    operState: l.operstate ?? 'UNKNOWN',
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : l.link_type === 'loopback' ? { kind: 'loopback' } : {}),
    ...(l.master ? { master: l.master } : {}),
    ...(l.address ? { mac: l.address } : {}),
  }));
}

/** Addresses on one device (or every device) in a namespace, as "ADDR/LEN" strings. */
export async function listAddresses(netns: string, dev?: string): Promise<string[]> {
  checkNetnsName(netns);
  if (dev !== undefined) checkIfName(dev, `interface in netns ${netns}`);
  const out = await run('ip', ['-n', netns, '-j', 'addr', 'show', ...(dev === undefined ? [] : ['dev', dev])]);
  const links = JSON.parse(out || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}
