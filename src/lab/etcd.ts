/**
 * A lab's etcd: Debian's etcd in the root namespace, listening on a free loopback port (for
 * the CLI on this machine) and on a unix socket in the lab's folder (for node daemons inside
 * the lab's namespaces: a unix socket is a file, so it crosses network namespaces where
 * 127.0.0.1 does not). etcd 3.4 names the socket file "etcd.sock:1" in its working
 * directory, and tortie reaches it as etcd+unix:///<folder>/etcd.sock:1.
 */
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { startDetached, stopProcesses } from './proc.js';
import { processStartTime, type ProcessRecord } from './state.js';

const ETCD_BIN = process.env.TORTIE_LAB_ETCD ?? 'etcd';

export interface LabEtcd {
  /** etcd://127.0.0.1:PORT, for the root namespace. */
  url: string;
  /** etcd+unix:///DIR/etcd.sock:1, for the lab's namespaces. */
  unixUrl: string;
  process: ProcessRecord;
  dir: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts etcd with its data, log and socket in `dir`, and waits until it is healthy.
 * `onStarted` gets the process record at once, before the wait, so that the caller can
 * write it down: an interrupt during the wait must still find it.
 */
export async function startLabEtcd(dir: string, name: string, onStarted?: (p: ProcessRecord) => void): Promise<LabEtcd> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const client = await freePort();
  const peer = await freePort();
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const log = join(dir, 'etcd.log');
  const proc = await startDetached(
    ETCD_BIN,
    [
      '--name', name,
      '--data-dir', join(dir, 'data'),
      // unix://etcd.sock:1 is relative: etcd makes the socket file in its working directory.
      '--listen-client-urls', `${clientUrl},unix://etcd.sock:1`,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${name}=${peerUrl}`,
      '--initial-cluster-token', name,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-level', 'warn',
    ],
    { cwd: dir, log, what: 'etcd' },
  );
  onStarted?.(proc);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (processStartTime(proc.pid) === undefined) throw new UserError(`lab etcd exited while starting; see ${log}`);
    if (await healthy(client)) break;
    if (Date.now() > deadline) {
      await stopProcesses([proc], 500);
      throw new UserError(`lab etcd did not become healthy within 15 s; see ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `etcd://127.0.0.1:${client}`, unixUrl: `etcd+unix://${join(dir, 'etcd.sock:1')}`, process: proc, dir };
}

export async function stopLabEtcd(etcd: Pick<LabEtcd, 'process'>): Promise<void> {
  await stopProcesses([etcd.process], 2000);
}
