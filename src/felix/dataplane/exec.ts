/**
 * Runs the kernel tools for one host: in felix's own network namespace, or, when `netns` is
 * set, inside that named namespace (nsenter, which switches only the network namespace;
 * `ip -n` for iproute2).
 */
import { run } from '../../kernel/exec.js';
import { netnsPath } from '../../kernel/netns.js';

export class HostExec {
  constructor(readonly netns?: string) {}

  /** Runs a tool inside the host's namespace and returns its stdout. */
  run(file: string, args: readonly string[], input?: string): Promise<string> {
    const options = { ...(input === undefined ? {} : { input }), timeoutMs: 60_000 };
    if (this.netns === undefined) return run(file, args, options);
    return run('nsenter', [`--net=${netnsPath(this.netns)}`, '--', file, ...args], options);
  }

  /** `ip` with the namespace chosen by iproute2 itself. */
  ip(args: readonly string[], input?: string): Promise<string> {
    return run('ip', [...(this.netns === undefined ? [] : ['-n', this.netns]), ...args], { ...(input === undefined ? {} : { input }), timeoutMs: 60_000 });
  }

  get where(): string {
    return this.netns === undefined ? 'this namespace' : `netns ${this.netns}`;
  }
}
