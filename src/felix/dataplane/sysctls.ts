/**
 * Per-interface and global sysctls, written as /proc/sys files (one shell process for the
 * whole batch, inside the host's namespace) and read back the same way. A file that cannot
 * be written because its interface is not there yet is pending and tried again later.
 */
import type { HostExec } from './exec.js';

const WRITE = `for kv; do p="\${kv%%=*}"; v="\${kv#*=}"; { printf '%s\\n' "$v" > "/proc/sys/$p"; } 2>/dev/null || echo "FAIL $p"; done`;
// \`read\` is a shell builtin: no process per file (thousands of interfaces are read in one go).
const READ = `for p; do v='?'; { read -r v < "/proc/sys/$p"; } 2>/dev/null; printf '%s=%s\\n' "$p" "$v"; done`;

export class Sysctls {
  private applied = new Map<string, string>();
  private verify = true;
  pending = 0;

  constructor(private readonly exec: HostExec) {}

  /** The next apply reads the current values instead of trusting what it wrote. */
  invalidate(): void {
    this.verify = true;
  }

  async apply(desired: Map<string, string>): Promise<number> {
    let todo: [string, string][];
    if (this.verify) {
      const current = await this.read([...desired.keys()]);
      todo = [...desired].filter(([p, v]) => current.get(p) !== v);
    } else {
      todo = [...desired].filter(([p, v]) => this.applied.get(p) !== v);
    }
    this.pending = 0;
    const failed = new Set<string>();
    if (todo.length > 0) {
      const out = await this.exec.run('sh', ['-c', WRITE, 'sh', ...todo.map(([p, v]) => `${p}=${v}`)]);
      for (const line of out.split('\n')) if (line.startsWith('FAIL ')) failed.add(line.slice(5));
    }
    this.pending = failed.size;
    this.applied = new Map([...desired].filter(([p]) => !failed.has(p)));
    this.verify = failed.size > 0;
    return todo.length;
  }

  async read(paths: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (paths.length === 0) return out;
    const text = await this.exec.run('sh', ['-c', READ, 'sh', ...paths]);
    for (const line of text.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
    }
    return out;
  }
}
