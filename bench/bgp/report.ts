/**
 * Results: medians per (N, scenario, target), ratios to BIRD from the same run, a plain
 * table per block for the terminal, one Markdown table for the README, and JSON.
 */
import { median } from '../lib/stats.js';
import type { Measurement, Scenario } from './trial.js';

export interface Row {
  n: number;
  scenario: Scenario;
  target: string;
  label: string;
  runs: Measurement[];
  ok: number;
  failed: number;
  medianSeconds: number | null;
  medianPeakRssMiB: number | null;
  medianCpuSeconds: number | null;
  /** Median over runs of (time / BIRD's time in the same run); null without both. */
  timeVsBird: number | null;
  rssVsBird: number | null;
  errors: string[];
  note?: string;
}

function med(ms: Measurement[], pick: (m: Measurement) => number | null | undefined): number | null {
  return median(ms.map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
}

export function summarize(all: Measurement[], labels: Record<string, string>, notes: Record<string, string> = {}): Row[] {
  const keys: string[] = [];
  for (const m of all) {
    const k = `${m.n}|${m.scenario}|${m.target}`;
    if (!keys.includes(k)) keys.push(k);
  }
  const rows: Row[] = keys.map((k) => {
    const [n, scenario, target] = k.split('|') as [string, Scenario, string];
    const runs = all.filter((m) => m.n === Number(n) && m.scenario === scenario && m.target === target);
    const ok = runs.filter((m) => m.ok);
    const row: Row = {
      n: Number(n),
      scenario,
      target,
      label: labels[target] ?? target,
      runs,
      ok: ok.length,
      failed: runs.length - ok.length,
      medianSeconds: med(ok, (m) => m.seconds),
      medianPeakRssMiB: med(ok, (m) => (m.peakRssBytes == null ? null : m.peakRssBytes / 1048576)),
      medianCpuSeconds: med(ok, (m) => m.cpuSeconds),
      timeVsBird: null,
      rssVsBird: null,
      errors: [...new Set(runs.filter((m) => !m.ok).map((m) => m.error ?? 'failed'))],
    };
    if (notes[`${n}|${scenario}|${target}`]) row.note = notes[`${n}|${scenario}|${target}`];
    return row;
  });
  // Ratios are paired: each run's value over BIRD's in the same run (the two ran back to
  // back, so they shared the machine's load), then the median of those ratios. On a shared
  // machine this is steadier than a ratio of medians taken from different runs.
  for (const r of rows) {
    const bird = rows.find((b) => b.n === r.n && b.scenario === r.scenario && b.target === 'bird');
    if (!bird) continue;
    const paired = (pick: (m: Measurement) => number | null | undefined): number | null => {
      const ratios: number[] = [];
      for (const m of r.runs) {
        const b = bird.runs.find((x) => x.run === m.run && x.ok);
        const v = pick(m);
        const w = b ? pick(b) : undefined;
        if (m.ok && typeof v === 'number' && typeof w === 'number' && w > 0) ratios.push(v / w);
      }
      return median(ratios);
    };
    r.timeVsBird = paired((m) => m.seconds);
    if (r.target !== 'floor') r.rssVsBird = paired((m) => m.peakRssBytes);
  }
  return rows;
}

const fmt = (v: number | null, digits: number): string => (v === null ? '–' : v.toFixed(digits));
const secs = (v: number | null): string => (v === null ? '–' : v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
const ratio = (v: number | null): string => (v === null ? '–' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)}×`);

export const SCENARIO_TEXT: Record<Scenario, string> = {
  announce: 'announce N /32s: first UPDATE sent -> last prefix seen at the monitor',
  withdraw: 'withdraw all N: first withdrawal sent -> last withdrawal seen at the monitor',
  fib: 'announce N with kernel install: first UPDATE sent -> all N in the target namespace FIB',
};

/** A plain-text table for one (N, scenario). */
export function textTable(rows: Row[]): string {
  const head = ['target', 'median s', 'runs (s)', 'peak RSS MiB', 'CPU s', 'time ÷ BIRD', 'RSS ÷ BIRD'];
  const body = rows.map((r) => [
    r.label,
    r.ok === 0 ? 'FAILED' : secs(r.medianSeconds),
    r.runs.map((m) => (m.ok ? secs(m.seconds ?? null) : 'x')).join(' '),
    fmt(r.medianPeakRssMiB, 0),
    fmt(r.medianCpuSeconds, 2),
    ratio(r.timeVsBird),
    ratio(r.rssVsBird),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  for (const r of rows) {
    if (r.errors.length > 0) out.push(`  ${r.label}: ${r.failed} of ${r.runs.length} failed: ${r.errors[0]}`);
    if (r.note) out.push(`  ${r.label}: ${r.note}`);
  }
  return out.join('\n');
}

/** One Markdown table for everything, ready for the README. */
export function markdownTable(rows: Row[]): string {
  const out = [
    '| N | scenario | target | median s | peak RSS MiB | CPU s | time ÷ BIRD | RSS ÷ BIRD | runs ok |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.n.toLocaleString('en')} | ${r.scenario} | ${r.label} | ${r.ok === 0 ? 'failed' : secs(r.medianSeconds)} | ${fmt(r.medianPeakRssMiB, 0)} | ${fmt(r.medianCpuSeconds, 2)} | ${ratio(r.timeVsBird)} | ${ratio(r.rssVsBird)} | ${r.ok}/${r.runs.length} |`,
    );
  }
  return out.join('\n');
}
