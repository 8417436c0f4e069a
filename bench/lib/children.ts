/**
 * Child processes of a benchmark: a broker, the bare baseline server and the load generator,
 * each on its own event loop (on 2 cores the server and the load then run side by side). Every
 * child is stopped by the run's cleanup, also when a module fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './types.js';
import type { Job, JobResult } from './load-jobs.js';

const libDir = path.dirname(fileURLToPath(import.meta.url));

export interface Child {
  process: ChildProcess;
  pid: number;
  /** The HTTP port of a server child (0 for the load generator). */
  port: number;
  /** A broker child's Kafka listener port (0 for other children). */
  kafkaPort: number;
  /** A broker child's data directory (where auth writes initial-admin-key). */
  dataDir?: string;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  /** CPU seconds used so far (user + system). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startChild(ctx: BenchContext, script: string, args: string[] = [], execArgv: string[] = []): Promise<Child> {
  const proc = fork(path.join(libDir, script), args, { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  ctx.onCleanup(stop);
  const { port, kafkaPort } = await new Promise<{ port: number; kafkaPort: number }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    proc.on('message', (m: { ready?: boolean; port?: number; kafkaPort?: number | null }) => {
      if (m.ready) resolve({ port: m.port ?? 0, kafkaPort: m.kafkaPort ?? 0 });
    });
  });
  return {
    process: proc,
    pid: proc.pid!,
    port,
    kafkaPort,
    rss: () => rssOf(proc.pid!),
    cpuSeconds: () => cpuSecondsOf(proc.pid!),
    stop,
  };
}

/** CPU seconds (user + system) a process has used, from /proc; 10 ms resolution. */
export function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which is in parentheses and may hold spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m === null ? NaN : Number(m[1]) * 1024;
}

/**
 * A broker child. With WEBKA_BENCH_CPU_PROF=<dir> in the environment it runs under --cpu-prof and
 * leaves a .cpuprofile there when it stops (see bench/README.md, "Profiling").
 */
export function startBroker(ctx: BenchContext, config: Record<string, unknown> = {}, execArgv: string[] = []): Promise<Child> {
  const profDir = process.env.WEBKA_BENCH_CPU_PROF;
  const prof = profDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)] : [];
  const dataDir = ctx.tempDir('broker');
  return startChild(ctx, 'broker-child.ts', [JSON.stringify({ dataDir, config })], [...prof, ...brokerNodeFlags(), ...execArgv]).then((child) => ({ ...child, dataDir }));
}

/**
 * Node flags for every broker child (and the memory module's `webka start`) from
 * WEBKA_BENCH_BROKER_FLAGS, space-separated: a V8 setting measured against the default, e.g.
 * WEBKA_BENCH_BROKER_FLAGS=--max-semi-space-size=2.
 */
export function brokerNodeFlags(): string[] {
  return (process.env.WEBKA_BENCH_BROKER_FLAGS ?? '').split(' ').filter(Boolean);
}

/**
 * The Durable Streams reference server (@durable-streams/server, in-memory) in its own process,
 * the baseline of bench/durable-streams.bench.ts. Profiled like a broker under
 * WEBKA_BENCH_CPU_PROF.
 */
export function startDurableStreamsReference(ctx: BenchContext, longPollMs = 20_000): Promise<Child> {
  const profDir = process.env.WEBKA_BENCH_CPU_PROF;
  const prof = profDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)] : [];
  return startChild(ctx, 'ds-reference-child.ts', [String(longPollMs)], prof);
}

export function startBare(ctx: BenchContext): Promise<Child> {
  return startChild(ctx, 'bare-child.ts');
}

export interface LoadGenerator {
  run<R extends JobResult>(job: Job): Promise<R>;
}

export async function startLoadGenerator(ctx: BenchContext): Promise<LoadGenerator> {
  const child = await startChild(ctx, 'load-child.ts');
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  child.process.on('message', (m: { id?: number; result?: JobResult; error?: string }) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(`load generator: ${m.error}`));
    else p?.resolve(m.result!);
  });
  child.process.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('the load generator exited'));
  });
  return {
    run<R extends JobResult>(job: Job): Promise<R> {
      const id = nextId++;
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (r: JobResult) => void, reject });
        child.process.send({ id, job });
      });
    },
  };
}

/** JSON over HTTP to a child server (admin calls: create a topic, say). A string body is sent as it is. */
export async function api(port: number, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text.length > 0 ? JSON.parse(text) : undefined;
}

export interface SseReaders {
  /** CPU seconds the readers' process has used so far. */
  cpuSeconds(): number;
  /** Opens n readers of `path` that report the latency of each `<open><send ms><close>` mark. */
  open(port: number, path: string, n: number, marks: { open: string; close: string }): Promise<void>;
  /** Forgets the latencies counted so far. */
  reset(): Promise<void>;
  /** Latencies counted since the last reset: how many, and their p50 and p99 in ms. */
  stats(): Promise<{ count: number; p50: number; p99: number }>;
  /** Closes every reader. */
  close(): Promise<void>;
}

/**
 * Raw-socket SSE readers in a child process of their own (lib/sse-readers-child.ts): the
 * fan-out benchmarks' subscribers, whose CPU time is then measured apart from the broker's.
 */
export async function startSseReaders(ctx: BenchContext): Promise<SseReaders> {
  const child = await startChild(ctx, 'sse-readers-child.ts');
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  child.process.on('message', (m: { id?: number; error?: string }) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(`SSE readers: ${m.error}`));
    else p?.resolve(m as Record<string, unknown>);
  });
  child.process.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('the SSE readers\' process exited'));
  });
  const call = (msg: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.process.send({ id, ...msg });
    });
  };
  return {
    cpuSeconds: () => child.cpuSeconds(),
    open: async (port, path, n, marks) => void (await call({ cmd: 'open', port, path, n, marks })),
    reset: async () => void (await call({ cmd: 'reset' })),
    stats: async () => (await call({ cmd: 'stats' })) as unknown as { count: number; p50: number; p99: number },
    close: async () => void (await call({ cmd: 'close' })),
  };
}
