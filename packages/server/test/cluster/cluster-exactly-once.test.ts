/**
 * Exactly-once consume-process-produce under crashes, on a cluster: three `webka start` brokers on
 * a private etcd, topics `in`, `out1`, `out2` of 3 partitions with 3 replicas and
 * min.insync.replicas 2. The pipeline (support/eos-pipeline.mjs, as in
 * test/transactions/exactly-once-pipeline.test.ts: the SDK's group consumer and transactional
 * producer, one transaction per batch of 50 input records writing f(record) to `out1`, g(record)
 * to `out2` and the input offsets) talks to broker 1, the entry broker, which forwards its group
 * calls, transaction calls and transactional produce to their coordinators and leaders. Its group
 * and transactional id are chosen so that the id's coordinator (the leader of its
 * `__transaction_state` partition) is broker 2 or 3 and the group's coordinator (the leader of
 * its `__consumer_offsets` partition) the other one. The supervisor, the kill schedule and the
 * output checker are shared with the single-broker test (support/eos-harness.ts).
 *
 * At seeded random moments (WEBKA_EOS_SEED), each after the pipeline finished 1 to 3 batches and
 * 0 to 150 ms more (mostly inside the next transaction), the test SIGKILLs the pipeline (6 times)
 * and broker 2 or 3 (3 times: each of them at least once, so both the transaction coordinator and
 * the group coordinator are killed), one broker at a time: the killed broker is started again on
 * its port and data directory once its lease has lapsed, and the next broker kill waits until it
 * is back in every ISR and leadership is back on the preferred replicas, so no ISR drops below 2
 * and every broker kill takes leaderships with it. Input is topped up as the pipeline goes (whole
 * batches), so it never runs dry before the last kill. At the end a read_committed reader of both
 * outputs (HTTP fetch with isolation=read_committed) through each broker in turn finds, per key,
 * exactly f(in) and g(in) in input order (nothing lost, nothing twice), and the same records
 * through every broker.
 *
 * Negative control: the same pipeline with an idempotent producer and a separate offset commit
 * (at-least-once; topics `alo-in`, `alo-out1`, `alo-out2`, its group's coordinator also on broker
 * 2 or 3) runs beside it on the same cluster under the same kills (each pipeline kill kills both
 * pipelines; the broker kills are shared), and the same checker must report duplicates, and no
 * loss, through every broker.
 *
 * Figures, for about 45 s on two cores (measured 42-44 s; it took 58-126 s with 10 pipeline and 4
 * broker kills): a pipeline kill costs 1.5-3.5 s (a new pipeline's Node start, then the killed
 * member's 2.5 s session), a broker kill 5-7 s (its 2 s lease lapsing, the restart, catching up
 * into every ISR and preferred leadership back), the cluster's start about 5 s, the last drain and
 * the checks about 5 s. 6 pipeline kills and 3 broker kills (2 and 3 once each, and a seeded
 * pick) are the fewest that still kill the transaction coordinator and the group coordinator
 * each at least once, cut transactions both ways, and give the control several kills in the
 * middle of a batch. The backlog (300 records for the transactional lane, 900 for the faster
 * at-least-once one) keeps both pipelines busy at every kill while leaving at most a few seconds
 * of input to drain after the last one. The 2 s lease and 3 s replica lag bound what a broker
 * kill costs; they are as before.
 *
 * Both pipelines report each batch's input records (WEBKA_EOS_TRACE), and the test checks how the
 * group handed them out: within a pipeline run each partition's records follow on from each
 * other, and a new run never starts a partition below an offset that an earlier run's finished
 * batch had committed (for the exactly-once pipeline this is asserted; for both it is reported).
 * A pipeline whose group stops committing for 20 s before its whole input is committed is reported
 * as unfinished. On a failure the brokers' output, their data directories and the batches are
 * copied to a directory the report names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webka } from '@webka/client';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, untilBrokers, type TestCluster } from '../support/cluster.js';
import type { CliBroker } from '../support/cli-broker.js';
import { checkOutputs, eosSeed, Harness, killMoment, killOrder, readInput, seeded, Supervised, type Fetched, type Isolation, type Mode } from '../support/eos-harness.js';
import { groupPartition, OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS } from '../../src/groups/offset-store.js';
import { TXN_TOPIC, TXN_TOPIC_PARTITIONS } from '../../src/transactions/txn-state-log.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster exactly-once tests: ${missing}`);

const C = '/v1/clusters/default';
const NODES = [1, 2, 3];
/** The pipelines' broker: never killed. */
const ENTRY = 1;
const PARTITIONS = 3;
const BATCH = 50;
const KEYS = 24;
/**
 * Input not yet consumed: before the pipelines start and before each kill's wait, a lane with less
 * than this is topped up to twice this (whole batches). The at-least-once pipeline runs about three
 * times as fast as the transactional one, which the kills wait for, so it needs three times the
 * backlog to be busy (between a send and its commit) when a kill comes rather than idle.
 */
const BACKLOG: Record<Mode, number> = { transactional: 300, 'at-least-once': 900 };
const PIPELINE_KILLS = 6;
const BROKER_KILLS = 3;
const ENV = {
  // a killed broker's registration lapses after 2 s; a dead follower leaves the ISR after 3 s
  WEBKA_COORDINATOR_LEASE_SECONDS: '2',
  WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000',
};
/** Polls of the cluster (each asks several brokers) every 100 ms: the machine has two cores. */
const POLL_MS = 100;

const seed = eosSeed();
const h = new Harness();
let cluster: TestCluster | undefined;
after(async () => {
  h.end();
  await cluster?.stop();
});

/**
 * What a pipeline's batches (its trace) say of the handing out. Within one run, each partition's
 * records must follow on from each other (a gap is a record never handed out, a step back one
 * handed out twice). Across runs, a run's first record of a partition must not lie below an offset
 * that an earlier run's finished batch committed there (a finished batch's offsets were committed
 * before its run printed it, and that run was dead before the next one started): the group handed
 * the new member a position below its committed offset.
 */
function irregularities(trace: Supervised['trace']): string[] {
  const out: string[] = [];
  const next = new Map<number, number>();
  /** The highest offset committed per partition by the batches of earlier runs, and by which. */
  const committed = new Map<number, { offset: number; by: string }>();
  const thisRun = new Map<number, { offset: number; by: string }>();
  let start = 0;
  trace.forEach((b, i) => {
    if (b.start !== start) {
      start = b.start;
      next.clear();
      for (const [p, c] of thisRun) if (c.offset > (committed.get(p)?.offset ?? -1)) committed.set(p, c);
      thisRun.clear();
    }
    for (const id of b.ids) {
      const [p, o] = id.split(':').map(Number);
      const want = next.get(p);
      if (want === undefined) {
        const c = committed.get(p);
        if (c !== undefined && o < c.offset && out.length < 20) out.push(`run ${b.start} began partition ${p} at offset ${o}, below offset ${c.offset} that ${c.by} had committed`);
      } else if (o !== want && out.length < 20) out.push(`run ${b.start}, batch #${i}: partition ${p} handed out offset ${o} after ${want - 1} (${o > want ? `a gap of ${o - want}` : 'a step back'})`);
      next.set(p, o + 1);
      thisRun.set(p, { offset: o + 1, by: `run ${b.start}'s batch #${i}` });
    }
  });
  return out;
}

interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  highWatermark: number;
}

interface Outcome {
  mode: Mode;
  groupId: string;
  problems: string[];
  /** Per broker (NODES' order): lost and duplicated images as its read_committed view shows them. */
  lost: number[];
  duplicates: number[];
  /** Records read_committed hides (aborted transactions) through the entry broker: proof that kills cut transactions. */
  hidden: number;
  input: number;
  batches: number;
  /** Set when the pipeline never committed its whole input: what the group had committed. */
  unfinished?: string;
  irregularities: string[];
  failures: string[];
}

interface Run {
  eos: Outcome;
  alo: Outcome;
  pipelineKills: number;
  brokerKills: string[];
  /** Broker kills that hit the transactional id's coordinator. */
  coordinatorKills: number;
  timeline: string[];
  ms: number;
  killsMs: number;
  evidence?: string;
}

async function describe(c: TestCluster, n: number, topic: string): Promise<PartitionInfo[]> {
  const r = await getJson(`${c.brokers.get(n)!.url}${C}/topics/${topic}`);
  if (r.status !== 200) throw new Error(`describe ${topic} through broker ${n}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.partitionInfo as PartitionInfo[];
}

/** Every record of partition p through the broker at url, from offset 0 to the end that `isolation` may read (the LSO or the high watermark). */
async function readAll(url: string, topic: string, p: number, isolation: Isolation): Promise<Fetched[]> {
  const records: Fetched[] = [];
  let offset = 0;
  for (;;) {
    const r = await fetch(`${url}${C}/topics/${topic}/partitions/${p}/records?offset=${offset}&maxRecords=10000&isolation=${isolation}`, { signal: AbortSignal.timeout(20_000) });
    const body = (await r.json()) as any;
    if (r.status !== 200) throw new Error(`fetch ${topic}/${p} (${isolation}) at ${offset} through ${url}: ${r.status} ${JSON.stringify(body)}`);
    for (const x of body.records) records.push({ offset: x.offset, key: x.key, value: x.value });
    const end = isolation === 'read_committed' ? body.lastStableOffset : body.highWatermark;
    if (body.nextOffset >= end || (body.records.length === 0 && body.nextOffset === offset)) return records;
    offset = body.nextOffset;
  }
}

/** [lastStableOffset, highWatermark] of partition p through the broker at url. */
async function ends(url: string, topic: string, p: number): Promise<[number, number]> {
  const r = await getJson(`${url}${C}/topics/${topic}/partitions/${p}/records?offset=0&maxRecords=1&isolation=read_committed`);
  if (r.status !== 200) throw new Error(`fetch ${topic}/${p} through ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return [r.body.lastStableOffset, r.body.highWatermark];
}

/** One pipeline and its topics. */
interface Lane {
  mode: Mode;
  topics: [string, string, string];
  groupId: string;
  pipeline: Supervised;
  produced: number;
  produce(n: number): Promise<void>;
}

async function scenario(seedOf: number): Promise<Run> {
  const started = Date.now();
  const random = seeded(seedOf);

  const c = (cluster = await startCluster('/eos', ENV));
  /** Every broker process run, killed ones included (their output is evidence). */
  const runs: { node: number; run: number; broker: CliBroker }[] = [];
  const ports = new Map<number, number>();
  await Promise.all(
    NODES.map(async (n) => {
      const b = await c.start(n);
      ports.set(n, Number(new URL(b.url).port));
      runs.push({ node: n, run: 1, broker: b });
    }),
  );
  const entry = c.brokers.get(ENTRY)!;
  await untilBrokers(entry, 3);

  const lanes: Lane[] = [];
  /** What happened when (ms since the start), for the report. */
  const timeline: string[] = [];
  const mark = (what: string): void => void timeline.push(`${Date.now() - started} ${what}`);
  /** What the last wait saw, for the report. */
  let seen = '';
  const warnings = (b: CliBroker): string =>
    b.lines
      .filter((l) => typeof l === 'object' && l !== null && l.level >= 40)
      .slice(-5)
      .map((l) => JSON.stringify(l).slice(0, 400))
      .join('\n    ');
  const context = (): string =>
    `seed ${seed}\ntimeline: ${timeline.join('; ')}\nlast seen: ${seen}\n${lanes.map((l) => l.pipeline.stderr()).join('\n')}\n` +
    NODES.map((n) => {
      const b = c.brokers.get(n);
      return b === undefined ? `broker ${n}: (not running)` : `broker ${n}: ${b.stderr().slice(-1000)}\n    ${warnings(b)}`;
    }).join('\n');
  const until = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> => h.until(what, cond, timeoutMs, context, POLL_MS);

  const eosTopics: [string, string, string] = ['in', 'out1', 'out2'];
  const aloTopics: [string, string, string] = ['alo-in', 'alo-out1', 'alo-out2'];
  for (const name of [...eosTopics, ...aloTopics]) {
    const r = await postJson(`${entry.url}${C}/topics`, { name, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    assert.equal(r.status, 201, `create ${name}: ${JSON.stringify(r.body)}`);
  }
  // the internal topics are defined on their first use: a transaction's init, a group call
  await until('a first transaction call (defines __transaction_state)', async () => (await postJson(`${entry.url}${C}/transactions`, { transactionalId: 'probe' })).status === 200, 30_000);
  await until('a first group call (defines __consumer_offsets)', async () => (await getJson(`${entry.url}${C}/groups/probe/offsets`)).status === 200, 30_000);
  const allTopics: Record<string, number> = { [TXN_TOPIC]: TXN_TOPIC_PARTITIONS, [OFFSETS_TOPIC]: OFFSETS_TOPIC_PARTITIONS };
  for (const t of [...eosTopics, ...aloTopics]) allTopics[t] = PARTITIONS;
  /** Every partition of every topic the pipelines use: 3 replicas in sync, led by its preferred (first) replica, as every running broker describes it. */
  const balanced = async (): Promise<boolean> => {
    for (const n of c.brokers.keys()) {
      for (const [t, count] of Object.entries(allTopics)) {
        const info = await describe(c, n, t);
        if (info.length !== count) return false;
        if (!info.every((p) => p.replicas.length === 3 && p.isr.length === 3 && p.leader === p.replicas[0])) return false;
      }
    }
    return true;
  };
  /** Asks for preferred-leader election until every partition is led by its preferred replica with every replica in sync. */
  const rebalance = async (what: string): Promise<void> => {
    let asked = 0;
    await until(
      `${what}: every partition of ${Object.keys(allTopics).join(', ')} with 3 replicas in sync and led by its preferred replica`,
      async () => {
        if (await balanced()) return true;
        if (Date.now() - asked > 1_000) {
          asked = Date.now();
          await postJson(`${entry.url}/v1/preferred-leader-election`, {});
        }
        return false;
      },
      60_000,
    );
  };
  await rebalance('start');
  mark('cluster ready');

  // The groups and the transactional id (eos-pipeline.mjs names it `<group>-pipeline`): the id's
  // coordinator on broker 2 or 3 and the group's on the other, so that the kills of 2 and 3 hit
  // both; the control's group coordinator on 2 or 3 as well.
  const txnInfo = await describe(c, ENTRY, TXN_TOPIC);
  const offsetsInfo = await describe(c, ENTRY, OFFSETS_TOPIC);
  const txnLeader = (g: string): number => txnInfo[groupPartition(`${g}-pipeline`, TXN_TOPIC_PARTITIONS)].leader;
  const groupLeader = (g: string): number => offsetsInfo[groupPartition(g, OFFSETS_TOPIC_PARTITIONS)].leader;
  const eosCandidates = Array.from({ length: 1000 }, (_, i) => `eos-${i}`);
  const eosGroup = eosCandidates.find((g) => txnLeader(g) !== ENTRY && groupLeader(g) !== ENTRY && groupLeader(g) !== txnLeader(g)) ?? eosCandidates.find((g) => txnLeader(g) !== ENTRY);
  assert.ok(eosGroup !== undefined, `a transactional id coordinated by broker 2 or 3 (leaders of ${TXN_TOPIC}: ${txnInfo.map((p) => p.leader).join(', ')})`);
  const aloGroup = Array.from({ length: 1000 }, (_, i) => `alo-${i}`).find((g) => groupLeader(g) !== ENTRY);
  assert.ok(aloGroup !== undefined);
  const transactionalId = `${eosGroup}-pipeline`;
  const txnPartition = groupPartition(transactionalId, TXN_TOPIC_PARTITIONS);
  mark(`transactional id ${transactionalId} (coordinator ${txnLeader(eosGroup)}, group coordinator ${groupLeader(eosGroup)}), control group ${aloGroup} (coordinator ${groupLeader(aloGroup)})`);

  // input: whole batches, keys k0..k23 spread over the partitions, values unique
  const webka = new Webka({ url: entry.url });
  const producer = webka.producer({ lingerMs: 0, retryBackoffMs: 50, retryBackoffMaxMs: 500 });
  const lane = (mode: Mode, topics: [string, string, string], groupId: string): Lane => {
    const l: Lane = {
      mode,
      topics,
      groupId,
      pipeline: new Supervised(h, { url: entry.url, mode, topics, groupId, batch: BATCH, env: { WEBKA_EOS_TRACE: '1' } }),
      produced: 0,
      async produce(n) {
        const from = l.produced;
        l.produced += n;
        await producer.send(topics[0], Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % KEYS}`, value: from + i })));
      },
    };
    lanes.push(l);
    return l;
  };
  const eos = lane('transactional', eosTopics, eosGroup);
  const alo = lane('at-least-once', aloTopics, aloGroup);
  /** Keeps at least the lane's BACKLOG of input records not yet consumed (as far as the finished batches tell). */
  const topUp = async (l: Lane): Promise<void> => {
    const left = l.produced - l.pipeline.total * BATCH;
    const want = 2 * BACKLOG[l.mode] - left;
    if (left < BACKLOG[l.mode]) await l.produce(want - (want % BATCH));
  };
  await Promise.all(lanes.map(topUp));
  for (const l of lanes) l.pipeline.start();

  // 6 pipeline kills (of both pipelines) and 3 broker kills in a seeded order, each after both
  // pipelines (re)started and finished 1 to 3 batches, then 0 to 150 ms more: mostly inside the
  // next transaction. The broker victims: 2 and 3 once each and a seeded pick, in a seeded order.
  const events = killOrder(random, PIPELINE_KILLS, BROKER_KILLS);
  const victims = random.shuffle([2, 3, ...Array.from({ length: BROKER_KILLS - 2 }, () => random.between(2, 3))]);
  let pipelineKills = 0;
  const brokerKills: string[] = [];
  let coordinatorKills = 0;
  const done = (): string => lanes.map((l) => `${l.mode} ${l.pipeline.total} batches of ${l.produced / BATCH}`).join(', ');
  for (const event of events) {
    await Promise.all(lanes.map(topUp));
    await killMoment(h, random, lanes.map((l) => l.pipeline), 60_000, context, POLL_MS);
    if (event === 'pipeline') {
      await Promise.all(lanes.map((l) => l.pipeline.kill()));
      pipelineKills++;
      mark(`pipelines killed (${done()})`);
      continue;
    }
    const victim = victims[brokerKills.length];
    const coordinator = (await describe(c, ENTRY, TXN_TOPIC))[txnPartition].leader;
    const offsetsNow = await describe(c, ENTRY, OFFSETS_TOPIC);
    const roles = [
      victim === coordinator ? 'transaction coordinator' : '',
      ...lanes.map((l) => (offsetsNow[groupPartition(l.groupId, OFFSETS_TOPIC_PARTITIONS)].leader === victim ? `${l.mode} group coordinator` : '')),
    ].filter((x) => x !== '');
    if (victim === coordinator) coordinatorKills++;
    brokerKills.push(`${victim}${roles.length > 0 ? ` (${roles.join(', ')})` : ''}`);
    await c.kill(victim);
    mark(`broker ${brokerKills[brokerKills.length - 1]} killed (${done()})`);
    // its lease lapses; then it starts again on its port and data directory
    await untilBrokers(entry, 2);
    const b = await c.start(victim, ['--port', String(ports.get(victim))]);
    assert.equal(Number(new URL(b.url).port), ports.get(victim), `broker ${victim} restarted on its port`);
    runs.push({ node: victim, run: runs.filter((r) => r.node === victim).length + 1, broker: b });
    mark(`broker ${victim} ready`);
    await untilBrokers(entry, 3);
    // back in every ISR (and leading its preferred partitions again) before anything else is killed
    await rebalance(`after the kill of broker ${victim}`);
    mark(`broker ${victim} in sync and leading again`);
  }
  const killsMs = Date.now() - started;

  // Let the last pipelines finish: every input offset committed. The input's ends are the highest
  // high watermarks any broker reports (the acknowledged input). A pipeline whose group commits
  // nothing more for 20 s is given up on (and reported).
  const inputEnds = new Map<Lane, number[]>();
  for (const l of lanes) {
    const views = await Promise.all(NODES.map((n) => describe(c, n, l.topics[0])));
    inputEnds.set(l, Array.from({ length: PARTITIONS }, (_, p) => Math.max(...views.map((v) => v[p].highWatermark))));
  }
  const unfinished = new Map<Lane, string>();
  const committedSum = new Map<Lane, { sum: number; at: number }>();
  await until(
    'every pipeline to commit its whole input, or to stop making progress',
    async () => {
      seen = '';
      let waiting = false;
      for (const l of lanes) {
        const r = await getJson(`${entry.url}${C}/groups/${l.groupId}/offsets`);
        if (r.status !== 200) return false;
        const offsets = (r.body.offsets as { topic: string; partition: number; committed: number | null }[]).filter((o) => o.topic === l.topics[0]);
        const want = inputEnds.get(l)!;
        const line = `${l.mode}: input ends ${want.join(', ')}, committed ${JSON.stringify(offsets.map((o) => [o.partition, o.committed]))}, ${l.pipeline.total} batches`;
        seen += `${line}; `;
        if (want.every((end, p) => offsets.some((o) => o.partition === p && o.committed === end))) {
          unfinished.delete(l);
          continue;
        }
        const sum = offsets.reduce((s, o) => s + (o.committed ?? 0), 0);
        const before = committedSum.get(l);
        if (before === undefined || before.sum !== sum) committedSum.set(l, { sum, at: Date.now() });
        else if (Date.now() - before.at > 20_000) {
          unfinished.set(l, line);
          continue;
        }
        waiting = true;
      }
      return !waiting;
    },
    90_000,
  );
  mark(unfinished.size === 0 ? 'every input offset committed' : `given up on ${[...unfinished.values()].join('; ')}`);
  await Promise.all(lanes.map((l) => l.pipeline.stop()));
  await producer.close();

  // Every broker settles on the same ends, with no transaction left open.
  await until(
    'every broker to report, per output partition, the same high watermark and a last stable offset equal to it',
    async () => {
      for (const l of lanes) {
        for (const topic of l.topics.slice(1)) {
          for (let p = 0; p < PARTITIONS; p++) {
            const at = await Promise.all(NODES.map((n) => ends(c.brokers.get(n)!.url, topic, p)));
            if (!at.every(([lso, hw]) => lso === hw && hw === at[0][1])) return false;
          }
        }
      }
      return true;
    },
    30_000,
  );

  const check = async (l: Lane): Promise<Outcome> => {
    const [inputTopic, ...outputs] = l.topics;
    const reader = (n: number) => (topic: string, p: number, isolation: Isolation) => readAll(c.brokers.get(n)!.url, topic, p, isolation);
    const input = await readInput(reader(ENTRY), inputTopic, PARTITIONS);
    assert.equal(input.valueOf.size, l.produced, `${inputTopic} holds every record produced`);
    assert.equal(new Set(input.valueOf.values()).size, l.produced, `no record of ${inputTopic} was stored twice`);
    // Each broker's read_committed view is checked in full, and compared with the entry broker's.
    const views = new Map<number, Awaited<ReturnType<typeof checkOutputs>>>();
    for (const n of NODES) views.set(n, await checkOutputs(reader(n), input, [outputs[0], outputs[1]], KEYS, `broker ${n}: `));
    const problems = NODES.flatMap((n) => views.get(n)!.problems);
    for (const n of NODES) {
      for (const topic of outputs) if (views.get(n)!.views.get(topic) !== views.get(ENTRY)!.views.get(topic)) problems.push(`broker ${n}: ${topic}: read_committed differs from broker ${ENTRY}'s`);
    }
    return {
      mode: l.mode,
      groupId: l.groupId,
      problems,
      lost: NODES.map((n) => views.get(n)!.lost),
      duplicates: NODES.map((n) => views.get(n)!.duplicates),
      hidden: views.get(ENTRY)!.hidden,
      input: l.produced,
      batches: l.pipeline.total,
      unfinished: unfinished.get(l),
      irregularities: irregularities(l.pipeline.trace),
      failures: l.pipeline.failures,
    };
  };
  const result: Run = { eos: await check(eos), alo: await check(alo), pipelineKills, brokerKills, coordinatorKills, timeline, ms: Date.now() - started, killsMs };
  if (result.eos.problems.length > 0 || result.eos.unfinished !== undefined || result.alo.unfinished !== undefined || result.alo.lost.some((n) => n > 0)) result.evidence = keepEvidence(c, runs, lanes);
  return result;
}

/** Copies every broker run's output, the data directories and the pipelines' batches to a directory that outlives the test; answers its path. */
function keepEvidence(c: TestCluster, runs: { node: number; run: number; broker: CliBroker }[], lanes: Lane[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `webka-eos-cluster-seed${seed}-`));
  for (const l of lanes) fs.writeFileSync(path.join(dir, `batches-${l.mode}.jsonl`), l.pipeline.trace.map((b) => JSON.stringify(b)).join('\n'));
  for (const { node, run, broker } of runs) {
    fs.writeFileSync(path.join(dir, `broker-${node}-run-${run}.stdout.log`), broker.lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
    fs.writeFileSync(path.join(dir, `broker-${node}-run-${run}.stderr.log`), broker.stderr());
  }
  for (const [node, d] of c.dirs) fs.cpSync(d, path.join(dir, `data-${node}`), { recursive: true });
  return dir;
}

function summary(r: Run, o: Outcome): string {
  return (
    `${o.mode} pipeline on a cluster: seed ${seed}, group ${o.groupId}, ${o.input} input records, ${o.batches} batches, ${r.pipelineKills} pipeline kills, ` +
    `broker kills ${r.brokerKills.join(', ')}, ${o.failures.length} pipeline exits on error, lost ${o.lost.join('/')} and duplicates ${o.duplicates.join('/')} (through brokers ${NODES.join('/')}), ` +
    `${o.hidden} aborted records hidden, ${r.ms} ms (kills done after ${r.killsMs} ms)` +
    (o.unfinished === undefined ? '' : `; UNFINISHED: ${o.unfinished}`) +
    (o.irregularities.length === 0 ? '' : `; the group handed out: ${o.irregularities.slice(0, 5).join('; ')}`) +
    (r.evidence === undefined ? '' : `; broker logs and data kept in ${r.evidence}`)
  );
}

let running: Promise<Run> | undefined;
/** The one run both tests judge (started by whichever asks first). */
const outcome = (): Promise<Run> => (running ??= scenario(seed));

const opts = { skip: missing ?? false, timeout: 175_000 };

test(`transactions make the pipeline exactly once on a cluster across SIGKILLs of the pipeline and of brokers, the transaction coordinator included (seed ${seed})`, opts, async () => {
  const r = await outcome();
  const o = r.eos;
  console.log(summary(r, o));
  console.log(`timeline (ms): ${r.timeline.join('; ')}`);
  if (o.failures.length > 0) console.log(`pipeline exits: ${o.failures.join('\n  ')}`);
  assert.ok(r.pipelineKills >= PIPELINE_KILLS && r.brokerKills.length >= BROKER_KILLS);
  assert.ok(r.coordinatorKills >= 1, `no broker kill hit the transaction coordinator: ${r.brokerKills.join(', ')}`);
  assert.equal(o.unfinished, undefined, `the pipeline committed its whole input${o.irregularities.length === 0 ? '' : ` (the group handed out: ${o.irregularities.join('; ')})`}`);
  assert.ok(o.hidden > 0, 'no kill cut a transaction: the abort path went untested');
  assert.deepEqual(o.problems.slice(0, 30), [], `${o.problems.length} problems (seed ${seed})${o.irregularities.length === 0 ? '' : `; the group handed out: ${o.irregularities.join('; ')}`}`);
  assert.deepEqual({ lost: o.lost, duplicates: o.duplicates }, { lost: NODES.map(() => 0), duplicates: NODES.map(() => 0) }, 'nothing lost, nothing twice, through every broker');
  assert.deepEqual(o.irregularities, [], 'the group handed out every input record in order, from the committed offsets');
});

test('negative control: the same pipeline with idempotent produce and a separate commit, under the same kills, shows duplicates', opts, async () => {
  const r = await outcome();
  const o = r.alo;
  console.log(summary(r, o));
  if (o.failures.length > 0) console.log(`pipeline exits: ${o.failures.join('\n  ')}`);
  assert.ok(o.duplicates[NODES.indexOf(ENTRY)] > 0, `the checker saw no duplicate under ${r.pipelineKills} pipeline kills and ${r.brokerKills.length} broker kills without transactions`);
  assert.equal(o.unfinished, undefined, `the at-least-once pipeline committed its whole input${o.irregularities.length === 0 ? '' : ` (the group handed out: ${o.irregularities.join('; ')})`}`);
  assert.deepEqual(o.lost, NODES.map(() => 0), `at-least-once lost records: ${o.problems.filter((p) => p.includes('written 0 times')).slice(0, 5).join('; ')}`);
});
