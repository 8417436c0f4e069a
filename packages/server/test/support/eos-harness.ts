/**
 * What the exactly-once pipeline tests share (test/transactions/exactly-once-pipeline.test.ts on
 * one broker, test/cluster/cluster-exactly-once.test.ts on three): the seed (WEBKA_EOS_SEED) and a
 * seeded PRNG (mulberry32) with the kill schedule drawn from it; a Harness that tracks the child
 * processes and polls (until); Supervised, support/eos-pipeline.mjs under a supervisor that
 * restarts it after it exits or is killed and counts (with WEBKA_EOS_TRACE, records) its batches;
 * and the output checker, which reads the input and both outputs through the reader it is given
 * and counts, per input record, the images lost and duplicated, the records read_committed hides,
 * and per key whether the outputs follow the input's order.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCommand, type CliRun } from './cli-broker.js';

export const PIPELINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'eos-pipeline.mjs');

export type Mode = 'transactional' | 'at-least-once';
export type Isolation = 'read_committed' | 'read_uncommitted';

/** WEBKA_EOS_SEED, or one from the clock. */
export const eosSeed = (): number => Number(process.env.WEBKA_EOS_SEED ?? Date.now() % 1_000_000);

export interface Random {
  /** In [0, 1). */
  next(): number;
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number;
  /** Shuffles list in place (Fisher-Yates, last to first) and answers it. */
  shuffle<T>(list: T[]): T[];
}

/** mulberry32, so that a failing schedule can be repeated. */
export function seeded(seed: number): Random {
  let s = seed;
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const between = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    between,
    shuffle(list) {
      for (let i = list.length - 1; i > 0; i--) {
        const j = between(0, i);
        [list[i], list[j]] = [list[j], list[i]];
      }
      return list;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The child processes of a test file, and its waits: end() (from after()) kills the ones still running and stops every wait. */
export class Harness {
  #children: { child: ChildProcess }[] = [];
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  track<T extends { child: ChildProcess }>(p: T): T {
    this.#children.push(p);
    return p;
  }

  end(): void {
    this.#ended = true;
    for (const c of this.#children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  }

  /** Waits for cond() (a throw counts as not yet), polling, or fails naming what it waited for and what the processes said. */
  async until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, context: () => string, pollMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      if (this.#ended) throw new Error('the test was stopped');
      try {
        if (await cond()) return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}\n${context()}`);
      await sleep(pollMs);
    }
  }
}

export interface PipelineSpec {
  url: string;
  mode: Mode;
  /** input, out1, out2 */
  topics: readonly [string, string, string];
  groupId: string;
  /** Input records per batch (per transaction). */
  batch: number;
  /** More environment, such as { WEBKA_EOS_TRACE: '1' } for each batch's input records in `trace`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The pipeline under a supervisor: restarted when it exits by itself (a failure it does not
 * retry, such as a rebalance during its transaction) or after the test kills it.
 */
export class Supervised {
  run: CliRun | undefined;
  /** Batches finished (output written and offsets committed) since the last reset. */
  batches = 0;
  /** Batches finished in all. */
  total = 0;
  starts = 0;
  /** With WEBKA_EOS_TRACE: every batch finished, the run (start) that did it and its input records in the order handed out. */
  trace: { start: number; ids: string[] }[] = [];
  /** Exits the pipeline chose (non-zero), with the last lines of its stderr. */
  failures: string[] = [];
  #stopped = false;

  constructor(
    readonly harness: Harness,
    readonly spec: PipelineSpec,
  ) {}

  get mode(): Mode {
    return this.spec.mode;
  }

  start(): void {
    if (this.#stopped || this.harness.ended) return;
    const start = ++this.starts;
    const { url, mode, topics, groupId, batch, env } = this.spec;
    const run = this.harness.track(runCommand(process.execPath, [PIPELINE, url, mode, ...topics, groupId, String(batch)], { PATH: process.env.PATH, ...env }));
    this.run = run;
    readline.createInterface({ input: run.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{"done"')) return;
      this.batches++;
      this.total++;
      const ids = (JSON.parse(line) as { in?: string[] }).in;
      if (ids !== undefined) this.trace.push({ start, ids });
    });
    void run.exited.then((code) => {
      if (this.run !== run || this.#stopped) return;
      this.failures.push(`exit ${code}: ${run.stderr().trim().split('\n').slice(-3).join(' | ')}`);
      setTimeout(() => this.start(), 100);
    });
  }

  /** SIGKILLs the running pipeline and starts a new one. */
  async kill(): Promise<void> {
    const run = this.run;
    this.run = undefined;
    if (run !== undefined) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    this.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const run = this.run;
    if (run === undefined) return;
    run.child.kill('SIGKILL');
    await run.exited;
  }

  stderr(): string {
    return `${this.mode} pipeline (${this.starts} starts, failures: ${this.failures.slice(-5).join('; ') || 'none'}): ${this.run?.stderr().slice(-1500) ?? ''}`;
  }
}

export type Kill = 'pipeline' | 'broker';

/** `pipeline` pipeline kills and `broker` broker kills in a seeded order. */
export function killOrder(random: Random, pipeline: number, broker: number): Kill[] {
  return random.shuffle([...Array<Kill>(pipeline).fill('pipeline'), ...Array<Kill>(broker).fill('broker')]);
}

/**
 * The moment of the next kill: once every pipeline has finished 1 to 3 (seeded) batches from now,
 * and 0 to 150 ms (seeded) more, so that the kill lands mostly inside the next batch's transaction.
 */
export async function killMoment(harness: Harness, random: Random, pipelines: Supervised[], timeoutMs: number, context: () => string, pollMs?: number): Promise<void> {
  const want = random.between(1, 3);
  for (const p of pipelines) p.batches = 0;
  const what = `${want} batches of ${pipelines.length === 1 ? 'the pipeline' : 'each pipeline'} before the next kill`;
  await harness.until(what, () => pipelines.every((p) => p.batches >= want), timeoutMs, context, pollMs);
  await sleep(random.between(0, 150));
}

export interface Fetched {
  offset: number;
  key: string | null;
  value: any;
}

/** Every record of a partition, from offset 0 to the end `isolation` may read. */
export type Reader = (topic: string, partition: number, isolation: Isolation) => Promise<Fetched[]>;

export interface Input {
  partitions: number;
  /** Each input record's value, by id ("<partition>:<offset>", as eos-pipeline.mjs names it in `in`). */
  valueOf: Map<string, number>;
  /** Per key, the ids in offset order. */
  byKey: Map<string, string[]>;
}

function append(map: Map<string, string[]>, key: string, item: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}

/** The input as it is in the log (read_uncommitted). */
export async function readInput(read: Reader, topic: string, partitions: number): Promise<Input> {
  const valueOf = new Map<string, number>();
  const byKey = new Map<string, string[]>();
  for (let p = 0; p < partitions; p++) {
    for (const r of await read(topic, p, 'read_uncommitted')) {
      const id = `${p}:${r.offset}`;
      valueOf.set(id, r.value);
      append(byKey, r.key!, id);
    }
  }
  return { partitions, valueOf, byKey };
}

/** f and g of eos-pipeline.mjs: what out1 and out2 hold, besides `in`, for an input record of value v. */
const IMAGES = [(v: number) => ({ v: v * 2 }), (v: number) => ({ s: `#${v}` })];

export interface Checked {
  problems: string[];
  /** Input records without an image, summed over both outputs. */
  lost: number;
  /** Images beyond the first of an input record, summed over both outputs. */
  duplicates: number;
  /** Records read_committed hides (aborted transactions): proof that kills cut transactions. */
  hidden: number;
  /** Per output topic, what read_committed returned (JSON), to compare the views of brokers. */
  views: Map<string, string>;
}

/**
 * Reads both outputs read_committed and checks them against the input: every record the image of
 * an input record, with its key (k<value mod keys>); each input record's image exactly once in
 * each output; per key, the images in input order. `label` prefixes each problem.
 */
export async function checkOutputs(read: Reader, input: Input, outputs: readonly [string, string], keys: number, label = ''): Promise<Checked> {
  const problems: string[] = [];
  let lost = 0;
  let duplicates = 0;
  let hidden = 0;
  const views = new Map<string, string>();
  for (const [t, topic] of outputs.entries()) {
    const byKey = new Map<string, string[]>();
    const where = new Map<string, string[]>();
    const view: Fetched[][] = [];
    for (let p = 0; p < input.partitions; p++) {
      const committed = await read(topic, p, 'read_committed');
      view.push(committed);
      hidden += (await read(topic, p, 'read_uncommitted')).length - committed.length;
      for (const r of committed) {
        const id = r.value?.in as string;
        const v = input.valueOf.get(id);
        if (v === undefined) {
          problems.push(`${label}${topic} ${p}@${r.offset}: ${JSON.stringify(r.value)} comes from no input record`);
          continue;
        }
        const { in: _in, ...rest } = r.value;
        if (JSON.stringify(rest) !== JSON.stringify(IMAGES[t](v)) || r.key !== `k${v % keys}`) problems.push(`${label}${topic} ${p}@${r.offset}: ${r.key} ${JSON.stringify(r.value)} is not the image of ${v}`);
        append(where, id, `${p}@${r.offset}`);
        append(byKey, r.key!, id);
      }
    }
    views.set(topic, JSON.stringify(view));
    for (const id of input.valueOf.keys()) {
      const n = where.get(id)?.length ?? 0;
      if (n === 0) lost++;
      if (n > 1) duplicates += n - 1;
      if (n !== 1 && problems.length < 20) problems.push(`${label}${topic}: input ${id} (value ${input.valueOf.get(id)}) written ${n} times${n > 0 ? ` (at ${where.get(id)!.join(', ')})` : ''}`);
    }
    for (const [key, ids] of input.byKey) {
      const got = byKey.get(key) ?? [];
      if (JSON.stringify(got) !== JSON.stringify(ids) && problems.length < 40) {
        const at = ids.findIndex((id, i) => got[i] !== id);
        problems.push(`${label}${topic} key ${key}: ${got.length} records for ${ids.length} inputs, first difference at #${at}: ${got[at]} (at ${where.get(got[at])?.join(', ')}) for ${ids[at]}`);
      }
    }
  }
  return { problems, lost, duplicates, hidden, views };
}
