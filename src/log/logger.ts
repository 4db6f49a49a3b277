/**
 * One logger for every component: JSON lines when stderr is not a terminal (for collectors),
 * readable coloured lines when it is (for people). Components take a child logger with
 * `component` set so that one stream can be filtered per part.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

const level = process.env.TORTIE_LOG_LEVEL ?? 'info';

function makeRoot(): Logger {
  if (process.stderr.isTTY && process.env.TORTIE_LOG_FORMAT !== 'json') {
    // Synchronous so that a line logged just before exit is not lost.
    const stream = pretty({ destination: 2, sync: true, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
    return pino({ level, base: undefined }, stream);
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

let root: Logger | undefined;

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  root ??= makeRoot();
  return root.child({ component, ...bindings });
}
