/** IPv4 subnet arithmetic for the bridge and macvlan modes (pure). */
import { formatIp, parseIp } from '../../common/ip.js';
import { parseCidr } from '../../kernel/addr.js';
import { WorkloadError } from '../errors.js';

export interface Subnet4 {
  /** "10.0.0.0/24" */
  cidr: string;
  prefixLength: number;
  network: string;
  broadcast: string;
  /** The first host address: the bridge's gateway address. */
  first: string;
}

/** The IPv4 subnet that `text` ("10.0.0.7/24" or "10.0.0.0/24") lies in; `where` names it in errors. */
export function subnetOf(text: string, where: string): Subnet4 {
  const c = parseCidr(text, where);
  if (c.family !== 4) throw new WorkloadError(`${where}: "${text}" is not IPv4 (bridge and macvlan modes are IPv4 only)`);
  if (c.prefixLength > 30) throw new WorkloadError(`${where}: "${text}" is too small a subnet (at most /30)`);
  const size = 1n << BigInt(32 - c.prefixLength);
  const base = parseIp(c.address)!.value & ~(size - 1n);
  const network = formatIp(4, base);
  return {
    cidr: `${network}/${c.prefixLength}`,
    prefixLength: c.prefixLength,
    network,
    broadcast: formatIp(4, base + size - 1n),
    first: formatIp(4, base + 1n),
  };
}

export function inSubnet(ip: string, subnet: Subnet4): boolean {
  const p = parseIp(ip);
  if (!p || p.family !== 4) return false;
  const size = 1n << BigInt(32 - subnet.prefixLength);
  return (p.value & ~(size - 1n)) === parseIp(subnet.network)!.value;
}
