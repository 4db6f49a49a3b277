/**
 * A daemon's control API: HTTP with JSON bodies on a unix socket that only root can open.
 * The speaker and the node daemon serve one each; the CLI talks to them with `callControl`.
 *
 * The socket is created under umask 0177 so that there is no moment at which it exists with
 * wider permissions (chmod after listen would leave a window), and a stale socket left by a
 * crashed daemon is replaced only when nothing answers on it.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { UnavailableError, UserError } from './errors.js';

export type ControlHandler = (body: unknown, query: URLSearchParams) => unknown | Promise<unknown>;

/** Routes as "METHOD /path" -> handler. A handler's return value is sent as JSON. */
export type ControlRoutes = Record<string, ControlHandler>;

const MAX_BODY = 1 << 20;

export async function serveControl(socketPath: string, routes: ControlRoutes): Promise<Server> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (existsSync(socketPath)) {
    if (await isAnswering(socketPath)) throw new UserError(`control socket ${socketPath} is in use by a running daemon`);
    unlinkSync(socketPath);
  }
  const server = createServer((req, res) => void handle(routes, req, res));
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(socketPath, 0o600);
  server.on('close', () => {
    try {
      unlinkSync(socketPath);
    } catch {
      // gone already
    }
  });
  return server;
}

async function handle(routes: ControlRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const handler = routes[`${req.method} ${url.pathname}`];
  const reply = (status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (!handler) return reply(404, { error: `no such control call: ${req.method} ${url.pathname}` });
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return reply(413, { error: 'request body too large' });
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return reply(400, { error: 'request body is not JSON' });
    }
    reply(200, (await handler(body, url.searchParams)) ?? { ok: true });
  } catch (err) {
    // A bad request is the caller's fault (400); anything else is ours (500), message only.
    reply(err instanceof UserError ? 400 : 500, { error: err instanceof Error ? err.message : String(err) });
  }
}

function isAnswering(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(socketPath);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Calls a daemon's control API; errors come back as one-line UserErrors naming the socket. */
export function callControl<T = unknown>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { socketPath, method, path, headers: payload ? { 'content-type': 'application/json' } : {}, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let value: unknown;
          try {
            value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(new UserError(`control socket ${socketPath}: answer is not JSON`));
          }
          if (res.statusCode !== 200) {
            const message = (value as { error?: string } | null)?.error ?? `HTTP ${res.statusCode}`;
            return reject(new UserError(message));
          }
          resolve(value as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'no such socket (is the daemon running?)'
        : err.code === 'EACCES' ? 'permission denied (the control socket is root-only)'
        : err.code === 'ECONNREFUSED' ? 'nothing is listening (stale socket?)'
        : err.message;
      reject(new UnavailableError(`control socket ${socketPath}: ${why}`));
    });
    req.end(payload);
  });
}
