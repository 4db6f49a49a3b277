/**
 * The plugin executable's body (bin/tortie-cni.js). It must start fast, so it imports only
 * Node's own modules: when a node daemon's socket is there (the network config's
 * `nodeSocket`, else TORTIE_NODE_SOCKET, else /run/tortie/node.sock) it forwards the
 * invocation (CNI_* variables and stdin) to `POST /cni` and prints the answer. Without a
 * daemon it loads the library and runs the invocation itself against the datastore the
 * config names (slower: a datastore connection per call).
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { CNI_ERRORS, LATEST_VERSION, SUPPORTED_VERSIONS, type CniOutcome } from './versions.js';

export const DEFAULT_NODE_SOCKET = '/run/tortie/node.sock';
export const NODE_SOCKET_ENV = 'TORTIE_NODE_SOCKET';
/** How long the plugin waits for the daemon's answer (runtimes time out around 4 minutes). */
const DAEMON_TIMEOUT_MS = 120_000;

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    if (process.stdin.isTTY) return resolve('');
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function cniEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('CNI_') && v !== undefined) out[k] = v;
  return out;
}

function peek(stdin: string): { nodeSocket?: string; cniVersion?: string } {
  try {
    const doc = JSON.parse(stdin) as { nodeSocket?: unknown; cniVersion?: unknown };
    return {
      nodeSocket: typeof doc.nodeSocket === 'string' ? doc.nodeSocket : undefined,
      cniVersion: typeof doc.cniVersion === 'string' ? doc.cniVersion : undefined,
    };
  } catch {
    return {};
  }
}

/** The daemon socket to use, or null for in-process. */
export function chooseSocket(configSocket: string | undefined, env: NodeJS.ProcessEnv): string | null {
  if (configSocket === '') return null;
  const socket = configSocket ?? (env[NODE_SOCKET_ENV] || DEFAULT_NODE_SOCKET);
  return existsSync(socket) ? socket : null;
}

class DaemonAbsent extends Error {}

function forward(socket: string, env: Record<string, string>, stdin: string): Promise<CniOutcome> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ env, stdin });
    const req = request(
      { socketPath: socket, method: 'POST', path: '/cni', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: DAEMON_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            const value = JSON.parse(text) as Partial<CniOutcome> & { error?: string };
            if (res.statusCode === 200 && typeof value.exitCode === 'number' && typeof value.stdout === 'string') return resolve(value as CniOutcome);
            reject(new Error(`node daemon at ${socket} answered HTTP ${res.statusCode}: ${value.error ?? text}`));
          } catch {
            reject(new Error(`node daemon at ${socket} answered something that is not JSON`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`node daemon at ${socket} did not answer within ${DAEMON_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Nothing listening: the same as no daemon. Anything later may have half-run: report it.
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new DaemonAbsent(err.message));
      else reject(err);
    });
    req.end(payload);
  });
}

function errorOutcome(version: string | undefined, code: number, msg: string): CniOutcome {
  const cniVersion = version && (SUPPORTED_VERSIONS as readonly string[]).includes(version) ? version : LATEST_VERSION;
  return { exitCode: 1, stdout: JSON.stringify({ cniVersion, code, msg }) };
}

/** Runs one invocation; returns the exit status after printing the answer. */
export async function main(): Promise<number> {
  let outcome: CniOutcome;
  let version: string | undefined;
  try {
    const stdin = await readStdin();
    const env = cniEnv();
    const seen = peek(stdin);
    version = seen.cniVersion;
    if (env.CNI_COMMAND === 'VERSION') {
      // Answered here: no daemon or datastore needed.
      const cniVersion = version && (SUPPORTED_VERSIONS as readonly string[]).includes(version) ? version : LATEST_VERSION;
      process.stdout.write(`${JSON.stringify({ cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] })}\n`);
      return 0;
    }
    const socket = chooseSocket(seen.nodeSocket, process.env);
    let viaDaemon: CniOutcome | null = null;
    if (socket) {
      try {
        viaDaemon = await forward(socket, env, stdin);
      } catch (err) {
        if (!(err instanceof DaemonAbsent)) throw err;
      }
    }
    if (viaDaemon) outcome = viaDaemon;
    else {
      const { runInProcess } = await import('./inprocess.js');
      outcome = await runInProcess(env, stdin);
    }
  } catch (err) {
    outcome = errorOutcome(version, CNI_ERRORS.TRY_AGAIN_LATER, err instanceof Error ? err.message : String(err));
  }
  if (outcome.stdout) process.stdout.write(outcome.stdout.endsWith('\n') ? outcome.stdout : `${outcome.stdout}\n`);
  return outcome.exitCode;
}
