/**
 * GoBGP (Debian gobgpd) with a TOML config: two passive neighbours, global policy default
 * (accept). Its gRPC API listens on a unix socket in the private folder, so the gobgp CLI
 * reaches it from outside the namespace. GoBGP has no kernel FIB of its own (it needs
 * zebra over zapi), so the fib scenario is not run for it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, pollUntil, Processes, tail } from './common.js';
import { HOLD_TIME, LOCAL, PEERS, type RunningTarget, type Target, type TargetContext } from './types.js';

export function gobgpConfig(): string {
  const neighbor = (p: { address: string; asn: number }) => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${p.address}"
    peer-as = ${p.asn}
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = ${HOLD_TIME}
    keepalive-interval = ${HOLD_TIME / 3}
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
  return `[global.config]
  as = ${LOCAL.asn}
  router-id = "${LOCAL.routerId}"
  port = 179
${neighbor(PEERS.injector)}${neighbor(PEERS.monitor)}`;
}

export const gobgp: Target = {
  name: 'gobgp',
  fibUnsupported: 'GoBGP installs kernel routes only through zebra (zapi); not set up here',
  async label() {
    const v = /version (\S+)/.exec(await capture('gobgpd', ['--version']))?.[1];
    return `GoBGP ${v ?? '?'}`;
  },
  async start(ctx: TargetContext): Promise<RunningTarget> {
    const conf = join(ctx.dir, 'gobgpd.toml');
    const log = join(ctx.dir, 'gobgpd.log');
    const api = `unix://${join(ctx.dir, 'gobgp.sock')}`;
    writeFileSync(conf, gobgpConfig());
    const proc = await ctx.scope.spawn(ctx.netns, 'gobgpd', ['-f', conf, '-t', 'toml', '--api-hosts', api, '--pprof-disable', '-l', 'warn'], { logFile: log });
    const procs = new Processes([proc]);
    return {
      pids: () => procs.pids(),
      exited: () => procs.exited(),
      stop: () => procs.stop(),
      logTail: (n) => tail(log, n),
      async waitEstablished(timeoutMs) {
        await pollUntil('GoBGP: both BGP sessions Established', timeoutMs, async () => {
          const out = await capture('gobgp', ['--target', api, 'neighbor', '-j']);
          const list = JSON.parse(out) as { state?: { neighbor_address?: string; session_state?: number | string } }[];
          const up = list.filter((n) => n.state?.session_state === 6 || String(n.state?.session_state).toLowerCase() === 'established');
          return up.length === 2;
        }, () => procs.exited());
      },
    };
  },
};
