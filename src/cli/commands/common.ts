/**
 * Plumbing shared by every command that talks to the datastore: the global datastore options
 * (--datastore or TORTIE_DATASTORE, etcd TLS and auth), opening the store for one command and
 * closing it after, and the -o output formats.
 */
import { Command, Option } from 'commander';
import { stringify as yamlStringify } from 'yaml';
import { UnavailableError, UsageError } from '../../common/errors.js';
import type { KV } from '../../datastore/kv.js';
import { DATASTORE_ENV, openKV } from '../../datastore/open.js';
import { ResourceStore } from '../../datastore/resources/store.js';

export const DEFAULT_DATASTORE = 'etcd://127.0.0.1:2379';

/** How long one command waits on the datastore before it says it is unreachable. */
const DEFAULT_TIMEOUT_SECONDS = 15;

export interface DatastoreOptions {
  datastore: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUsername?: string;
  etcdPassword?: string;
  datastoreTimeout: number;
}

/**
 * Adds the datastore options to the program, once (every register function may call it).
 * Program options are accepted before or after the subcommand: `tortie --datastore X get
 * ippool` and `tortie get ippool --datastore X` both work.
 */
export function addDatastoreOptions(program: Command): void {
  if (program.options.some((o) => o.long === '--datastore')) return;
  program
    .addOption(new Option('--datastore <url>', 'datastore: etcd://HOST:PORT[,HOST:PORT], etcds://... or memory:').env(DATASTORE_ENV).default(DEFAULT_DATASTORE))
    .addOption(new Option('--etcd-ca <file>', 'CA certificate (PEM) to trust, for etcds://').env('TORTIE_ETCD_CA'))
    .addOption(new Option('--etcd-cert <file>', 'client certificate (PEM), for etcds://').env('TORTIE_ETCD_CERT'))
    .addOption(new Option('--etcd-key <file>', 'client key (PEM), for etcds://').env('TORTIE_ETCD_KEY'))
    .addOption(new Option('--etcd-username <name>', 'etcd user').env('TORTIE_ETCD_USERNAME'))
    .addOption(new Option('--etcd-password <password>', 'etcd password').env('TORTIE_ETCD_PASSWORD'))
    .addOption(
      new Option('--datastore-timeout <seconds>', 'give up on an unanswering datastore after this long')
        .default(DEFAULT_TIMEOUT_SECONDS)
        .argParser((v) => {
          const n = Number(v);
          if (!(n > 0)) throw new UsageError(`--datastore-timeout: "${v}" is not a positive number of seconds`);
          return n;
        }),
    );
}

/** The datastore options as seen from any subcommand. */
export function datastoreOptions(cmd: Command): DatastoreOptions {
  const o = cmd.optsWithGlobals<Partial<DatastoreOptions>>();
  return {
    datastore: o.datastore ?? DEFAULT_DATASTORE,
    etcdCa: o.etcdCa,
    etcdCert: o.etcdCert,
    etcdKey: o.etcdKey,
    etcdUsername: o.etcdUsername,
    etcdPassword: o.etcdPassword,
    datastoreTimeout: o.datastoreTimeout ?? DEFAULT_TIMEOUT_SECONDS,
  };
}

export async function openDatastore(options: DatastoreOptions): Promise<KV> {
  if ((options.etcdUsername === undefined) !== (options.etcdPassword === undefined)) {
    throw new UsageError('--etcd-username and --etcd-password go together: give both or neither');
  }
  const auth = options.etcdUsername !== undefined ? { username: options.etcdUsername, password: options.etcdPassword! } : undefined;
  const tls = options.etcdCa || options.etcdCert || options.etcdKey ? { ca: options.etcdCa, cert: options.etcdCert, key: options.etcdKey } : undefined;
  return openKV(options.datastore, { tls, auth });
}

/**
 * Opens the store, runs `fn`, closes the store. If the datastore does not answer within the
 * timeout the command fails with one line naming it, rather than hanging.
 */
export async function withResourceStore<T>(cmd: Command, fn: (store: ResourceStore) => Promise<T>): Promise<T> {
  const options = datastoreOptions(cmd);
  const kv = await openDatastore(options);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UnavailableError(`datastore ${options.datastore}: no answer within ${options.datastoreTimeout}s (is it running and reachable?)`)),
      options.datastoreTimeout * 1000,
    );
  });
  try {
    return await Promise.race([fn(new ResourceStore(kv)), deadline]);
  } catch (err) {
    throw nameDatastore(err, options.datastore);
  } finally {
    clearTimeout(timer);
    // Closing must not hang a command that already has its answer.
    await Promise.race([kv.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}

/** An unreachable-store message that does not say which store gets the URL in front. */
function nameDatastore(err: unknown, url: string): unknown {
  const endpoints = url.replace(/^[a-z]+:\/\//i, '');
  if (err instanceof UnavailableError && !err.message.includes(endpoints) && !err.message.startsWith('datastore')) {
    return new UnavailableError(`datastore ${url}: ${err.message}`, { cause: err });
  }
  return err;
}

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json';

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'wide', 'yaml', 'json']).default('table');
}

export function toYaml(value: unknown): string {
  return yamlStringify(value, { lineWidth: 0 });
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A plain text table like calicoctl's: upper-case headers, columns padded by 3 spaces. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A help epilogue with examples, added to each command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

