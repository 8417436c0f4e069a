/**
 * `npm run bench`: runs every benchmark module (bench/*.bench.ts) in name order, prints one table
 * of figures beside their baselines and targets, and writes bench/results.json.
 *
 *   npm run bench                        all modules, 3 trials each figure
 *   npm run bench -- --quick             one short trial each (checks the harness, not the speed)
 *   npm run bench -- --only http-produce run the named modules (comma-separated, or repeat --only)
 *   npm run bench -- --trials 5 --seconds 4
 *   npm run bench -- --only console --tail-seconds 10   the console's live tail for 10 s (60 by default)
 *
 * A module that throws is reported as failed and the others still run; the exit code is 1 then.
 * Targets that are not met do not fail the run: they are figures to report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatNumber } from './lib/measure.js';
import type { BenchContext, BenchModule, BenchRow } from './lib/types.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchDir);

interface Args {
  quick: boolean;
  only: string[];
  tailSeconds?: number;
  trials?: number;
  seconds?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--only') args.only.push(...value().split(',').filter(Boolean));
    else if (a === '--trials') args.trials = Number(value());
    else if (a === '--seconds') args.seconds = Number(value());
    else if (a === '--tail-seconds') args.tailSeconds = Number(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick] [--only module[,module]] [--trials N] [--seconds S] [--tail-seconds S]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}; try --help`);
  }
  return args;
}

interface ModuleResult {
  module: string;
  ms: number;
  rows: BenchRow[];
  error?: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all = fs
    .readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort();
  const unknown = args.only.filter((o) => !all.includes(o));
  if (unknown.length > 0) throw new Error(`no module ${unknown.join(', ')}; modules: ${all.join(', ')}`);
  const chosen = args.only.length > 0 ? all.filter((m) => args.only.includes(m)) : all;

  const cleanups: Array<() => Promise<void> | void> = [];
  const notes: string[] = [];
  const ctx: BenchContext = {
    quick: args.quick,
    trials: args.trials ?? (args.quick ? 1 : 3),
    seconds: args.seconds ?? (args.quick ? 0.7 : 2),
    tailSeconds: args.tailSeconds ?? (args.quick ? 5 : 60),
    root,
    tempDir(prefix) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `webka-bench-${prefix}-`));
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
    note(text) {
      notes.push(text);
    },
    log(text) {
      process.stderr.write(`  ${text}\n`);
    },
  };
  const stopAll = async (): Promise<void> => {
    // newest first: a client closes before the server it talks to, a directory goes last
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch (err) {
        process.stderr.write(`cleanup failed: ${(err as Error).message}\n`);
      }
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }

  const started = Date.now();
  const results: ModuleResult[] = [];
  for (const name of chosen) {
    process.stderr.write(`${name}\n`);
    const t0 = Date.now();
    try {
      const mod = (await import(pathToFileURL(path.join(benchDir, `${name}.bench.ts`)).href)) as { default: BenchModule };
      const rows = await mod.default(ctx);
      for (const r of rows) if (r.ratio === undefined && r.baselineValue !== undefined) r.ratio = r.value / r.baselineValue;
      results.push({ module: name, ms: Date.now() - t0, rows });
    } catch (err) {
      results.push({ module: name, ms: Date.now() - t0, rows: [], error: (err as Error).stack ?? String(err) });
    } finally {
      await stopAll();
    }
  }

  process.stdout.write(renderTable(results, ctx) + '\n');
  for (const r of results) if (r.error) process.stdout.write(`\n${r.module} FAILED: ${r.error}\n`);
  if (notes.length > 0) process.stdout.write('\nNotes:\n' + notes.map((n) => `- ${n}\n`).join(''));
  const total = (Date.now() - started) / 1000;
  process.stdout.write(`\n${chosen.length} module(s) in ${total.toFixed(1)} s; best of ${ctx.trials} trial(s), spread = worst..best; results in bench/results.json\n`);

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    quick: ctx.quick,
    trials: ctx.trials,
    seconds: ctx.seconds,
    modules: results,
    notes,
  };
  fs.writeFileSync(path.join(benchDir, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  process.exitCode = results.some((r) => r.error) ? 1 : 0;
}

function renderTable(results: ModuleResult[], ctx: BenchContext): string {
  const header = ['benchmark', 'value', 'unit', 'baseline (same run)', 'baseline', 'ratio', 'target', 'met', 'spread'];
  const lines: string[][] = [];
  const sections: Array<[number, string]> = [];
  for (const r of results) {
    sections.push([lines.length, `[${r.module}]${r.error ? ' FAILED' : ''} ${(r.ms / 1000).toFixed(1)} s`]);
    for (const row of r.rows) {
      lines.push([
        row.name,
        formatNumber(row.value),
        row.unit,
        row.baselineName ?? '',
        row.baselineValue === undefined ? '' : formatNumber(row.baselineValue),
        row.ratio === undefined ? '' : `${(row.ratio * 100).toFixed(0)}%`,
        row.target ?? '',
        row.met === undefined ? '' : row.met ? 'yes' : 'NO',
        row.spread === undefined || ctx.trials < 2 ? '' : `${formatNumber(row.spread[0])}..${formatNumber(row.spread[1])}`,
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = new Set([1, 4, 5]);
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let s = 0;
  for (let i = 0; i <= lines.length; i++) {
    while (s < sections.length && sections[s][0] === i) out.push(sections[s++][1]);
    if (i < lines.length) out.push(fmt(lines[i]));
  }
  return out.join('\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
