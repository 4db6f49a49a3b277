/**
 * tortie's own speaker: `node bin/tortie.js bgp run --config FILE` (the keys of
 * src/bgp/speaker/config.ts), in the foreground, itself the speaker process. Both peers
 * passive with accept-all both ways (and RFC 8212 off); for the fib scenario fib.install
 * into the main table. Readiness is the probes' own Established.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, Processes, tail } from './common.js';
import { HOLD_TIME, LOCAL, PEERS, type RunningTarget, type Target, type TargetContext } from './types.js';

export function tortieConfig(fib: boolean, controlSocket: string): string {
  const peer = (p: { address: string; asn: number }) => `  - address: ${p.address}
    asn: ${p.asn}
    passive: true
    holdTime: ${HOLD_TIME}
    gracefulRestart: false
    import: accept-all
    export: accept-all
`;
  return `asn: ${LOCAL.asn}
routerId: ${LOCAL.routerId}
listen: { address: 0.0.0.0, port: 179 }
ebgpRequiresPolicy: false
peers:
${peer(PEERS.injector)}${peer(PEERS.monitor)}fib: { install: ${fib}, table: 254 }
control: { socket: ${controlSocket} }
`;
}

export const tortie: Target = {
  name: 'tortie',
  fibUnsupported: null,
  async label() {
    const rev = (await capture('git', ['rev-parse', '--short', 'HEAD'])).trim();
    return `tortie ${/^[0-9a-f]+$/.test(rev) ? rev : ''}`.trim();
  },
  async start(ctx: TargetContext): Promise<RunningTarget> {
    const conf = join(ctx.dir, 'tortie.yaml');
    const log = join(ctx.dir, 'tortie.log');
    writeFileSync(conf, tortieConfig(ctx.fib, join(ctx.dir, 'bgp.sock')));
    // TORTIE_BENCH_NODE_ARGS: extra node flags for profiling (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (process.env.TORTIE_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
    const proc = await ctx.scope.spawn(ctx.netns, process.execPath, [...nodeArgs, join(ctx.repoRoot, 'bin', 'tortie.js'), 'bgp', 'run', '--config', conf], {
      logFile: log,
      env: { TORTIE_LOG_LEVEL: 'warn' },
    });
    const procs = new Processes([proc]);
    return {
      pids: () => procs.pids(),
      exited: () => procs.exited(),
      stop: () => procs.stop(),
      logTail: (n) => tail(log, n),
      // The probes' Established is the readiness test (the runner waits for it as well).
      async waitEstablished() {
        const why = procs.exited();
        if (why) throw new Error(`tortie: ${why}: ${tail(log, 5)}`);
      },
    };
  },
};
