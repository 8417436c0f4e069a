/**
 * Exactly-once consume-process-produce under crashes. A pipeline child process
 * (support/eos-pipeline.mjs: the SDK's group consumer and transactional producer) reads `in` and
 * writes f(record) to `out1` and g(record) to `out2`, committing the input offsets in the same
 * transaction, one transaction per batch. The test SIGKILLs the pipeline at random moments
 * (>= 10 times) and the broker (the real `webka start` on a real data directory, restarted on
 * the same port) a few times, restarting each. At the end a read_committed reader of both
 * outputs finds, per key, exactly f(in) and g(in) in input order: nothing lost, nothing twice.
 *
 * Negative control: the same pipeline with an idempotent producer and a separate offset commit
 * (at-least-once) under the same kills must make the same checker report duplicates.
 *
 * WEBKA_EOS_SEED repeats a run's kill schedule.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webka } from '@webka/client';
import { runCommand, startCliBroker, type CliBroker, type CliRun } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';

const PIPELINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/eos-pipeline.mjs');
const PARTITIONS = 3;
// Enough input that the pipeline cannot finish it before the last kill: 13 kills after 1-3 batches
// each, plus what a fast pipeline does in the 0-150 ms before a kill, stay well below 192 batches.
const INPUT_RECORDS = 9_600;
const BATCH = 50;
const KEYS = 24;
const PIPELINE_KILLS = 10;
const BROKER_KILLS = 3;

const seed = Number(process.env.WEBKA_EOS_SEED ?? Date.now() % 1_000_000);
/** mulberry32, so that a failing schedule can be repeated. */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const children: { child: CliRun['child'] }[] = [];
const dirs: string[] = [];
let finished = false;
after(() => {
  finished = true;
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for cond(), polling, or fails naming what it waited for and what the processes said. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (finished) throw new Error('the test was stopped');
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await sleep(50);
  }
}

type Mode = 'transactional' | 'at-least-once';

/**
 * The pipeline under a supervisor: restarted when it exits by itself (a failure it does not
 * retry, such as a rebalance during its transaction) or after the test kills it.
 */
class Supervised {
  run: CliRun | undefined;
  /** Batches finished (output written and offsets committed) since the last reset. */
  batches = 0;
  starts = 0;
  /** Exits the pipeline chose (non-zero), with the last lines of its stderr. */
  failures: string[] = [];
  #stopped = false;

  constructor(
    readonly url: string,
    readonly mode: Mode,
  ) {}

  start(): void {
    if (this.#stopped || finished) return;
    this.starts++;
    const run = runCommand(process.execPath, [PIPELINE, this.url, this.mode, 'in', 'out1', 'out2', `g-${this.mode}`, String(BATCH)], { PATH: process.env.PATH });
    this.run = run;
    children.push(run);
    let buffered = '';
    run.child.stdout!.on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        if (buffered.startsWith('{"done"')) this.batches++;
        buffered = buffered.slice(nl + 1);
      }
    });
    void run.exited.then((code) => {
      if (this.run !== run || this.#stopped) return;
      this.failures.push(`exit ${code}: ${run.stderr().trim().split('\n').slice(-3).join(' | ')}`);
      setTimeout(() => this.start(), 100);
    });
  }

  /** SIGKILLs the running pipeline and starts a new one. */
  async kill(): Promise<void> {
    const run = this.run!;
    this.run = undefined;
    run.child.kill('SIGKILL');
    await run.exited;
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
    return `pipeline (${this.starts} starts, failures: ${this.failures.slice(-5).join('; ') || 'none'}): ${this.run?.stderr().slice(-2000) ?? ''}`;
  }
}

interface Outcome {
  problems: string[];
  lost: number;
  duplicates: number;
  /** Records read_committed hides (aborted transactions): proof that kills cut transactions. */
  hidden: number;
  pipelineKills: number;
  brokerKills: number;
  failures: string[];
  ms: number;
  killsMs: number;
}

async function readPartition(webka: Webka, topic: string, partition: number, isolation: 'read_committed' | 'read_uncommitted') {
  const out: { offset: number; key: string | null; value: any }[] = [];
  for await (const r of webka.consumer({ topic, partition, follow: false, isolation })) out.push({ offset: r.offset, key: r.key as string | null, value: r.value });
  return out;
}

async function scenario(mode: Mode, seedOf: number): Promise<Outcome> {
  const started = Date.now();
  const random = prng(seedOf);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const dataDir = tempDir('webka-eos-');
  dirs.push(dataDir);
  const launch = async (port: number): Promise<CliBroker> => {
    if (finished) throw new Error('the test was stopped');
    const b = await startCliBroker(['--port', String(port), '--data-dir', dataDir, '--kafka-port', '-1', '--log-level', 'info']);
    children.push(b);
    return b;
  };
  let broker = await launch(0);
  const port = Number(new URL(broker.url).port);
  const webka = new Webka({ url: broker.url });
  const admin = webka.admin();
  for (const name of ['in', 'out1', 'out2']) await admin.createTopic({ name, partitions: PARTITIONS });
  const producer = webka.producer();
  await producer.send('in', Array.from({ length: INPUT_RECORDS }, (_, i) => ({ key: `k${i % KEYS}`, value: i })));
  await producer.close();

  const pipeline = new Supervised(broker.url, mode);
  const context = (): string => `${pipeline.stderr()}\nbroker: ${broker.stderr().slice(-2000)}`;
  pipeline.start();

  // 10 pipeline kills and 3 broker kills in a seeded order, each after the pipeline (re)started
  // and finished 1 to 3 batches, then 0 to 150 ms more: mostly inside the next transaction.
  const events: ('pipeline' | 'broker')[] = [...Array<'pipeline'>(PIPELINE_KILLS).fill('pipeline'), ...Array<'broker'>(BROKER_KILLS).fill('broker')];
  for (let i = events.length - 1; i > 0; i--) {
    const j = between(0, i);
    [events[i], events[j]] = [events[j], events[i]];
  }
  let pipelineKills = 0;
  let brokerKills = 0;
  for (const event of events) {
    const want = between(1, 3);
    pipeline.batches = 0;
    await until(`${want} batches before the next kill`, () => pipeline.batches >= want, 90_000, context);
    await sleep(between(0, 150));
    if (event === 'pipeline') {
      await pipeline.kill();
      pipelineKills++;
    } else {
      broker.child.kill('SIGKILL');
      await broker.exited;
      broker = await launch(port);
      brokerKills++;
    }
  }

  const killsMs = Date.now() - started;
  // Let the last pipeline finish: every input offset committed.
  await until(
    'the group to commit every input offset',
    async () => {
      const offsets = await admin.groupOffsets(`g-${mode}`).catch(() => []);
      const done = offsets.filter((o) => o.topic === 'in' && o.committed !== null && o.committed === o.highWatermark);
      return done.length === PARTITIONS;
    },
    40_000,
    context,
  );
  await pipeline.stop();

  // The input as it is in the log, per key in offset order.
  const inputByKey = new Map<string, string[]>();
  const valueOf = new Map<string, number>();
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of await readPartition(webka, 'in', p, 'read_uncommitted')) {
      const id = `${p}:${r.offset}`;
      valueOf.set(id, r.value);
      const list = inputByKey.get(r.key!) ?? [];
      list.push(id);
      inputByKey.set(r.key!, list);
    }
  }
  assert.equal(valueOf.size, INPUT_RECORDS);

  const problems: string[] = [];
  let lost = 0;
  let duplicates = 0;
  let hidden = 0;
  const expect: Record<string, (v: number) => Record<string, unknown>> = { out1: (v) => ({ v: v * 2 }), out2: (v) => ({ s: `#${v}` }) };
  for (const topic of ['out1', 'out2']) {
    const byKey = new Map<string, string[]>();
    const count = new Map<string, number>();
    for (let p = 0; p < PARTITIONS; p++) {
      const committed = await readPartition(webka, topic, p, 'read_committed');
      hidden += (await readPartition(webka, topic, p, 'read_uncommitted')).length - committed.length;
      for (const r of committed) {
        const id = r.value?.in as string;
        const v = valueOf.get(id);
        if (v === undefined) {
          problems.push(`${topic} ${p}@${r.offset}: ${JSON.stringify(r.value)} comes from no input record`);
          continue;
        }
        const { in: _in, ...rest } = r.value;
        if (JSON.stringify(rest) !== JSON.stringify(expect[topic](v))) problems.push(`${topic} ${p}@${r.offset}: ${JSON.stringify(r.value)} is not f(${v})`);
        count.set(id, (count.get(id) ?? 0) + 1);
        const list = byKey.get(r.key!) ?? [];
        list.push(id);
        byKey.set(r.key!, list);
      }
    }
    for (const id of valueOf.keys()) {
      const n = count.get(id) ?? 0;
      if (n === 0) lost++;
      if (n > 1) duplicates += n - 1;
      if (n !== 1 && problems.length < 20) problems.push(`${topic}: input ${id} written ${n} times`);
    }
    for (const [k, ids] of inputByKey) {
      const got = byKey.get(k) ?? [];
      if (JSON.stringify(got) !== JSON.stringify(ids) && problems.length < 40) {
        const at = ids.findIndex((id, i) => got[i] !== id);
        problems.push(`${topic} key ${k}: ${got.length} records for ${ids.length} inputs, first difference at #${at}: ${got[at]} for ${ids[at]}`);
      }
    }
  }
  broker.child.kill('SIGTERM');
  await broker.exited;
  return { problems, lost, duplicates, hidden, pipelineKills, brokerKills, failures: pipeline.failures, ms: Date.now() - started, killsMs };
}

function summary(name: string, o: Outcome): string {
  return (
    `${name}: seed ${seed}, ${o.pipelineKills} pipeline kills, ${o.brokerKills} broker kills, ${o.failures.length} pipeline exits on error, ` +
    `${o.lost} lost, ${o.duplicates} duplicates, ${o.hidden} aborted records hidden, ${o.ms} ms (kills done after ${o.killsMs} ms)`
  );
}

test(`transactions make the pipeline exactly once across SIGKILLs of pipeline and broker (seed ${seed})`, { timeout: 150_000 }, async () => {
  const o = await scenario('transactional', seed);
  console.log(summary('exactly-once pipeline', o));
  if (o.failures.length > 0) console.log(`pipeline exits: ${o.failures.join('\n  ')}`);
  assert.ok(o.pipelineKills >= PIPELINE_KILLS && o.brokerKills >= BROKER_KILLS);
  assert.ok(o.hidden > 0, 'no kill cut a transaction: the abort path went untested');
  assert.deepEqual(o.problems.slice(0, 20), [], `${o.problems.length} problems (seed ${seed})`);
  assert.equal(o.lost + o.duplicates, 0);
});

test('negative control: the same pipeline with idempotent produce and a separate commit shows duplicates', { timeout: 150_000 }, async () => {
  const o = await scenario('at-least-once', seed);
  console.log(summary('at-least-once pipeline', o));
  assert.ok(o.duplicates > 0, `the checker saw no duplicate under ${o.pipelineKills} kills without transactions`);
  assert.equal(o.lost, 0, `at-least-once lost records: ${o.problems.slice(0, 5).join('; ')}`);
});
