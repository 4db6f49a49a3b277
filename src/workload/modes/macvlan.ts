/**
 * The macvlan mode: a macvlan child (mode bridge) of the host's interface PARENT, made
 * straight into the workload's namespace and renamed eth0 there, with an address in the
 * parent's subnet (from an IPPool that lies inside that subnet) and a default route.
 *
 * The macvlan rule: the host cannot reach its own macvlan children through PARENT (frames
 * from a macvlan child to the parent's own address never reach the parent's stack, and
 * back), while other hosts on the segment and sibling children (mode bridge) can.
 */
import { netnsPath } from '../../kernel/netns.js';
import { WorkloadError } from '../errors.js';
import { shIn } from './sh.js';
import { subnetOf, type Subnet4 } from './subnet.js';

export function checkParentName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new WorkloadError(`--net macvlan:${name}: an interface name is 1-15 letters, digits, '_', '.' or '-'`);
  return name;
}

export interface ParentInfo {
  subnet: Subnet4;
  /** The host's own address on the parent. */
  address: string;
  /** The host's default gateway through the parent, if it has one. */
  defaultGateway?: string;
}

/** The parent's IPv4 subnet (its first address) and the host's default gateway through it. */
export async function readParent(hostNetns: string | undefined, parent: string): Promise<ParentInfo> {
  checkParentName(parent);
  const out = await shIn(
    hostNetns,
    'if ! ip link show dev "$1" >/dev/null 2>&1; then echo MISSING; exit 0; fi; ip -j -4 addr show dev "$1"; echo; ip -j -4 route show default dev "$1"',
    [parent],
  );
  const where = hostNetns === undefined ? 'the host namespace' : `host netns ${hostNetns}`;
  if (out.trim() === 'MISSING') throw new WorkloadError(`--net macvlan:${parent}: no interface ${parent} in ${where}`);
  const [addrText, routeText] = out.split('\n').filter((l) => l.trim() !== '');
  const link = (JSON.parse(addrText ?? '[]') as { addr_info?: { local: string; prefixlen: number; scope?: string }[] }[])[0];
  const a = (link?.addr_info ?? []).find((x) => x.scope !== 'link');
  if (!a) throw new WorkloadError(`--net macvlan:${parent}: ${parent} in ${where} has no IPv4 address, so its subnet is unknown`);
  const gw = (JSON.parse(routeText ?? '[]') as { gateway?: string }[]).find((r) => r.gateway)?.gateway;
  return { subnet: subnetOf(`${a.local}/${a.prefixlen}`, `${parent} in ${where}`), address: a.local, ...(gw ? { defaultGateway: gw } : {}) };
}

const ATTACH_SCRIPT = `set -e
p="$1"; t="$2"; cns="$3"; addr="$4"; gw="$5"; mtu="$6"
if [ -n "$mtu" ]; then m="mtu $mtu"; else m=""; fi
ip link add "$t" link "$p" $m netns "$cns" type macvlan mode bridge
nsenter --net="$cns" sh -c 'set -e; ip link set "$1" name eth0; ip link set eth0 up; ip addr add "$2" dev eth0; if [ -n "$3" ]; then ip route add default via "$3" dev eth0; fi' sh "$t" "$addr" "$gw"
`;

export interface MacvlanAttachment {
  parent: string;
  /** A name for the child while it is in the host namespace (renamed eth0 in the workload's). */
  tempName: string;
  workloadNetns: string;
  /** "10.0.0.5/24" */
  address: string;
  gateway?: string;
  mtu?: number;
}

export async function attachMacvlan(hostNetns: string | undefined, a: MacvlanAttachment): Promise<void> {
  await shIn(hostNetns, ATTACH_SCRIPT, [a.parent, a.tempName, netnsPath(a.workloadNetns), a.address, a.gateway ?? '', a.mtu === undefined ? '' : String(a.mtu)]);
}

/** Deletes the workload's eth0 if it is a macvlan (idempotent). */
export async function detachMacvlan(workloadNetns: string): Promise<void> {
  await shIn(workloadNetns, 'if ip -d link show dev eth0 2>/dev/null | grep -q macvlan; then ip link del dev eth0; fi');
}
