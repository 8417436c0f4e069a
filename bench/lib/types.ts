/**
 * What a benchmark module is: a file `bench/<name>.bench.ts` whose default export takes a
 * BenchContext and returns rows. The runner (bench/run.ts) finds the files, runs them in name
 * order, prints every row in one table and writes bench/results.json.
 */

export interface BenchRow {
  /** What was measured, e.g. "append 100 B records (batches of 1000)". */
  name: string;
  /** The best figure of the trials (highest throughput, lowest latency). */
  value: number;
  unit: string;
  /** The figure measured in the same run that `value` is judged against. */
  baselineName?: string;
  baselineValue?: number;
  /** value / baselineValue; the runner computes it when both are given and this is not. */
  ratio?: number;
  /** The goal, as printed, e.g. ">= 60% of raw write" or "<= 10 ms". */
  target?: string;
  /** Whether the target is reached; left out when there is no target. */
  met?: boolean;
  /** Worst and best of the trials, so that noise on a shared machine is visible. */
  spread?: [number, number];
  /** How many trials `value` is the best of. */
  trials?: number;
  /** Every trial's figure, and the baseline's, in the order measured (results.json: medians, before/after comparisons). */
  runs?: number[];
  baselineRuns?: number[];
}

export interface BenchContext {
  /** --quick: shorter runs and a single trial, for a smoke test of the harness. */
  quick: boolean;
  /** Trials per figure (1 with --quick). Modules report the best and the spread. */
  trials: number;
  /** Seconds a timed load runs for each trial. */
  seconds: number;
  /** --tail-seconds: how long the console's live tail is fed 1,000 records/s (60; 5 with --quick). */
  tailSeconds: number;
  /** The repository root. */
  root: string;
  /** A fresh temporary directory, removed when the run ends. */
  tempDir(prefix: string): string;
  /** Runs fn when the whole run ends (also after a failure): stop children, close clients. */
  onCleanup(fn: () => Promise<void> | void): void;
  /** A line printed under the table (skipped peers, how a figure was taken). */
  note(text: string): void;
  /** Progress on stderr while a module runs. */
  log(text: string): void;
}

export type BenchModule = (ctx: BenchContext) => Promise<BenchRow[]>;
