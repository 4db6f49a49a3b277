/**
 * What a process cost, read from /proc: peak resident set (VmHWM) and CPU time
 * (utime + stime, in clock ticks of `getconf CLK_TCK`). Reads never throw: a process that
 * is gone reads as null.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck: number | undefined;

/** Clock ticks per second (USER_HZ), from getconf once; 100 on every Linux we know. */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** Peak resident set size in bytes (VmHWM), or null if the process is gone. */
export function peakRssBytes(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Current resident set size in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds the process has used (its own, not its children's), or null. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) are utime and stime; after ')' field 3 (state) is index 0.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return null;
  }
}

/** Sum over several pids (a daemon made of processes, e.g. FRR's bgpd + zebra); null if any is gone. */
export function sumOf(pids: readonly number[], read: (pid: number) => number | null): number | null {
  let total = 0;
  for (const pid of pids) {
    const v = read(pid);
    if (v === null) return null;
    total += v;
  }
  return total;
}

/** utime + stime + cutime + cstime: the process and the children it has already reaped. */
export function cpuSecondsWithReaped(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks();
  } catch {
    return null;
  }
}

/** The given pids and all their live descendants (a daemon's helpers, e.g. an `ip -batch`). */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [...roots];
  }
  for (const e of entries) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const todo = [...roots];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (out.includes(p)) continue;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * What a whole process tree has cost: CPU seconds of the live processes plus what they
 * reaped (so short-lived helpers count too), and the sum of the live processes' peak RSS.
 * Processes that vanish while being read are skipped; null only if a root is gone.
 */
export function treeCost(roots: readonly number[]): { cpuSeconds: number; peakRssBytes: number; pids: number } | null {
  const pids = processTree(roots);
  let cpu = 0;
  let rss = 0;
  for (const pid of pids) {
    const c = cpuSecondsWithReaped(pid);
    const r = peakRssBytes(pid);
    if (c === null || r === null) {
      if (roots.includes(pid)) return null;
      continue;
    }
    cpu += c;
    rss += r;
  }
  return { cpuSeconds: cpu, peakRssBytes: rss, pids: pids.length };
}
