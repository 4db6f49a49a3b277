/**
 * `tortie dns`: the workload DNS server in the foreground, answering NAME.NAMESPACE.<domain>
 * (A, AAAA, SRV for named ports) from the records in the datastore. SIGTERM/SIGINT stop it.
 */
import type { Command } from 'commander';
import { UsageError, UserError } from '../../common/errors.js';
import { DEFAULT_DNS_DOMAIN, DEFAULT_DNS_TTL_SECONDS, normaliseDomain, startDnsServer, type ListenAddress } from '../../dns/server.js';
import { logger } from '../../log/logger.js';
import { addDatastoreOptions, datastoreOptions, examples, openDatastore } from './common.js';

interface DnsOpts {
  listen: string[];
  domain: string;
  ttl: number;
}

/** `127.0.0.1:5353`, `[::1]:53`, or an address alone (port 53). */
export function parseListen(text: string): ListenAddress {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([0-9.]+)(?::(\d+))?$/.exec(text);
  const m = v6 ?? v4;
  if (!m) throw new UsageError(`--listen: "${text}" is not ADDRESS[:PORT] (IPv6 in brackets: [::1]:53)`);
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--listen: port "${m[2]}" is not a number from 0 to 65535`);
  return { address: m[1]!, port };
}

export function registerDnsCommands(program: Command): void {
  addDatastoreOptions(program);
  examples(
    program
      .command('dns')
      .description('serve DNS for workloads (NAME.NAMESPACE.tortie.local: A, AAAA, SRV) from the datastore, in the foreground')
      .option('--listen <address:port>', 'where to listen, UDP and TCP (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
      .option('--domain <zone>', 'the zone served', DEFAULT_DNS_DOMAIN)
      .option('--ttl <seconds>', 'TTL of answers and of negative answers', (v: string) => {
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 0 && n <= 86400)) throw new UsageError(`--ttl: "${v}" is not a number of seconds from 0 to 86400`);
        return n;
      }, DEFAULT_DNS_TTL_SECONDS)
      .action(async (opts: DnsOpts, cmd: Command) => {
        const listen = (opts.listen ?? ['127.0.0.1:5353']).map(parseListen);
        let domain: string;
        try {
          domain = normaliseDomain(opts.domain);
        } catch {
          throw new UsageError(`--domain: "${opts.domain}" is not a domain name`);
        }
        const kv = await openDatastore(datastoreOptions(cmd));
        const log = logger('dns');
        const server = startDnsServer({ kv, listen, domain, ttlSeconds: opts.ttl, log });
        let stopping: Promise<void> | undefined;
        const stop = () => (stopping ??= server.stop().then(() => kv.close()));
        const done = new Promise<void>((resolve) => {
          const onSignal = () => void stop().then(resolve, resolve);
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
        });
        try {
          await server.ready;
        } catch (err) {
          await kv.close().catch(() => undefined);
          const e = err as NodeJS.ErrnoException;
          throw new UserError(`cannot listen on ${listen.map((l) => `${l.address}:${l.port}`).join(', ')}: ${e.code ?? e.message}`);
        }
        process.stderr.write(`tortie dns: serving ${domain} on ${server.bound.map((b) => `${b.address}:${b.port}`).join(', ')} (UDP and TCP)\n`);
        await done;
      }),
    [
      'tortie dns --datastore etcd://127.0.0.1:2379 --listen 127.0.0.1:5353',
      'dig @127.0.0.1 -p 5353 web.default.tortie.local',
      'dig @127.0.0.1 -p 5353 _http._tcp.web.default.tortie.local SRV',
    ],
  );
}
