/**
 * Exactly-once consume-process-produce under crashes. A pipeline child process
 * (support/eos-pipeline.mjs: the SDK's group consumer and transactional producer) reads `in` and
 * writes f(record) to `out1` and g(record) to `out2`, committing the input offsets in the same
 * transaction, one transaction per batch. The test SIGKILLs the pipeline at random moments
 * (>= 10 times) and the broker (the real `webka start` on a real data directory, restarted on
 * the same port) a few times, restarting each. At the end a read_committed reader of both
 * outputs finds, per key, exactly f(in) and g(in) in input order: nothing lost, nothing twice.
 * (The supervisor, the kill schedule and the checker are support/eos-harness.ts.)
 *
 * Negative control: the same pipeline with an idempotent producer and a separate offset commit
 * (at-least-once) under the same kills must make the same checker report duplicates.
 *
 * WEBKA_EOS_SEED repeats a run's kill schedule.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Webka } from '@webka/client';
import { startCliBroker, type CliBroker } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';
import { checkOutputs, eosSeed, Harness, killMoment, killOrder, readInput, seeded, Supervised, type Fetched, type Isolation, type Mode } from '../support/eos-harness.js';

const PARTITIONS = 3;
// Enough input that the pipeline cannot finish it before the last kill: 13 kills after 1-3 batches
// each, plus what a fast pipeline does in the 0-150 ms before a kill, stay well below 192 batches.
const INPUT_RECORDS = 9_600;
const BATCH = 50;
const KEYS = 24;
const PIPELINE_KILLS = 10;
const BROKER_KILLS = 3;

const seed = eosSeed();
const h = new Harness();
const dirs: string[] = [];
after(() => {
  h.end();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

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

async function readPartition(webka: Webka, topic: string, partition: number, isolation: Isolation): Promise<Fetched[]> {
  const out: Fetched[] = [];
  for await (const r of webka.consumer({ topic, partition, follow: false, isolation })) out.push({ offset: r.offset, key: r.key as string | null, value: r.value });
  return out;
}

async function scenario(mode: Mode, seedOf: number): Promise<Outcome> {
  const started = Date.now();
  const random = seeded(seedOf);
  const dataDir = tempDir('webka-eos-');
  dirs.push(dataDir);
  const launch = async (port: number): Promise<CliBroker> => {
    if (h.ended) throw new Error('the test was stopped');
    return h.track(await startCliBroker(['--port', String(port), '--data-dir', dataDir, '--kafka-port', '-1', '--log-level', 'info']));
  };
  let broker = await launch(0);
  const port = Number(new URL(broker.url).port);
  const webka = new Webka({ url: broker.url });
  const admin = webka.admin();
  for (const name of ['in', 'out1', 'out2']) await admin.createTopic({ name, partitions: PARTITIONS });
  const producer = webka.producer();
  await producer.send('in', Array.from({ length: INPUT_RECORDS }, (_, i) => ({ key: `k${i % KEYS}`, value: i })));
  await producer.close();

  const pipeline = new Supervised(h, { url: broker.url, mode, topics: ['in', 'out1', 'out2'], groupId: `g-${mode}`, batch: BATCH });
  const context = (): string => `${pipeline.stderr()}\nbroker: ${broker.stderr().slice(-2000)}`;
  pipeline.start();

  // 10 pipeline kills and 3 broker kills in a seeded order, each after the pipeline (re)started
  // and finished 1 to 3 batches, then 0 to 150 ms more: mostly inside the next transaction.
  let pipelineKills = 0;
  let brokerKills = 0;
  for (const event of killOrder(random, PIPELINE_KILLS, BROKER_KILLS)) {
    await killMoment(h, random, [pipeline], 90_000, context);
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
  await h.until(
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

  const read = (topic: string, p: number, isolation: Isolation) => readPartition(webka, topic, p, isolation);
  const input = await readInput(read, 'in', PARTITIONS);
  assert.equal(input.valueOf.size, INPUT_RECORDS);
  const { problems, lost, duplicates, hidden } = await checkOutputs(read, input, ['out1', 'out2'], KEYS);
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
