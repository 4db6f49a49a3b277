/**
 * One CNI invocation from environment and stdin to stdout and exit status, and the control
 * route that lets the node daemon serve invocations for the plugin executable:
 *
 *   const server = await serveControl(socket, { ...otherRoutes, ...cniControlRoutes(deps) });
 *
 * The executable POSTs {env, stdin} to /cni and prints {stdout}, exiting with {exitCode}.
 */
import type { ControlRoutes } from '../common/control-socket.js';
import { UserError } from '../common/errors.js';
import { decodeHandle } from '../ipam/handle.js';
import { HANDLES_PREFIX } from '../ipam/keys.js';
import { cniAdd } from './add.js';
import { cniCheck } from './check.js';
import { attachmentOf, nodeOf, toCniError, type CniDeps } from './context.js';
import { cniDel } from './del.js';
import { CniError, errorJson, parseInvocation, versionResult, type CniEnv, type CniRequest } from './spec.js';
import { CNI_ERRORS, type CniOutcome } from './versions.js';

/** The body of POST /cni. */
export interface CniCall {
  env: CniEnv;
  stdin: string;
}

/** The CNI_* variables of an environment (what the executable forwards to the daemon). */
export function cniEnvOf(env: NodeJS.ProcessEnv): CniEnv {
  const out: CniEnv = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('CNI_') && v !== undefined) out[k] = v;
  return out;
}

export async function handleCni(env: CniEnv, stdin: string, deps: CniDeps): Promise<CniOutcome> {
  let req: CniRequest | undefined;
  try {
    req = parseInvocation(env, stdin);
    switch (req.command) {
      case 'VERSION':
        return { exitCode: 0, stdout: versionResult(req.cniVersion) };
      case 'ADD':
        return { exitCode: 0, stdout: JSON.stringify(await cniAdd(req, deps)) };
      case 'DEL':
        await cniDel(req, deps);
        return { exitCode: 0, stdout: '' };
      case 'CHECK':
        await cniCheck(req, deps);
        return { exitCode: 0, stdout: '' };
      case 'STATUS':
        await cniStatus(deps);
        return { exitCode: 0, stdout: '' };
      case 'GC':
        await cniGc(req, deps);
        return { exitCode: 0, stdout: '' };
    }
  } catch (err) {
    if (!(err instanceof CniError)) deps.log?.error({ err }, 'CNI invocation failed unexpectedly');
    return { exitCode: 1, stdout: JSON.stringify(errorJson(err, req?.cniVersion ?? versionOf(stdin))) };
  }
}

/** The cniVersion of a config we could not parse, to answer in the caller's version. */
function versionOf(stdin: string): string | undefined {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** STATUS: ready when the datastore answers and holds at least one enabled pool. */
export async function cniStatus(deps: Pick<CniDeps, 'store'>): Promise<void> {
  let pools;
  try {
    pools = (await deps.store.list('IPPool')).items;
  } catch (err) {
    throw new CniError(CNI_ERRORS.NOT_AVAILABLE, `datastore does not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!pools.some((p) => !p.spec.disabled)) throw new CniError(CNI_ERRORS.NOT_AVAILABLE, 'no enabled IPPool: there is no address to hand out');
}

/**
 * GC (CNI 1.1): everything of this network on this node that the runtime no longer knows
 * (`cni.dev/valid-attachments`) is deleted: endpoints with their veths, and handles.
 */
export async function cniGc(req: CniRequest, deps: CniDeps): Promise<{ deleted: string[]; released: string[] }> {
  const node = nodeOf(req, deps);
  const valid = new Set((req.config.validAttachments ?? []).map((a) => `${a.containerID}/${a.ifname}`));
  const validIds = new Set((req.config.validAttachments ?? []).map((a) => a.containerID));
  const deleted: string[] = [];
  const released: string[] = [];
  try {
    const weps = (await deps.store.list('WorkloadEndpoint')).items.filter(
      (w) => w.spec.node === node && w.metadata.labels?.['tortie.dev/network'] === req.config.name && w.spec.containerID,
    );
    for (const w of weps) {
      const ifName = w.spec.endpoint ?? 'eth0';
      if (valid.has(`${w.spec.containerID}/${ifName}`)) continue;
      const args: Record<string, string> = w.spec.pod
        ? { K8S_POD_NAME: w.spec.pod, K8S_POD_NAMESPACE: w.metadata.namespace ?? 'default' }
        : { TORTIE_NAMESPACE: w.metadata.namespace ?? 'default', ...(w.spec.workload ? { TORTIE_WORKLOAD: w.spec.workload } : {}) };
      const del: CniRequest = { ...req, command: 'DEL', containerId: w.spec.containerID!, ifName, netns: undefined, args };
      if (attachmentOf(del, node).endpointName !== w.metadata.name) continue; // not named by us: leave it
      await cniDel(del, deps);
      deleted.push(`${w.metadata.namespace}/${w.metadata.name}`);
    }
    const prefix = `${HANDLES_PREFIX}${encodeURIComponent(`tortie.${req.config.name}.`)}`;
    for (const pair of (await deps.store.kv.list(prefix)).items) {
      const h = decodeHandle(pair.value, pair.key);
      const containerId = h.handle.slice(`tortie.${req.config.name}.`.length);
      if (h.attrs.node !== node || validIds.has(containerId)) continue;
      released.push(...(await deps.ipam.releaseByHandle(h.handle)));
    }
  } catch (err) {
    throw toCniError(err, 'GC');
  }
  deps.log?.info({ deleted, released }, 'CNI GC');
  return { deleted, released };
}

/** Routes for serveControl: `POST /cni` with {env, stdin} answers {exitCode, stdout}. */
export function cniControlRoutes(deps: CniDeps): ControlRoutes {
  return {
    'POST /cni': async (body) => {
      const call = body as Partial<CniCall> | undefined;
      if (!call || typeof call !== 'object' || typeof call.env !== 'object' || call.env === null || typeof call.stdin !== 'string') {
        throw new UserError('POST /cni wants {"env": {CNI_* variables}, "stdin": "network configuration"}');
      }
      return handleCni(call.env, call.stdin, deps);
    },
  };
}
