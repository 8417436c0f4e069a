/**
 * Broker resident memory, idle, with 100 topics of 10 partitions: the real `webka start` (the
 * built CLI, packages/server/dist) in a child process on a temporary data directory, RSS read
 * from /proc after the topics are created and the broker has sat idle. Baseline: the same broker,
 * idle, before it has any topics. When the build fails (work in progress elsewhere), the source runs under tsx.
 *
 * Idle means settled: V8 keeps the young generation it grew while the topics were created (its
 * two semi-spaces, up to 32 MB) until its memory reducer runs, some 8-12 s after the last full
 * collection once the process allocates little. The figure is the RSS after 20 s of idle (3 s
 * with --quick); the note gives the RSS 3 s after the last request too.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { api, brokerNodeFlags, rssOf, startBroker } from './lib/children.js';
import { compare, sleep } from './lib/measure.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const TOPICS = 100;
const PARTITIONS = 10;
const MB = 1e6;

interface Running {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts the built CLI and waits for its "webka is ready" log line. */
async function startCli(ctx: BenchContext, cli: string): Promise<Running> {
  const dataDir = ctx.tempDir('rss');
  const proc = spawn(process.execPath, [...brokerNodeFlags(), cli, 'start', '--port', '0', '--kafka-port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  ctx.onCleanup(stop);
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`webka start exited with ${code}`)));
    const lines = readline.createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'webka is ready' && entry.url) resolve(Number(new URL(entry.url).port));
      } catch {
        // not a log line
      }
    });
  });
  return { pid: proc.pid!, port, stop };
}

function builtCli(ctx: BenchContext): string | null {
  try {
    execFileSync(process.execPath, [path.join(ctx.root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: ctx.root, stdio: 'pipe' });
  } catch (err) {
    ctx.note(`memory: the build failed, so the broker ran from source under tsx (its loader adds some MB): ${String((err as { stdout?: Buffer }).stdout ?? err).slice(0, 200)}`);
    return null;
  }
  const cli = path.join(ctx.root, 'packages/server/dist/cli/main.js');
  return fs.existsSync(cli) ? cli : null;
}

/** RSS after `idleMs` of idle, and 3 s into it. */
async function idleRss(pid: number, idleMs: number): Promise<{ at3s: number; end: number }> {
  await sleep(Math.min(3000, idleMs));
  const at3s = rssOf(pid) / MB;
  if (idleMs > 3000) await sleep(idleMs - 3000);
  return { at3s, end: rssOf(pid) / MB };
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  ctx.log('building packages/server (tsc -b)');
  const cli = builtCli(ctx);
  ctx.log(`creating ${TOPICS} topics of ${PARTITIONS} partitions`);
  const start = async (): Promise<Running> => (cli !== null ? startCli(ctx, cli) : startBroker(ctx));
  const idleMs = ctx.quick ? 3000 : 20_000;
  // One trial: resident memory hardly varies from run to run, and creating 1000 partitions
  // (each with its files fsynced) takes a while on a busy disk.
  const b = await start();
  const empty = await idleRss(b.pid, idleMs);
  for (let t = 0; t < TOPICS; t++) await api(b.port, 'POST', '/v1/clusters/default/topics', { name: `idle-${t}`, partitions: PARTITIONS });
  const full = await idleRss(b.pid, idleMs);
  await b.stop();
  const emptyIdle = empty.end;
  const withTopics = full.end;
  const flags = brokerNodeFlags().join(' ');
  ctx.note(
    `memory: RSS after ${idleMs / 1000} s idle: ${withTopics.toFixed(0)} MB with the topics ` +
      `(${full.at3s.toFixed(0)} MB 3 s after the last request), ${emptyIdle.toFixed(0)} MB before them ` +
      `(${empty.at3s.toFixed(0)} MB at 3 s); the broker is ${cli !== null ? 'the built CLI (webka start)' : 'the source under tsx'}${flags === '' ? '' : `, run with ${flags}`}.`,
  );
  return [
    compare({ name: `broker RSS idle, ${TOPICS} topics x ${PARTITIONS} partitions`, unit: 'MB', better: 'lower', runs: [withTopics], baselineName: 'the same broker before the topics', baselineRuns: [emptyIdle], max: 100 }),
  ];
}
