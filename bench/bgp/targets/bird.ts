/** BIRD 2 (Debian bird2): two passive BGP protocols, and a kernel protocol for the fib scenario. */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { capture, pollUntil, Processes, tail } from './common.js';
import { HOLD_TIME, LOCAL, PEERS, type RunningTarget, type Target, type TargetContext } from './types.js';

export function birdConfig(fib: boolean): string {
  const bgp = (name: string, local: string, peer: { address: string; asn: number }): string => `
protocol bgp ${name} {
  local ${local} as ${LOCAL.asn};
  neighbor ${peer.address} as ${peer.asn};
  passive on;
  hold time ${HOLD_TIME};
  keepalive time ${HOLD_TIME / 3};
  connect retry time 1;
  error wait time 1, 5;
  ipv4 { import all; export all; };
}
`;
  return `log stderr { info, warning, error, fatal };
router id ${LOCAL.routerId};
protocol device { scan time 10; }
${fib ? `protocol kernel {
  ipv4 { import none; export all; };
  learn off;
  persist off;
}
` : ''}${bgp('injector', LOCAL.injSide, PEERS.injector)}${bgp('monitor', LOCAL.monSide, PEERS.monitor)}`;
}

export const bird: Target = {
  name: 'bird',
  fibUnsupported: null,
  async label() {
    const v = /BIRD version (\S+)/.exec(await capture('bird', ['--version']))?.[1];
    return `BIRD ${v ?? '?'}`;
  },
  async start(ctx: TargetContext): Promise<RunningTarget> {
    const conf = join(ctx.dir, 'bird.conf');
    const sock = join(ctx.dir, 'bird.ctl');
    const log = join(ctx.dir, 'bird.log');
    writeFileSync(conf, birdConfig(ctx.fib));
    const proc = await ctx.scope.spawn(ctx.netns, 'bird', ['-f', '-c', conf, '-s', sock, '-P', join(ctx.dir, 'bird.pid')], { logFile: log });
    const procs = new Processes([proc]);
    return {
      pids: () => procs.pids(),
      exited: () => procs.exited(),
      stop: () => procs.stop(),
      logTail: (n) => tail(log, n),
      async waitEstablished(timeoutMs) {
        await pollUntil('BIRD: both BGP sessions Established', timeoutMs, async () => {
          const out = await capture('birdc', ['-s', sock, 'show', 'protocols']);
          const up = out.split('\n').filter((l) => /^(injector|monitor)\s.*Established/.test(l));
          return up.length === 2;
        }, () => procs.exited());
      },
    };
  },
};
