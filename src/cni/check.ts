/**
 * CNI CHECK: reads back everything ADD made and names each thing that is not as ADD left
 * it: the WorkloadEndpoint, the IPAM allocation, the container's interface, addresses and
 * default route, the host veth and the host routes. (Calico's CHECK only prints OK.)
 */
import { existsSync } from 'node:fs';
import { decodeBlock, holderOf, ordinalOf } from '../ipam/block.js';
import { decodeHandle } from '../ipam/handle.js';
import { blockKey, handleKey } from '../ipam/keys.js';
import { attachmentOf, nodeOf, toCniError, type Attachment, type CniDeps } from './context.js';
import { netnsPathOf, readLink } from './dataplane.js';
import { GATEWAY_V4, GATEWAY_V6, HOST_VETH_MAC } from './names.js';
import { CniError, splitAddress, type CniRequest } from './spec.js';
import { CNI_ERRORS } from './versions.js';

export async function cniCheck(req: CniRequest, deps: CniDeps): Promise<void> {
  const node = nodeOf(req, deps);
  const at = attachmentOf(req, node);
  let problems: string[];
  try {
    problems = await findProblems(req, deps, node, at);
  } catch (err) {
    throw toCniError(err, `CHECK ${at.containerId}`);
  }
  if (problems.length > 0) {
    throw new CniError(CNI_ERRORS.CHECK_MISMATCH, `CHECK ${at.containerId}: ${problems.join('; ')}`);
  }
}

async function findProblems(req: CniRequest, deps: CniDeps, node: string, at: Attachment): Promise<string[]> {
  const problems: string[] = [];
  const wepName = `WorkloadEndpoint ${at.namespace}/${at.endpointName}`;
  const wep = await deps.store.get('WorkloadEndpoint', at.endpointName, { namespace: at.namespace });
  if (!wep) return [`${wepName} does not exist`];
  if (wep.spec.containerID !== at.containerId) return [`${wepName} belongs to container ${wep.spec.containerID}, not ${at.containerId}`];
  if (wep.spec.node !== node) problems.push(`${wepName} is on node ${wep.spec.node}, not ${node}`);
  if (wep.spec.interfaceName !== at.hostVeth) problems.push(`${wepName} names interface ${wep.spec.interfaceName}, expected ${at.hostVeth}`);
  const ips = (wep.spec.ipNetworks ?? []).map((n) => splitAddress(n)).filter((x) => x !== null);
  if (ips.length === 0) problems.push(`${wepName} has no addresses`);

  // The runtime's record of ADD's result, if it passed one, must match.
  const prevIps = (req.config.prevResult?.ips ?? []).map((i) => splitAddress(i.address)?.ip).filter((x): x is string => !!x);
  for (const p of prevIps) if (!ips.some((i) => i.ip === p)) problems.push(`prevResult has ${p}, which ${wepName} does not`);

  // IPAM: every address is held by this container's handle.
  const handle = await deps.store.kv.get(handleKey(at.handle));
  if (!handle) problems.push(`IPAM handle ${at.handle} does not exist`);
  else {
    const h = decodeHandle(handle.value, handle.key);
    for (const { ip } of ips) {
      let held = false;
      for (const cidr of Object.keys(h.blocks)) {
        const pair = await deps.store.kv.get(blockKey(cidr));
        if (!pair) continue;
        const block = decodeBlock(pair.value, pair.key);
        const ordinal = ordinalOf(block, ip);
        if (ordinal === null) continue;
        held = holderOf(block, ordinal)?.handle === at.handle;
        break;
      }
      if (!held) problems.push(`IPAM: ${ip} is not allocated to handle ${at.handle}`);
    }
  }

  // Inside the container.
  if (!at.netns || !existsSync(at.netns)) problems.push(`container namespace ${at.netns ?? '(none)'} does not exist`);
  else {
    const c = await readLink(at.netns, at.ifName);
    if (!c.exists) problems.push(`container interface ${at.ifName} does not exist in ${at.netns}`);
    else {
      if (!c.up) problems.push(`container interface ${at.ifName} is down`);
      if (wep.spec.mac && c.mac !== wep.spec.mac) problems.push(`container interface ${at.ifName} has MAC ${c.mac}, ${wepName} says ${wep.spec.mac}`);
      if (req.config.mtu && c.mtu !== req.config.mtu) problems.push(`container interface ${at.ifName} has MTU ${c.mtu}, the network wants ${req.config.mtu}`);
      for (const { ip, family } of ips) {
        const want = `${ip}/${family === 4 ? 32 : 128}`;
        if (!c.addresses.includes(want)) problems.push(`container interface ${at.ifName} lacks address ${want} (has ${c.addresses.join(', ') || 'none'})`);
      }
      for (const family of new Set(ips.map((i) => i.family))) {
        const gw = family === 4 ? GATEWAY_V4 : GATEWAY_V6;
        const route = c.routes.find((r) => r.dst === 'default' && (family === 4) === !(r.gateway ?? '').includes(':'));
        if (!route) problems.push(`container has no IPv${family} default route via ${gw} dev ${at.ifName}`);
        else if (route.gateway !== gw) problems.push(`container's IPv${family} default route goes via ${route.gateway}, not ${gw}`);
      }
    }
  }

  // On the host.
  const h = await readLink(netnsPathOf(deps.hostNetns), at.hostVeth);
  if (!h.exists) problems.push(`host veth ${at.hostVeth} does not exist`);
  else {
    if (!h.up) problems.push(`host veth ${at.hostVeth} is down`);
    if (h.mac !== HOST_VETH_MAC) problems.push(`host veth ${at.hostVeth} has MAC ${h.mac}, not ${HOST_VETH_MAC}`);
    if (h.kind !== 'veth') problems.push(`host interface ${at.hostVeth} is a ${h.kind ?? 'non-veth'}, not a veth`);
    if (ips.some((i) => i.family === 4) && h.proxyArp !== '1') problems.push(`host veth ${at.hostVeth} has proxy_arp ${h.proxyArp}, not 1`);
    for (const { ip, family } of ips) {
      const dst = family === 4 ? ip : ip;
      if (!h.routes.some((r) => r.dst === dst || r.dst === `${ip}/${family === 4 ? 32 : 128}`)) problems.push(`host has no route to ${ip} via ${at.hostVeth}`);
    }
  }
  return problems;
}
