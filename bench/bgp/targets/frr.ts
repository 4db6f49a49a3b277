/**
 * FRR (Debian frr) as its test harness runs it: bgpd alone (no zebra, -Z; no kernel, -n),
 * root, everything in a private folder, `no bgp ebgp-requires-policy`, advertisement
 * interval 0. For the fib scenario zebra runs too (as user frr, which it insists on, in a
 * folder owned by frr), and bgpd talks to it over the folder's zserv socket.
 */
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { capture, pollUntil, Processes, tail } from './common.js';
import { HOLD_TIME, LOCAL, PEERS, type RunningTarget, type Target, type TargetContext } from './types.js';

export const BGPD = '/usr/lib/frr/bgpd';
export const ZEBRA = '/usr/lib/frr/zebra';

export function frrConfig(): string {
  const lines = [
    'frr defaults traditional',
    'hostname bench-target',
    'log stdout warnings',
    '!',
    `router bgp ${LOCAL.asn}`,
    ` bgp router-id ${LOCAL.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
  ];
  for (const p of [PEERS.injector, PEERS.monitor]) {
    lines.push(` neighbor ${p.address} remote-as ${p.asn}`);
    lines.push(` neighbor ${p.address} passive`);
    lines.push(` neighbor ${p.address} timers ${HOLD_TIME / 3} ${HOLD_TIME}`);
    lines.push(` neighbor ${p.address} timers connect 1`);
    lines.push(` neighbor ${p.address} advertisement-interval 0`);
  }
  lines.push(' address-family ipv4 unicast');
  for (const p of [PEERS.injector, PEERS.monitor]) lines.push(`  neighbor ${p.address} activate`);
  lines.push(' exit-address-family', '!');
  return `${lines.join('\n')}\n`;
}

function frrIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export const frr: Target = {
  name: 'frr',
  fibUnsupported: null,
  async label() {
    const v = /bgpd version (\S+)/.exec(await capture(BGPD, ['--version']))?.[1];
    return `FRR ${v ?? '?'}`;
  },
  async start(ctx: TargetContext): Promise<RunningTarget> {
    const conf = join(ctx.dir, 'bgpd.conf');
    const log = join(ctx.dir, 'bgpd.log');
    const zlog = join(ctx.dir, 'zebra.log');
    const zserv = join(ctx.dir, 'zserv.api');
    writeFileSync(conf, frrConfig());
    const list = [];
    if (ctx.fib) {
      const { uid, gid } = frrIds();
      chownSync(ctx.dir, uid, gid);
      chmodSync(ctx.dir, 0o775);
      const zconf = join(ctx.dir, 'zebra.conf');
      writeFileSync(zconf, 'hostname bench-zebra\nlog stdout warnings\n!\n');
      chownSync(zconf, uid, gid);
      const zebra = await ctx.scope.spawn(ctx.netns, ZEBRA, [
        '-u', 'frr', '-g', 'frr',
        '-f', zconf,
        '-i', join(ctx.dir, 'zebra.pid'),
        '-z', zserv,
        '--vty_socket', ctx.dir,
        '-P', '0',
        '--log', 'stdout',
      ], { logFile: zlog });
      list.push(zebra);
      await pollUntil('FRR zebra to answer on its vty', 15_000, async () => {
        const out = await capture('vtysh', ['--vty_socket', ctx.dir, '-d', 'zebra', '-c', 'show version']);
        return /FRRouting/.test(out);
      }, () => (zebra.exit ? `zebra exited: ${tail(zlog, 5)}` : null));
    }
    const bgpd = await ctx.scope.spawn(ctx.netns, BGPD, [
      '-f', conf,
      '-i', join(ctx.dir, 'bgpd.pid'),
      '-z', zserv,
      '--vty_socket', ctx.dir,
      '-S', '-P', '0',
      ...(ctx.fib ? [] : ['-Z', '-n']),
      '--log', 'stdout',
    ], { logFile: log });
    list.push(bgpd);
    const procs = new Processes(list);
    const vtysh = (cmd: string) => capture('vtysh', ['--vty_socket', ctx.dir, '-d', 'bgpd', '-c', cmd]);
    return {
      pids: () => procs.pids(),
      exited: () => procs.exited(),
      stop: () => procs.stop(),
      logTail: (n) => `${ctx.fib ? `${tail(zlog, n)}\n` : ''}${tail(log, n)}`,
      async waitEstablished(timeoutMs) {
        await pollUntil('FRR: both BGP sessions Established', timeoutMs, async () => {
          const s = JSON.parse(await vtysh('show bgp ipv4 unicast summary json')) as { peers?: Record<string, { state?: string }> };
          return [PEERS.injector, PEERS.monitor].every((p) => s.peers?.[p.address]?.state === 'Established');
        }, () => procs.exited());
      },
    };
  },
};
