/**
 * In-process mode of the plugin executable: opens the datastore named by the network
 * config (or TORTIE_DATASTORE), runs the invocation, closes the datastore.
 */
import { hostname } from 'node:os';
import { openKV, datastoreUrlFromEnv } from '../datastore/open.js';
import { ResourceStore } from '../datastore/resources/store.js';
import { Ipam } from '../ipam/ipam.js';
import { ResourceConfigSource } from '../ipam/resource-source.js';
import { logger } from '../log/logger.js';
import { handleCni } from './handler.js';
import { CniError, errorJson, parseInvocation, versionResult, type CniEnv } from './spec.js';
import { CNI_ERRORS, type CniOutcome } from './versions.js';

export const NODENAME_ENV = 'TORTIE_NODENAME';

export async function runInProcess(env: CniEnv, stdin: string, processEnv: NodeJS.ProcessEnv = process.env): Promise<CniOutcome> {
  let version: string | undefined;
  try {
    const req = parseInvocation(env, stdin);
    version = req.cniVersion;
    if (req.command === 'VERSION') return { exitCode: 0, stdout: versionResult(req.cniVersion) };
    const url = req.config.datastore ?? datastoreUrlFromEnv(processEnv);
    if (!url) throw new CniError(CNI_ERRORS.INVALID_CONFIG, 'network configuration: no "datastore" URL (nor TORTIE_DATASTORE), and no node daemon socket to hand the call to');
    const nodeName = req.config.nodename ?? (processEnv[NODENAME_ENV] || hostname());
    let kv;
    try {
      kv = await openKV(url, { tls: req.config.etcd });
    } catch (err) {
      throw new CniError(CNI_ERRORS.INVALID_CONFIG, `network configuration: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const store = new ResourceStore(kv);
      const ipam = new Ipam(kv, new ResourceConfigSource(store));
      return await handleCni(env, stdin, { ipam, store, nodeName, hostNetns: req.config.hostNetns, log: logger('cni') });
    } finally {
      await Promise.race([kv.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  } catch (err) {
    return { exitCode: 1, stdout: JSON.stringify(errorJson(err, version)) };
  }
}
