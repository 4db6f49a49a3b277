/**
 * One shell script inside a namespace (the host's, or a workload's): `nsenter --net=PATH sh
 * -c SCRIPT sh ARGS...`. Values reach the script only as positional arguments, never pasted
 * into its text. A failure is one line naming the namespace and what the tools printed.
 */
import { CommandError, oneLine, run } from '../../kernel/exec.js';
import { netnsPath } from '../../kernel/netns.js';
import { WorkloadError } from '../errors.js';

/** undefined: the caller's own namespace. */
export async function shIn(netns: string | undefined, script: string, args: readonly string[] = []): Promise<string> {
  const argv = ['-c', script, 'sh', ...args];
  try {
    if (netns === undefined) return await run('sh', argv, { timeoutMs: 20_000 });
    return await run('nsenter', [`--net=${netnsPath(netns)}`, 'sh', ...argv], { timeoutMs: 20_000 });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const where = netns === undefined ? 'host namespace' : `netns ${netns}`;
    throw new WorkloadError(`${where}: ${oneLine(err.stderr) || err.message}`);
  }
}
