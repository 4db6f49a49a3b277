/**
 * CNI DEL: undoes ADD, and succeeds whatever is already gone (the namespace, the interface,
 * the endpoint, the addresses), so that a runtime may call it any number of times.
 *
 * A WorkloadEndpoint of the same name that belongs to another container (a pod sandbox
 * that replaced this one) is left alone, and so is its host veth, which has the same name:
 * only this container's addresses are released then.
 */
import { existsSync } from 'node:fs';
import { attachmentOf, nodeOf, toCniError, type CniDeps } from './context.js';
import { deleteContainerVeth, deleteHostVeth } from './dataplane.js';
import { deleteEndpointOf } from './add.js';
import type { CniRequest } from './spec.js';

export interface DelSummary {
  hostVethDeleted: boolean;
  endpointDeleted: boolean;
  released: string[];
  /** The endpoint of that name belongs to another container: its veth and endpoint were kept. */
  keptForOtherContainer?: string;
}

export async function cniDel(req: CniRequest, deps: CniDeps): Promise<DelSummary> {
  const node = nodeOf(req, deps);
  const at = attachmentOf(req, node);
  let current = 'read WorkloadEndpoint';
  const summary: DelSummary = { hostVethDeleted: false, endpointDeleted: false, released: [] };
  try {
    const wep = await deps.store.get('WorkloadEndpoint', at.endpointName, { namespace: at.namespace });
    const other = wep && wep.spec.containerID && wep.spec.containerID !== at.containerId ? wep.spec.containerID : undefined;
    if (other) {
      summary.keptForOtherContainer = other;
    } else {
      current = `delete host veth ${at.hostVeth}`;
      summary.hostVethDeleted = await deleteHostVeth(deps.hostNetns, at.hostVeth);
      // Deleting the host end took the container end along; without one, look inside.
      if (!summary.hostVethDeleted && at.netns && existsSync(at.netns)) {
        current = `delete ${at.ifName} in ${at.netns}`;
        await deleteContainerVeth(at.netns, at.ifName);
      }
      current = `delete WorkloadEndpoint ${at.namespace}/${at.endpointName}`;
      summary.endpointDeleted = await deleteEndpointOf(deps, at);
    }
    current = `release IPAM handle ${at.handle}`;
    summary.released = await deps.ipam.releaseByHandle(at.handle);
    deps.log?.info({ containerId: at.containerId, ...summary }, 'container deleted');
    return summary;
  } catch (err) {
    throw toCniError(err, `DEL ${at.containerId}: ${current}`);
  }
}
