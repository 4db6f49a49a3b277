/**
 * What every CNI operation shares: the dependencies the host process gives (IPAM, the
 * resource store, the node name, which namespace is the host), and the identity of one
 * container attachment derived from an invocation (handle, endpoint name, host veth name).
 */
import { UnavailableError, UserError } from '../common/errors.js';
import type { ResourceStore } from '../datastore/resources/store.js';
import type { Ipam } from '../ipam/ipam.js';
import { ExhaustedError, PoolRefusedError } from '../ipam/errors.js';
import { CommandError } from '../kernel/exec.js';
import type { Logger } from '../log/logger.js';
import { endpointName, endpointNamespace, handleId, hostVethName, workloadKey } from './names.js';
import { CniError, parseLabelList, type CniRequest } from './spec.js';
import { CNI_ERRORS } from './versions.js';
import type { CniDns } from './spec.js';

/** The steps of ADD, in order; a test hook may fail after any of them. */
export type AddStep = 'ipam' | 'veth' | 'container' | 'endpoint';
export const ADD_STEPS: readonly AddStep[] = ['ipam', 'veth', 'container', 'endpoint'];

export interface CniHooks {
  /** Called after each ADD step; throwing makes ADD fail there (tests of the rollback). */
  afterAddStep?(step: AddStep): void | Promise<void>;
}

export interface CniDeps {
  ipam: Ipam;
  store: ResourceStore;
  nodeName: string;
  /** The MTU of workload interfaces when the network config names none (the node daemon's: underlay - 50 while VXLAN is on). */
  defaultMtu?: () => number | undefined;
  /** The namespace standing for the host (a name or a path); unset: the current namespace. */
  hostNetns?: string;
  log?: Logger;
  hooks?: CniHooks;
  /**
   * The cluster DNS a result names when the network config gives none (the node daemon's
   * server on 169.254.1.1); unset in-process, where no daemon may be serving DNS.
   */
  clusterDns?: (namespace: string) => CniDns;
}

export interface Attachment {
  network: string;
  containerId: string;
  ifName: string;
  netns?: string;
  handle: string;
  orchestrator: 'k8s' | 'cni';
  /** The WorkloadEndpoint's namespace. */
  namespace: string;
  pod?: string;
  workload: string;
  endpoint: string;
  endpointName: string;
  hostVeth: string;
  labels: Record<string, string>;
  profiles: string[];
}

/** The node this invocation is for: the daemon's; a config that names another is an error. */
export function nodeOf(req: CniRequest, deps: Pick<CniDeps, 'nodeName'>): string {
  const wanted = req.config.nodename;
  if (wanted && wanted !== deps.nodeName) {
    throw new CniError(CNI_ERRORS.INVALID_CONFIG, `network configuration: nodename "${wanted}" but this host serves node "${deps.nodeName}"`);
  }
  return deps.nodeName;
}

export function attachmentOf(req: CniRequest, node: string): Attachment {
  const a = req.args;
  const pod = a.K8S_POD_NAME || undefined;
  const rawNamespace = a.K8S_POD_NAMESPACE || a.TORTIE_NAMESPACE || 'default';
  const namespace = endpointNamespace(rawNamespace);
  const orchestrator = pod ? 'k8s' : 'cni';
  const workload = pod ? '' : a.TORTIE_WORKLOAD || req.containerId;
  const endpoint = req.ifName;
  const name = pod ? endpointName(node, 'k8s', pod, endpoint) : endpointName(node, 'cni', workload, endpoint);
  const labels: Record<string, string> = {
    ...req.config.argsLabels,
    ...req.config.runtimeConfig?.labels,
    ...(a.TORTIE_LABELS ? parseLabelList(a.TORTIE_LABELS, 'CNI_ARGS TORTIE_LABELS') : {}),
    'projectcalico.org/namespace': namespace,
    'projectcalico.org/orchestrator': orchestrator,
    'tortie.dev/network': req.config.name,
  };
  return {
    network: req.config.name,
    containerId: req.containerId,
    ifName: req.ifName,
    netns: req.netns,
    handle: handleId(req.config.name, req.containerId),
    orchestrator,
    namespace,
    pod,
    workload,
    endpoint,
    endpointName: name,
    hostVeth: hostVethName(workloadKey({ namespace: rawNamespace, pod, containerId: req.containerId, ifName: req.ifName })),
    labels,
    profiles: pod ? [`kns.${namespace}`] : [req.config.name],
  };
}

/** Any failure as a CniError with the right code; CniErrors pass through. */
export function toCniError(err: unknown, what: string): CniError {
  if (err instanceof CniError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof ExhaustedError || err instanceof PoolRefusedError) return new CniError(CNI_ERRORS.NO_ADDRESS, `${what}: ${msg}`, undefined, { cause: err });
  if (err instanceof UnavailableError) return new CniError(CNI_ERRORS.TRY_AGAIN_LATER, `${what}: ${msg}`, undefined, { cause: err });
  if (err instanceof CommandError) return new CniError(CNI_ERRORS.DATAPLANE, `${what}: ${msg}`, undefined, { cause: err });
  if (err instanceof UserError) return new CniError(CNI_ERRORS.DATASTORE, `${what}: ${msg}`, undefined, { cause: err });
  return new CniError(CNI_ERRORS.INTERNAL, `${what}: ${msg}`, err instanceof Error ? err.stack : undefined, { cause: err });
}
