/**
 * Throwaway etcd servers for tests: Debian's `etcd` binary on free loopback ports, data in a
 * fresh temp folder, optionally with TLS (a throwaway CA, server and client certificate made
 * by openssl). Each one is stopped by its PID and its folder removed when the test is done,
 * and an exit hook kills any that a failed test left behind.
 *
 *   const etcd = await startEtcd();                 // etcd.url = 'etcd://127.0.0.1:PORT'
 *   const etcd = await startEtcd({ unixSocket: true });
 *     // also etcd.unixUrl = 'etcd+unix:///tmp/tortie-etcd-XXX/etcd.sock:1', reachable from
 *     // inside other network namespaces (loopback is not)
 *   const cluster = await startEtcdCluster(3);      // cluster.members[1].kill(), .restart()
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { waitFor } from './wait.js';

const ETCD_BIN = process.env.TORTIE_TEST_ETCD ?? 'etcd';
/** Short raft timings: quick elections, and a shortest lease TTL of 1 s (3/2 election ticks). */
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
const HEALTHY_WITHIN_MS = 15_000;

export interface EtcdTls {
  /** PEM file paths. */
  ca: string;
  cert: string;
  key: string;
}

export interface EtcdMember {
  readonly name: string;
  /** host:port of the client listener. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** The running process's id, or undefined while it is down. */
  readonly pid: number | undefined;
  /** Sends a signal (default SIGKILL) and waits for the process to exit. Keeps the data. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again on the same ports and data dir, and waits until it is healthy. */
  restart(): Promise<void>;
  /** The member's log so far, for failure messages. */
  logTail(lines?: number): string;
}

export interface EtcdServer extends EtcdMember {
  /** etcd://127.0.0.1:PORT (etcds:// with TLS) */
  readonly url: string;
  readonly endpoints: string[];
  /** Paths of the throwaway CA and client certificate, when started with TLS. */
  readonly tls?: EtcdTls;
  /** etcd+unix:///ABS/etcd.sock:1, when started with `unixSocket`. */
  readonly unixUrl?: string;
  /** Stops etcd and removes its folder. */
  stop(): Promise<void>;
}

export interface EtcdCluster {
  readonly url: string;
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  stop(): Promise<void>;
}

/* Everything started here, so that the exit hook can clean up after a failed test. */
const running = new Set<ChildProcess>();
const folders = new Set<string>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const child of running) if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
async function makeCertificates(dir: string): Promise<EtcdTls & { serverCert: string; serverKey: string }> {
  const path = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execa('openssl', args, { cwd: dir });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=tortie test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  const sign = async (name: string, subject: string, extensions: string) => {
    writeFileSync(path(`${name}.ext`), extensions);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  await sign('server', '/CN=etcd', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await sign('client', '/CN=tortie', 'extendedKeyUsage=clientAuth\n');
  return { ca: path('ca.pem'), cert: path('client.pem'), key: path('client.key'), serverCert: path('server.pem'), serverKey: path('server.key') };
}

/** GET /health on a client URL; true when etcd answers {"health":"true"}. */
function healthy(clientUrl: string, tls: EtcdTls | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const url = new URL('/health', clientUrl);
    const options = tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), timeout: 1000 } : { timeout: 1000 };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

interface MemberSpec {
  name: string;
  dir: string;
  clientPort: number;
  peerPort: number;
  initialCluster: string;
  clusterToken: string;
  tls?: EtcdTls & { serverCert: string; serverKey: string };
  /**
   * Also listen on a unix socket. etcd wants unix listeners in host:port form, and makes the
   * socket file `etcd.sock:1` relative to its working directory, which is then `dir`.
   */
  unixSocket?: boolean;
}

/** The socket file name etcd makes for `unix://etcd.sock:1`. */
const UNIX_SOCKET_NAME = 'etcd.sock:1';

class Member implements EtcdMember {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly name: string;
  readonly endpoint: string;
  readonly dataDir: string;
  private readonly logFile: string;
  private readonly clientUrl: string;

  constructor(private readonly spec: MemberSpec) {
    this.name = spec.name;
    this.endpoint = `127.0.0.1:${spec.clientPort}`;
    this.dataDir = join(spec.dir, `${spec.name}.data`);
    this.logFile = join(spec.dir, `${spec.name}.log`);
    this.clientUrl = `${spec.tls ? 'https' : 'http'}://${this.endpoint}`;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Spawns the process; `waitHealthy` separately, so a cluster's members start together. */
  spawn(): void {
    const { spec } = this;
    const peerUrl = `http://127.0.0.1:${spec.peerPort}`;
    const args = [
      '--name', spec.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', spec.unixSocket ? `${this.clientUrl},unix://${UNIX_SOCKET_NAME}` : this.clientUrl,
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', spec.initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', spec.clusterToken, // the same for every member, or they refuse each other
      '--heartbeat-interval', String(HEARTBEAT_MS),
      '--election-timeout', String(ELECTION_MS),
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    if (spec.tls) {
      args.push('--cert-file', spec.tls.serverCert, '--key-file', spec.tls.serverKey, '--client-cert-auth', '--trusted-ca-file', spec.tls.ca);
    }
    const log = openSync(this.logFile, 'a');
    try {
      const child = spawn(ETCD_BIN, args, { stdio: ['ignore', log, log], cwd: spec.dir });
      this.child = child;
      running.add(child);
      this.exited = new Promise((resolve) => {
        child.once('exit', () => {
          running.delete(child);
          resolve();
        });
        child.once('error', () => {
          running.delete(child);
          resolve();
        });
      });
    } finally {
      closeSync(log);
    }
  }

  async waitHealthy(): Promise<void> {
    try {
      await waitFor(
        async () => {
          if (this.pid === undefined) throw new Error(`etcd ${this.name} exited`);
          return healthy(this.clientUrl, this.spec.tls);
        },
        { what: `etcd ${this.name} at ${this.endpoint} to be healthy`, timeoutMs: HEALTHY_WITHIN_MS, intervalMs: 50 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- etcd ${this.name} log ---\n${this.logTail()}`);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || this.pid === undefined) return;
    process.kill(child.pid!, signal);
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    this.spawn();
    await this.waitHealthy();
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

async function startMembers(count: number, tls: boolean, unixSocket = false): Promise<{ dir: string; members: Member[]; tlsFiles?: EtcdTls & { serverCert: string; serverKey: string } }> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'tortie-etcd-'));
  folders.add(dir);
  const members: Member[] = [];
  try {
    const tlsFiles = tls ? await makeCertificates(dir) : undefined;
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < count; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const initialCluster = ports.map((p, i) => `etcd${i}=http://127.0.0.1:${p.peer}`).join(',');
    for (let i = 0; i < count; i++) {
      members.push(new Member({ name: `etcd${i}`, dir, clientPort: ports[i]!.client, peerPort: ports[i]!.peer, initialCluster, clusterToken: basename(dir), tls: tlsFiles, unixSocket }));
    }
    for (const member of members) member.spawn();
    await Promise.all(members.map((member) => member.waitHealthy()));
    return { dir, members, tlsFiles };
  } catch (err) {
    await Promise.all(members.map((member) => member.kill()));
    rmSync(dir, { recursive: true, force: true });
    folders.delete(dir);
    throw err;
  }
}

async function removeAll(dir: string, members: Member[]): Promise<void> {
  // SIGKILL: the data is thrown away next, and a member stopped gently waits for a quorum
  // that its stopped peers no longer give it.
  await Promise.all(members.map((member) => member.kill('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
  folders.delete(dir);
}

/**
 * One throwaway etcd; with `tls`, it requires client certificates signed by its own CA; with
 * `unixSocket`, it also listens on a unix socket in its folder (`unixUrl`), which processes in
 * other network namespaces can reach.
 */
export async function startEtcd(options: { tls?: boolean; unixSocket?: boolean } = {}): Promise<EtcdServer> {
  if (options.tls && options.unixSocket) throw new Error('startEtcd: unixSocket is plain gRPC; it does not go with tls');
  const { dir, members, tlsFiles } = await startMembers(1, options.tls ?? false, options.unixSocket ?? false);
  const member = members[0]!;
  const scheme = tlsFiles ? 'etcds' : 'etcd';
  const server: EtcdServer = {
    name: member.name,
    endpoint: member.endpoint,
    dataDir: member.dataDir,
    get pid() {
      return member.pid;
    },
    url: `${scheme}://${member.endpoint}`,
    endpoints: [member.endpoint],
    kill: (signal) => member.kill(signal),
    restart: () => member.restart(),
    logTail: (lines) => member.logTail(lines),
    stop: () => removeAll(dir, members),
    tls: tlsFiles ? { ca: tlsFiles.ca, cert: tlsFiles.cert, key: tlsFiles.key } : undefined,
    unixUrl: options.unixSocket ? `etcd+unix://${join(dir, UNIX_SOCKET_NAME)}` : undefined,
  };
  return server;
}

/** A cluster of `size` members on loopback; kill and restart members one by one. */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const { dir, members } = await startMembers(size, false);
  const endpoints = members.map((member) => member.endpoint);
  return {
    url: `etcd://${endpoints.join(',')}`,
    endpoints,
    members,
    stop: () => removeAll(dir, members),
  };
}
