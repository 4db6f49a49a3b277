/**
 * `tortie bgp run` as a real process inside a test's network namespace, with its config in
 * a private temp folder and its control socket there too, so tests can ask it what it sees.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { callControl } from '../../../src/common/control-socket.js';
import type { NetnsProcess, NetnsScope } from '../../../src/kernel/index.js';
import type { PeerStatus } from '../../../src/bgp/speaker/speaker.js';
import type { RouteView } from '../../../src/bgp/rib/index.js';
import { TORTIE_BIN } from '../cli.js';
import { waitFor } from '../wait.js';

export class TortieSpeaker {
  constructor(
    readonly netns: string,
    readonly dir: string,
    readonly socket: string,
    readonly process: NetnsProcess,
  ) {}

  peers(): Promise<PeerStatus[]> {
    return callControl<PeerStatus[]>(this.socket, 'GET', '/peers');
  }

  async peer(address: string): Promise<PeerStatus> {
    const p = (await this.peers()).find((x) => x.address === address);
    if (!p) throw new Error(`tortie in ${this.netns} has no peer ${address}`);
    return p;
  }

  routes(query: Record<string, string> = {}): Promise<RouteView[]> {
    return callControl<RouteView[]>(this.socket, 'GET', `/routes?${new URLSearchParams(query)}`);
  }

  async waitForState(address: string, state: string, timeoutMs = 20_000): Promise<PeerStatus> {
    return waitFor(async () => {
      const p = await this.peer(address);
      return p.state === state ? p : undefined;
    }, { timeoutMs, intervalMs: 100, what: `tortie in ${this.netns}: peer ${address} ${state}` });
  }

  freeze(): void {
    process.kill(this.process.pid, 'SIGSTOP');
  }

  thaw(): void {
    process.kill(this.process.pid, 'SIGCONT');
  }

  async stop(): Promise<void> {
    try {
      process.kill(this.process.pid, 'SIGCONT');
    } catch {
      // gone already
    }
    await this.process.stop(3000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the speaker with `config` (the YAML keys of `tortie bgp run`) and waits for its socket. */
export async function startTortieSpeaker(scope: NetnsScope, netns: string, config: Record<string, unknown>): Promise<TortieSpeaker> {
  const dir = mkdtempSync(join(tmpdir(), 'tortie-bgp-'));
  const socket = join(dir, 'bgp.sock');
  const file = join(dir, 'bgp.yaml');
  writeFileSync(file, stringify({ ...config, control: { socket } }));
  const proc = await scope.spawn(netns, process.execPath, [TORTIE_BIN, 'bgp', 'run', '--config', file], {
    env: { TORTIE_LOG_FORMAT: 'json', TORTIE_LOG_LEVEL: 'debug' },
    logFile: join(dir, 'speaker.log'),
  });
  const speaker = new TortieSpeaker(netns, dir, socket, proc);
  try {
    await waitFor(async () => {
      if (proc.exit !== undefined) throw new Error(`tortie bgp run exited (${JSON.stringify(proc.exit)}): ${proc.output().slice(-800)}`);
      await speaker.peers();
      return true;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `tortie bgp run in ${netns} to answer on its control socket` });
  } catch (err) {
    await speaker.stop();
    throw err;
  }
  return speaker;
}
