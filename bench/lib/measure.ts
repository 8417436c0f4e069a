/**
 * Helpers shared by benchmark modules: trials, best-of with spread, percentiles and the rows
 * that compare a figure with its baseline.
 */
import type { BenchContext, BenchRow } from './types.js';

export type Better = 'higher' | 'lower';

export interface Summary {
  value: number;
  spread: [number, number];
  trials: number;
}

/** Best of the runs (highest throughput or lowest latency), with the worst and best beside it. */
export function summarize(runs: number[], better: Better = 'higher'): Summary {
  const lo = Math.min(...runs);
  const hi = Math.max(...runs);
  return { value: better === 'higher' ? hi : lo, spread: [lo, hi], trials: runs.length };
}

/**
 * Runs each measurement ctx.trials times, alternating between them, so that noise from other work
 * on the machine falls on the figure and its baseline alike. Returns the runs of each.
 */
export async function alternate(ctx: BenchContext, ...measures: Array<() => Promise<number> | number>): Promise<number[][]> {
  const runs: number[][] = measures.map(() => []);
  for (let t = 0; t < ctx.trials; t++) {
    for (let i = 0; i < measures.length; i++) runs[i].push(await measures[i]());
  }
  return runs;
}

/**
 * A server child's CPU time per request, kept per label across trials. Beside requests/s it
 * moves less when other work takes the machine's cores, so it compares two servers more
 * steadily; the HTTP modules print it under their throughput rows.
 */
export class CpuPerRequest {
  #runs = new Map<string, number[]>();

  /** Runs `work` (a load run against `server`) and records the server's CPU µs per request. */
  async time<R extends { total: number }>(server: { cpuSeconds(): number }, label: string, work: () => Promise<R>): Promise<R> {
    const c0 = server.cpuSeconds();
    const r = await work();
    const runs = this.#runs.get(label) ?? [];
    runs.push(((server.cpuSeconds() - c0) * 1e6) / r.total);
    this.#runs.set(label, runs);
    return r;
  }

  runs(label: string): number[] {
    const runs = this.#runs.get(label);
    if (runs === undefined) throw new Error(`no CPU time was recorded as "${label}"`);
    return runs;
  }
}

/** The p-th percentile (0..100) of already sorted values, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface CompareSpec {
  name: string;
  unit: string;
  runs: number[];
  baselineName?: string;
  baselineRuns?: number[];
  better?: Better;
  /** Target on value/baseline (e.g. 0.6 for ">= 60% of the baseline"). */
  minRatio?: number;
  /** Target on the value itself. */
  min?: number;
  max?: number;
}

/** A row of the best run beside the best baseline run, with its target judged. */
export function compare(spec: CompareSpec): BenchRow {
  const better = spec.better ?? 'higher';
  const s = summarize(spec.runs, better);
  const row: BenchRow = { name: spec.name, value: s.value, unit: spec.unit, spread: s.spread, trials: s.trials, runs: spec.runs };
  if (spec.baselineRuns !== undefined && spec.baselineRuns.length > 0) {
    row.baselineRuns = spec.baselineRuns;
    row.baselineName = spec.baselineName;
    row.baselineValue = summarize(spec.baselineRuns, better).value;
    row.ratio = row.value / row.baselineValue;
  }
  if (spec.minRatio !== undefined) {
    row.target = `>= ${Math.round(spec.minRatio * 100)}% of baseline`;
    row.met = row.ratio !== undefined && row.ratio >= spec.minRatio;
  } else if (spec.min !== undefined) {
    row.target = `>= ${formatNumber(spec.min)} ${spec.unit}`;
    row.met = row.value >= spec.min;
  } else if (spec.max !== undefined) {
    row.target = `<= ${formatNumber(spec.max)} ${spec.unit}`;
    row.met = row.value <= spec.max;
  }
  return row;
}

/** 1234567 -> "1,234,567"; small and fractional numbers keep three significant digits. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
