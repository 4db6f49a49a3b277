/**
 * The bridge mode, as docker0: a Linux bridge in the host namespace with its own subnet
 * (an IPPool's CIDR; its first address is the bridge's, the workloads' gateway), one veth
 * per workload from its eth0 into the bridge, and in the host namespace:
 *   nat    tortie-nat-outgoing (from POSTROUTING): MASQUERADE from the bridge subnet to
 *          anything outside it
 *   filter tortie-bridge-fwd (from FORWARD): out of the bridge accepted; into the bridge
 *          only replies (conntrack ESTABLISHED,RELATED); new connections from outside are
 *          dropped, so workloads are not reachable from outside even with a route to them
 * Each bridge's rules carry the comment "tortie bridge NAME"; they are added with the
 * bridge and removed with it, and the chains go when their last rule goes.
 */
import { netnsPath } from '../../kernel/netns.js';
import { WorkloadError } from '../errors.js';
import { shIn } from './sh.js';
import type { Subnet4 } from './subnet.js';

export const DEFAULT_BRIDGE = 'tortie-br0';
export const NAT_CHAIN = 'tortie-nat-outgoing';
export const FORWARD_CHAIN = 'tortie-bridge-fwd';

export function checkBridgeName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new WorkloadError(`--net bridge:${name}: a bridge name is 1-15 letters, digits, '_', '.' or '-'`);
  return name;
}

const RULES = `
c="tortie bridge $br"
ipt() { iptables -w "$@"; }
r_nat() { "$@" nat ${NAT_CHAIN} -s "$sub" ! -d "$sub" -m comment --comment "$c" -j MASQUERADE; }
r_out() { "$@" filter ${FORWARD_CHAIN} -i "$br" -m comment --comment "$c" -j ACCEPT; }
r_rep() { "$@" filter ${FORWARD_CHAIN} -o "$br" -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "$c" -j ACCEPT; }
r_drop() { "$@" filter ${FORWARD_CHAIN} -o "$br" -m comment --comment "$c" -j DROP; }
j_nat() { "$@" nat POSTROUTING -m comment --comment "tortie: NAT outgoing of bridges" -j ${NAT_CHAIN}; }
j_fwd() { "$@" filter FORWARD -m comment --comment "tortie: bridges" -j ${FORWARD_CHAIN}; }
has() { t="$1"; ch="$2"; shift 2; ipt -t "$t" -C "$ch" "$@" 2>/dev/null; }
add() { t="$1"; ch="$2"; shift 2; has "$t" "$ch" "$@" || ipt -t "$t" -A "$ch" "$@"; }
first() { t="$1"; ch="$2"; shift 2; has "$t" "$ch" "$@" || ipt -t "$t" -I "$ch" 1 "$@"; }
del() { t="$1"; ch="$2"; shift 2; while ipt -t "$t" -D "$ch" "$@" 2>/dev/null; do :; done; }
`;

const ENSURE_SCRIPT = `set -e
br="$1"; gw="$2"; sub="$3"
${RULES}
if ! ip link show dev "$br" >/dev/null 2>&1; then ip link add "$br" type bridge; fi
ip link set "$br" up
ip addr replace "$gw" dev "$br"
echo 1 > /proc/sys/net/ipv4/ip_forward
ipt -t nat -N ${NAT_CHAIN} 2>/dev/null || true
ipt -t filter -N ${FORWARD_CHAIN} 2>/dev/null || true
r_nat add; r_out add; r_rep add; r_drop add
j_nat first; j_fwd first
`;

const REMOVE_SCRIPT = `br="$1"; sub="$2"
${RULES}
r_nat del; r_out del; r_rep del; r_drop del
if ! ipt -t nat -S ${NAT_CHAIN} 2>/dev/null | grep -q -- '^-A'; then j_nat del; ipt -t nat -X ${NAT_CHAIN} 2>/dev/null || true; fi
if ! ipt -t filter -S ${FORWARD_CHAIN} 2>/dev/null | grep -q -- '^-A'; then j_fwd del; ipt -t filter -X ${FORWARD_CHAIN} 2>/dev/null || true; fi
if ip link show dev "$br" >/dev/null 2>&1; then ip link del dev "$br"; fi
`;

/** The bridge up with its gateway address, forwarding on, the NAT and forward rules in place (idempotent). */
export async function ensureBridge(hostNetns: string | undefined, bridge: string, subnet: Subnet4): Promise<void> {
  await shIn(hostNetns, ENSURE_SCRIPT, [checkBridgeName(bridge), `${subnet.first}/${subnet.prefixLength}`, subnet.cidr]);
}

/** Removes the bridge's rules (and the chains once empty) and the bridge itself (idempotent). */
export async function removeBridge(hostNetns: string | undefined, bridge: string, subnetCidr: string): Promise<void> {
  await shIn(hostNetns, REMOVE_SCRIPT, [checkBridgeName(bridge), subnetCidr]);
}

const ATTACH_SCRIPT = `set -e
br="$1"; h="$2"; cns="$3"; addr="$4"; gw="$5"; mtu="$6"
if [ -n "$mtu" ]; then m="mtu $mtu"; else m=""; fi
ip link add "$h" $m type veth peer name eth0 $m netns "$cns"
ip link set "$h" master "$br"
ip link set "$h" up
nsenter --net="$cns" sh -c 'set -e; ip link set eth0 up; ip addr add "$1" dev eth0; ip route add default via "$2" dev eth0' sh "$addr" "$gw"
`;

export interface BridgeAttachment {
  bridge: string;
  hostVeth: string;
  /** The workload's named namespace. */
  workloadNetns: string;
  /** "10.0.0.5/24" */
  address: string;
  gateway: string;
  mtu?: number;
}

/** A veth from the workload's eth0 into the bridge, its address and default route via the bridge. */
export async function attachToBridge(hostNetns: string | undefined, a: BridgeAttachment): Promise<void> {
  await shIn(hostNetns, ATTACH_SCRIPT, [a.bridge, a.hostVeth, netnsPath(a.workloadNetns), a.address, a.gateway, a.mtu === undefined ? '' : String(a.mtu)]);
}

/** Deletes the host end of a workload's veth (and so its eth0). True if it was there. */
export async function detachFromBridge(hostNetns: string | undefined, hostVeth: string): Promise<boolean> {
  const out = await shIn(hostNetns, 'if ip link show dev "$1" >/dev/null 2>&1; then ip link del dev "$1"; echo deleted; fi', [hostVeth]);
  return out.trim() === 'deleted';
}
