/**
 * CNI ADD: an address from IPAM, a veth pair, the container's /32 (/128) and default route,
 * the host route, and a WorkloadEndpoint. Each step registers its undo before it starts, so
 * a failure anywhere (also half-way through a step) leaves nothing behind: the undos run in
 * reverse order and the address goes back to IPAM.
 */
import { existsSync } from 'node:fs';
import type { AssignedIp } from '../ipam/ipam.js';
import { API_VERSION, type WorkloadEndpoint } from '../datastore/resources/types.js';
import { deleteHostVeth, wireContainer } from './dataplane.js';
import { attachmentOf, nodeOf, toCniError, type AddStep, type Attachment, type CniDeps } from './context.js';
import { containerMac, GATEWAY_V4, GATEWAY_V6, HOST_VETH_MAC } from './names.js';
import { CniError, formatResult, type CniResult, type CniRequest } from './spec.js';
import { CNI_ERRORS } from './versions.js';
import type { CniDns } from './spec.js';

export async function cniAdd(req: CniRequest, deps: CniDeps): Promise<CniResult> {
  const defaultMtu = req.config.mtu === undefined ? deps.defaultMtu?.() : undefined;
  if (defaultMtu !== undefined) req = { ...req, config: { ...req.config, mtu: defaultMtu } };
  const node = nodeOf(req, deps);
  const at = attachmentOf(req, node);
  const netns = req.netns!;
  if (!existsSync(netns)) throw new CniError(CNI_ERRORS.INVALID_ENV, `CNI_NETNS "${netns}" does not exist`);
  const log = deps.log?.child({ containerId: at.containerId, ifName: at.ifName, endpoint: at.endpointName });
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  const step = async (name: AddStep) => {
    await deps.hooks?.afterAddStep?.(name);
  };
  let current = 'ipam';
  try {
    const existing = await deps.store.get('WorkloadEndpoint', at.endpointName, { namespace: at.namespace });
    if (existing && existing.spec.containerID === at.containerId) {
      throw new CniError(CNI_ERRORS.INVALID_CONFIG, `container ${at.containerId} already has ${at.ifName} on network ${at.network} (WorkloadEndpoint ${at.namespace}/${at.endpointName}); DEL it first`);
    }

    current = 'IPAM assign';
    undo.push({ what: `release IPAM handle ${at.handle}`, run: () => deps.ipam.releaseByHandle(at.handle) });
    const assigned = await assignAddresses(req, deps, node, at);
    const ips = assigned.map((a) => a.ip);
    await step('ipam');

    // The kernel work (one process start) and the endpoint write go on at the same time;
    // both undos are registered first, and run only after both have settled.
    current = `veth ${at.hostVeth} and ${at.ifName} in ${netns}`;
    let ours = true;
    const mac = containerMac(at.containerId, at.ifName);
    undo.push({ what: `delete host veth ${at.hostVeth}`, run: async () => (ours ? deleteHostVeth(deps.hostNetns, at.hostVeth) : false) });
    undo.push({ what: `delete WorkloadEndpoint ${at.endpointName}`, run: () => deleteEndpointOf(deps, at) });
    const kernel = (async () => {
      try {
        await wireContainer({ hostNs: deps.hostNetns, hostVeth: at.hostVeth, containerNs: netns, containerIf: at.ifName, containerMac: mac, mtu: req.config.mtu, ips });
      } catch (err) {
        if (/File exists/.test(String((err as Error).message))) {
          // Someone's interface: ours to report, not to delete.
          ours = false;
          throw new CniError(CNI_ERRORS.DATAPLANE, `host interface ${at.hostVeth} or ${at.ifName} in ${netns} exists already (a leftover of an earlier container? run DEL for it)`, undefined, { cause: err });
        }
        throw err;
      }
      await step('veth');
      await step('container');
    })();
    const endpoint = deps.store.apply(endpointDoc(at, node, ips, mac)).catch((err: unknown) => {
      throw toCniError(err, `ADD ${at.containerId}: WorkloadEndpoint ${at.namespace}/${at.endpointName}`);
    });
    const [k, e] = await Promise.allSettled([kernel, endpoint]);
    if (k.status === 'rejected') throw k.reason;
    if (e.status === 'rejected') throw e.reason;
    current = `WorkloadEndpoint ${at.namespace}/${at.endpointName}`;
    await step('endpoint');

    log?.info({ ips, hostVeth: at.hostVeth }, 'container added');
    return buildResult(req, at, ips, mac, deps.clusterDns?.(at.namespace));
  } catch (err) {
    const failure = toCniError(err, `ADD ${at.containerId}: ${current}`);
    for (const u of undo.reverse()) {
      try {
        await u.run();
      } catch (undoErr) {
        log?.warn({ err: undoErr }, `rollback: could not ${u.what}`);
      }
    }
    throw failure;
  }
}

async function assignAddresses(req: CniRequest, deps: CniDeps, node: string, at: Attachment): Promise<AssignedIp[]> {
  const attrs = { purpose: 'workload', node, workload: at.endpointName, namespace: at.namespace, containerID: at.containerId };
  const out: AssignedIp[] = [];
  const one = async (family: 4 | 6, pools: string[]) => {
    if (pools.length === 0) {
      out.push(...(await deps.ipam.assign({ node, handle: at.handle, family, attrs })).ips);
      return;
    }
    let last: unknown;
    for (const pool of pools) {
      try {
        out.push(...(await deps.ipam.assign({ node, handle: at.handle, family, attrs, pool })).ips);
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  if (req.config.ipam.assignIpv4) await one(4, req.config.ipam.ipv4Pools);
  if (req.config.ipam.assignIpv6) await one(6, req.config.ipam.ipv6Pools);
  return out;
}

export function endpointDoc(at: Attachment, node: string, ips: readonly string[], mac: string): WorkloadEndpoint {
  const v4 = ips.some((ip) => !ip.includes(':'));
  const v6 = ips.some((ip) => ip.includes(':'));
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name: at.endpointName, namespace: at.namespace, labels: at.labels },
    spec: {
      orchestrator: at.orchestrator,
      workload: at.workload || undefined,
      node,
      containerID: at.containerId,
      pod: at.pod,
      endpoint: at.endpoint,
      ipNetworks: ips.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
      ...(v4 ? { ipv4Gateway: GATEWAY_V4 } : {}),
      ...(v6 ? { ipv6Gateway: GATEWAY_V6 } : {}),
      profiles: at.profiles,
      interfaceName: at.hostVeth,
      ...(mac ? { mac } : {}),
    },
  };
}

/** Deletes the attachment's WorkloadEndpoint if it is this container's. True if deleted. */
export async function deleteEndpointOf(deps: CniDeps, at: Attachment): Promise<boolean> {
  const wep = await deps.store.get('WorkloadEndpoint', at.endpointName, { namespace: at.namespace });
  if (!wep || wep.spec.containerID !== at.containerId) return false;
  await deps.store.delete(
    { kind: 'WorkloadEndpoint', name: at.endpointName, namespace: at.namespace, resourceVersion: wep.metadata.resourceVersion },
    { skipNotExists: true },
  );
  return true;
}

function buildResult(req: CniRequest, at: Attachment, ips: readonly string[], mac: string, clusterDns: CniDns | undefined): CniResult {
  const prev = req.config.prevResult;
  const interfaces = [...(prev?.interfaces ?? [])];
  interfaces.push({ name: at.hostVeth, mac: HOST_VETH_MAC, ...(req.config.mtu ? { mtu: req.config.mtu } : {}) });
  const containerIndex = interfaces.push({ name: at.ifName, mac, ...(req.config.mtu ? { mtu: req.config.mtu } : {}), sandbox: at.netns }) - 1;
  const ourIps = ips.map((ip) =>
    ip.includes(':')
      ? { address: `${ip}/128`, gateway: GATEWAY_V6, interface: containerIndex }
      : { address: `${ip}/32`, gateway: GATEWAY_V4, interface: containerIndex },
  );
  const routes = [
    ...(prev?.routes ?? []),
    ...(ips.some((ip) => !ip.includes(':')) ? [{ dst: '0.0.0.0/0', gw: GATEWAY_V4 }] : []),
    ...(ips.some((ip) => ip.includes(':')) ? [{ dst: '::/0', gw: GATEWAY_V6 }] : []),
  ];
  return formatResult(
    { interfaces, ips: [...(prev?.ips ?? []), ...ourIps], routes, dns: req.config.dns ?? prev?.dns ?? clusterDns ?? {} },
    req.cniVersion,
  );
}
