/**
 * `tortie bgp run`: the speaker as a foreground daemon. It is itself the speaker process
 * (no wrapper that forks), serves its control API on a root-only unix socket, and on
 * SIGTERM/SIGINT says goodbye to its peers with Cease / Administrative Shutdown.
 */
import { serveControl } from '../../common/control-socket.js';
import { UserError } from '../../common/errors.js';
import { logger } from '../../log/logger.js';
import { checkOriginate, loadSpeakerConfig } from './config.js';
import { Speaker } from './speaker.js';

export interface RunningSpeaker {
  speaker: Speaker;
  /** Resolves when the daemon has shut down. */
  done: Promise<void>;
  shutdown(reason?: string): Promise<void>;
}

export async function runSpeakerDaemon(configFile: string, options: { socket?: string } = {}): Promise<RunningSpeaker> {
  const config = loadSpeakerConfig(configFile);
  const log = logger('bgp', { asn: config.asn, routerId: config.routerId });
  const speaker = new Speaker(config, log);
  /** Reads the config file again and applies what can change without a restart. */
  const reload = (why: string) => {
    const next = loadSpeakerConfig(configFile);
    log.info({ why }, 'reloading the configuration');
    return speaker.reload(next);
  };
  const socketPath = options.socket ?? config.control.socket;
  const control = await serveControl(socketPath, {
    'GET /peers': () => speaker.peerStatus(),
    'GET /fib': () => speaker.fibStatus(),
    'POST /reload': () => reload('control API'),
    'GET /routes': (_body, q) =>
      speaker.routes({
        prefix: q.get('prefix') ?? undefined,
        peer: q.get('peer') ?? undefined,
        family: (q.get('family') as 'ipv4' | 'ipv6' | null) ?? undefined,
        limit: q.has('limit') ? Number(q.get('limit')) : undefined,
      }),
    'POST /announce': (body) => {
      const route = checkOriginate(body, 'announce');
      speaker.announce(route);
      return { announced: route.prefix };
    },
    'POST /withdraw': (body) => {
      const prefix = (body as { prefix?: unknown } | undefined)?.prefix;
      if (typeof prefix !== 'string') throw new UserError('withdraw: give {"prefix": "..."}');
      if (!speaker.withdraw(prefix)) throw new UserError(`withdraw: ${prefix} is not announced by this speaker`);
      return { withdrawn: prefix };
    },
  });
  try {
    await speaker.start();
  } catch (err) {
    control.close();
    throw err;
  }
  log.info({ socket: socketPath, peers: config.peers.length }, 'speaker running');

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let stopping: Promise<void> | null = null;
  const shutdown = (reason = 'tortie shutting down') =>
    (stopping ??= (async () => {
      log.info({ reason }, 'shutting down');
      await speaker.stop(reason);
      await new Promise<void>((resolve) => control.close(() => resolve()));
      resolveDone();
    })());
  const onSignal = (signal: NodeJS.Signals) => void shutdown(`tortie received ${signal}`);
  const onHup = () => {
    try {
      reload('SIGHUP');
    } catch (err) {
      // A bad file must not take the running speaker down: keep the old configuration.
      log.error({ err: err instanceof UserError ? err.message : err }, 'reload failed; the running configuration stays');
    }
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGHUP', onHup);
  void done.then(() => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
  });
  return { speaker, done, shutdown };
}
