/**
 * Counting routes in a namespace's kernel table cheaply. /proc/PID/net/fib_triestat (for
 * any PID inside the namespace) gives the number of prefixes per FIB table, from a walk
 * done in the kernel: no route dump, no text per route. The runner polls it while a target
 * installs routes, backing off so that polling never costs more than a few % of a core.
 * A streaming `ip route show` line count confirms the total once, after the clock stopped.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Prefixes in the main table of the namespace PID lives in, or null if unreadable. */
export function mainTablePrefixes(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  } catch {
    return null;
  }
  // Sections start at a line "Main:" / "Local:" / "<id>:"; each has "Prefixes: N".
  const at = text.indexOf('\nMain:');
  if (at < 0) return null;
  const m = /Prefixes:\s+(\d+)/.exec(text.slice(at));
  return m ? Number(m[1]) : null;
}

/** Lines of `ip -4 route show table main` in a namespace, counted while streaming. */
export function countRoutes(netns: string, table = 'main'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', netns, '-4', 'route', 'show', 'table', table], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`ip route show in ${netns}: exit ${code}: ${err.trim()}`))));
  });
}
