/**
 * Kafka-client transactions on a cluster of three `webka start` brokers (a private etcd, each
 * broker with a Kafka listener). Topics have three replicas, min.insync.replicas 2 and several
 * partitions, so their leaders differ. A transactional id's coordinator is the leader of its
 * `__transaction_state` partition (FindCoordinator key type 1 names it); clients send
 * InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn there, produce to each
 * partition's leader (which asks the coordinator whether the partition was added to the open
 * transaction), and send TxnOffsetCommit to the group's coordinator.
 *
 * Checked with real clients:
 * 1. kafkajs, bootstrapped from one broker that does not coordinate its id, commits a
 *    transaction spanning six partitions (on at least two leaders), aborts a second and commits
 *    a third; a read_committed kafkajs consumer and read_committed HTTP fetches through every
 *    broker return exactly the committed records, in order; read_uncommitted shows all three.
 * 2. kafkajs consume-process-produce: a group (whose coordinator is not the transaction's)
 *    consumes the input, a transactional producer writes outputs and sendOffsets; the group's
 *    committed offsets are the committed transactions' (never the aborted one's), through
 *    OffsetFetch and HTTP on every broker, and a new member resumes from them.
 * 3. librdkafka (Debian's python3-confluent-kafka): a consume-process-produce transaction
 *    commits, the next one aborts; read_committed (librdkafka and HTTP) returns only the first's
 *    output, and the group resumes where the committed one left it.
 * 4. Raw requests: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn at a broker
 *    that does not coordinate the id answer NOT_COORDINATOR; a transactional batch produced
 *    straight to a partition's leader (not the coordinator) for a partition never added to the
 *    transaction is refused with INVALID_TXN_STATE and writes nothing, while one for an added
 *    partition is taken; in the next transaction, that partition (not added again) is refused too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';
import { RawKafka } from '../support/raw-kafka.js';
import { needDebianPackages, CONFLUENT_KAFKA } from '../support/debian-packages.js';
import { run } from '../support/kafka-clients.js';
import { InitProducerId, Produce } from '../../src/kafka/messages-core.js';
import { FindCoordinator } from '../../src/kafka/messages-groups.js';
import { AddOffsetsToTxn, AddPartitionsToTxn, EndTxn } from '../../src/kafka/messages-txn.js';
import { encodeBatch } from '../../src/storage/record-batch.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../kafka/confluent-clients.py');

const missing = needEtcd();
if (missing !== null) console.log(`# skipping Kafka cluster transaction tests: ${missing}`);
const noLibrdkafka = missing === null ? needDebianPackages(CONFLUENT_KAFKA) : missing;
if (missing === null && noLibrdkafka !== null) console.log(`# skipping the librdkafka cluster transaction test: ${noLibrdkafka}`);
const opts = { skip: missing ?? false, timeout: 90_000 };

const NODES = [1, 2, 3];
const C = '/v1/clusters/default';
const NOT_COORDINATOR = 16;
const INVALID_TXN_STATE = 48;

let cluster: TestCluster;

before(async () => {
  if (missing !== null) return;
  cluster = await startCluster('/kafka-transactions', { WEBKA_COORDINATOR_LEASE_SECONDS: '2', WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000' }, { kafka: true });
  await Promise.all(NODES.map((n) => cluster.start(n)));
  await untilBrokers(cluster.brokers.get(1)!, 3);
});
after(async () => {
  await cluster?.stop();
});

const url = (n: number): string => cluster.brokers.get(n)!.url;
const port = (n: number): number => cluster.kafkaPorts.get(n)!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const show = (a: { status: number; body: unknown }): string => `${a.status} ${JSON.stringify(a.body)}`;

function kafkaVia(n: number, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [`127.0.0.1:${port(n)}`], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 3_000 } });
}

/** Creates a topic (3 replicas, min.insync.replicas 2); waits until every broker describes a leader and 3 in-sync replicas per partition; answers the leaders. */
async function topic(name: string, partitions: number): Promise<number[]> {
  const created = await postJson(`${url(1)}${C}/topics`, { name, partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, show(created));
  return until(async () => {
    const views = await Promise.all(NODES.map((n) => getJson(`${url(n)}${C}/topics/${name}`)));
    if (views.some((v) => v.status !== 200)) return undefined;
    const leaders = views.map((v) => (v.body.partitionInfo as { leader: number; isr: number[] }[]).map((p) => (p.isr.length === 3 ? p.leader : -1)));
    const first = leaders[0];
    return first.length === partitions && first.every((l) => l > 0) && leaders.every((l) => l.join() === first.join()) ? first : undefined;
  }, `topic ${name}: every broker names one leader and 3 in-sync replicas per partition`);
}

/** The node FindCoordinator names (key type 0: a group, 1: a transactional id), asked of broker `via`. */
async function coordinatorOf(key: string, keyType: 0 | 1, via = 1): Promise<number> {
  const raw = await RawKafka.connect(port(via));
  try {
    return await until(async () => {
      const r = await raw.call(FindCoordinator, 1, { key, keyType });
      return r.errorCode === 0 && NODES.includes(r.nodeId) ? (r.nodeId as number) : undefined;
    }, `FindCoordinator (key type ${keyType}) names a coordinator for "${key}"`);
  } finally {
    raw.close();
  }
}

/** The first of `prefix`-0, -1, … whose coordinator (key type `keyType`) satisfies `ok`, and that coordinator. */
async function pick(prefix: string, keyType: 0 | 1, ok: (node: number) => boolean): Promise<{ key: string; node: number }> {
  for (let i = 0; i < 60; i++) {
    const key = `${prefix}-${i}`;
    const node = await coordinatorOf(key, keyType);
    if (ok(node)) return { key, node };
  }
  assert.fail(`no key ${prefix}-* with a suitable coordinator (key type ${keyType})`);
}

interface HttpRecord {
  offset: number;
  key: string | null;
  value: string;
}

/** Every record of a partition through broker n, from offset 0, as text. */
async function readHttp(n: number, name: string, p: number, isolation: 'read_committed' | 'read_uncommitted'): Promise<HttpRecord[]> {
  const r = await getJson(`${url(n)}${C}/topics/${name}/partitions/${p}/records?offset=0&maxRecords=10000&valueFormat=text&isolation=${isolation}`);
  if (r.status !== 200) throw new Error(`fetch ${name}/${p} (${isolation}) through broker ${n}: ${show(r)}`);
  return (r.body.records as HttpRecord[]).map((x) => ({ offset: x.offset, key: x.key, value: x.value }));
}

/** Values per partition through every broker: `broker n` -> [values of partition 0, …]. */
async function valuesEverywhere(name: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted'): Promise<Record<string, string[][]>> {
  const out: Record<string, string[][]> = {};
  for (const n of NODES) {
    out[`broker ${n}`] = [];
    for (let p = 0; p < partitions; p++) out[`broker ${n}`].push((await readHttp(n, name, p, isolation)).map((x) => x.value));
  }
  return out;
}

const everywhere = <T>(want: T): Record<string, T> => Object.fromEntries(NODES.map((n) => [`broker ${n}`, want]));

/** Polls `probe` until it deep-equals `want`; then asserts it (so a mismatch fails with the diff). */
async function settle<T>(what: string, probe: () => Promise<T>, want: T, ms = 30_000): Promise<void> {
  let last: T | undefined;
  await until(async () => {
    last = await probe();
    try {
      assert.deepEqual(last, want);
      return true;
    } catch {
      return undefined;
    }
  }, what, ms).catch(() => undefined);
  assert.deepEqual(last, want, `${what}: not reached in ${ms} ms`);
}

/** A group's committed offsets of `name` through every broker's HTTP API: `broker n` -> { partition: offset }. */
async function groupOffsetsEverywhere(group: string, name: string): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const n of NODES) {
    const r = await getJson(`${url(n)}${C}/groups/${group}/offsets`);
    if (r.status !== 200) throw new Error(`offsets of ${group} through broker ${n}: ${show(r)}`);
    out[`broker ${n}`] = Object.fromEntries((r.body.offsets as { topic: string; partition: number; committed: number | null }[]).filter((o) => o.topic === name && o.committed !== null).map((o) => [String(o.partition), o.committed!]));
  }
  return out;
}

/** A transactional id's state as broker n describes it over HTTP. */
async function txnState(n: number, id: string): Promise<{ state: string; producerId: number; producerEpoch: number; partitions: unknown[] }> {
  const r = await getJson(`${url(n)}${C}/transactions/${id}`);
  assert.equal(r.status, 200, `describe ${id} through broker ${n}: ${show(r)}`);
  return r.body;
}

test('kafkajs bootstrapped from one broker commits, aborts and commits transactions over six partitions; read_committed (kafkajs and HTTP on every broker) returns exactly the committed records', opts, async (t) => {
  const T = 'ktx-orders';
  const P = 6;
  const leaders = await topic(T, P);
  assert.ok(new Set(leaders).size >= 2, `the partitions have at least two leaders: ${leaders.join(', ')}`);
  // an id whose coordinator does not lead every partition, and a bootstrap broker that is not the coordinator
  const { key: id, node: coordinator } = await pick('ktx-js', 1, (node) => leaders.some((l) => l !== node));
  const bootstrap = NODES.find((n) => n !== coordinator)!;
  for (const n of NODES) assert.equal(await coordinatorOf(id, 1, n), coordinator, `broker ${n} names the same transaction coordinator`);
  t.diagnostic(`leaders ${leaders.join(',')}; "${id}" coordinated by ${coordinator}; kafkajs bootstrapped from ${bootstrap}`);

  const kafka = kafkaVia(bootstrap, 'ktx-js');
  const producer: Producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30_000, allowAutoTopicCreation: false });
  await producer.connect();
  const records = (tag: string): { partition: number; key: string; value: string }[] =>
    Array.from({ length: P }, (_, partition) => [0, 1].map((i) => ({ partition, key: `${tag}-k${partition}-${i}`, value: `${tag}-p${partition}-${i}` }))).flat();
  const described: string[] = [];
  try {
    for (const [tag, ending] of [['t1', 'commit'], ['t2', 'abort'], ['t3', 'commit']] as const) {
      const txn = await producer.transaction();
      const sent = await txn.send({ topic: T, acks: -1, messages: records(tag) });
      assert.deepEqual(sent.map((s) => s.errorCode), sent.map(() => 0), `${tag}: every partition's batch taken`);
      assert.deepEqual(sent.map((s) => s.partition).sort((a, b) => a - b), Array.from({ length: P }, (_, p) => p), `${tag}: written to all ${P} partitions`);
      const open = await txnState(bootstrap, id);
      assert.equal(open.state, 'Ongoing', `${tag} is open at its coordinator`);
      assert.equal(open.partitions.length, P, `${tag}: every partition was added to the transaction: ${JSON.stringify(open.partitions)}`);
      await (ending === 'commit' ? txn.commit() : txn.abort());
      described.push((await txnState(NODES.find((n) => n !== coordinator && n !== bootstrap)!, id)).state);
    }
  } finally {
    await producer.disconnect();
  }
  assert.deepEqual(described, ['CompleteCommit', 'CompleteAbort', 'CompleteCommit'], 'each transaction ended as asked, as another broker describes it');

  const want = Array.from({ length: P }, (_, p) => [`t1-p${p}-0`, `t1-p${p}-1`, `t3-p${p}-0`, `t3-p${p}-1`]);
  const all = Array.from({ length: P }, (_, p) => ['t1', 't2', 't3'].flatMap((tx) => [`${tx}-p${p}-0`, `${tx}-p${p}-1`]));
  await settle('read_committed over HTTP, through every broker, returns transactions 1 and 3 only, in order', () => valuesEverywhere(T, P, 'read_committed'), everywhere(want));
  await settle('read_uncommitted over HTTP returns all three transactions (the aborted records were written)', () => valuesEverywhere(T, P, 'read_uncommitted'), everywhere(all));

  // a read_committed kafkajs consumer (bootstrapped from the same broker) reads the committed records, each once, in order
  const consumer: Consumer = kafka.consumer({ groupId: 'ktx-js-reader', readUncommitted: false, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  const got: string[][] = Array.from({ length: P }, () => []);
  try {
    await consumer.subscribe({ topic: T, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void got[partition].push(message.value!.toString()) });
    await until(async () => (got.flat().length >= want.flat().length ? true : undefined), `the read_committed consumer reads ${want.flat().length} records`);
    await sleep(1_000); // anything more would arrive now
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(got, want, 'the read_committed kafkajs consumer read exactly transactions 1 and 3, per partition in order');
});

test('kafkajs consume-process-produce: sendOffsets of a committed transaction become the group\'s offsets (group coordinator other than the transaction\'s), an aborted one\'s never', opts, async (t) => {
  const IN = 'ktx-in';
  const OUT = 'ktx-out';
  await topic(IN, 3);
  const outLeaders = await topic(OUT, 6);
  assert.ok(new Set(outLeaders).size >= 2, `the output partitions have at least two leaders: ${outLeaders.join(', ')}`);
  const { key: id, node: txnCoordinator } = await pick('ktx-pipe', 1, () => true);
  const { key: group, node: groupCoordinator } = await pick('ktx-pipe-group', 0, (node) => node !== txnCoordinator);
  assert.notEqual(groupCoordinator, txnCoordinator, 'the group and the transaction have different coordinators');
  const bootstrap = NODES.find((n) => n !== txnCoordinator && n !== groupCoordinator)!;
  t.diagnostic(`output leaders ${outLeaders.join(',')}; "${id}" coordinated by ${txnCoordinator}, group "${group}" by ${groupCoordinator}; kafkajs bootstrapped from ${bootstrap}`);
  const kafka = kafkaVia(bootstrap, 'ktx-pipe');

  // input: 4 records per partition
  const plain = kafka.producer({ allowAutoTopicCreation: false });
  await plain.connect();
  await plain.send({ topic: IN, acks: -1, messages: [0, 1, 2].flatMap((partition) => [0, 1, 2, 3].map((i) => ({ partition, value: `in-${partition}-${i}` }))) });

  const consumer: Consumer = kafka.consumer({ groupId: group, readUncommitted: false, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  const consumed: { partition: number; offset: number; value: string }[] = [];
  await consumer.subscribe({ topic: IN, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => void consumed.push({ partition, offset: Number(message.offset), value: message.value!.toString() }) });
  await until(async () => (consumed.length >= 12 ? true : undefined), 'the group member consumes the 12 input records');

  const producer: Producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30_000, allowAutoTopicCreation: false });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const fetchOffsets = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await admin.fetchOffsets({ groupId: group, topics: [IN] }))[0].partitions.filter((p) => p.offset !== '-1').map((p) => [String(p.partition), p.offset]));
  /** One transaction: outputs of the inputs at offsets [from, to) of each partition (to partition 2*p + offset%2), then sendOffsets `to`. */
  const transaction = async (tag: string, from: number, to: number, ending: 'commit' | 'abort'): Promise<void> => {
    const inputs = consumed.filter((m) => m.offset >= from && m.offset < to);
    assert.equal(inputs.length, 3 * (to - from), `${tag}: the member consumed offsets ${from} to ${to - 1} of each input partition`);
    const txn = await producer.transaction();
    await txn.send({ topic: OUT, acks: -1, messages: inputs.map((m) => ({ partition: 2 * m.partition + (m.offset % 2), value: `${tag}:${m.value}` })) });
    await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: IN, partitions: [0, 1, 2].map((partition) => ({ partition, offset: String(to) })) }] });
    await (ending === 'commit' ? txn.commit() : txn.abort());
  };
  try {
    assert.deepEqual(await fetchOffsets(), {}, 'nothing committed before the first transaction');
    await transaction('t1', 0, 2, 'commit');
    assert.deepEqual(await fetchOffsets(), { 0: '2', 1: '2', 2: '2' }, 'after the commit, OffsetFetch (at the group coordinator) gives what the transaction sent');
    await settle('after the commit every broker shows the transaction\'s offsets over HTTP', () => groupOffsetsEverywhere(group, IN), everywhere({ 0: 2, 1: 2, 2: 2 }));

    await transaction('t2', 2, 4, 'abort');
    assert.deepEqual(await fetchOffsets(), { 0: '2', 1: '2', 2: '2' }, 'the aborted transaction\'s sendOffsets did not move the group');
    await sleep(500);
    assert.deepEqual(await groupOffsetsEverywhere(group, IN), everywhere({ 0: 2, 1: 2, 2: 2 }), 'nor a little later, through any broker');

    await transaction('t3', 2, 4, 'commit');
    assert.deepEqual(await fetchOffsets(), { 0: '4', 1: '4', 2: '4' }, 'the next committed transaction\'s offsets');
    await settle('every broker shows them', () => groupOffsetsEverywhere(group, IN), everywhere({ 0: 4, 1: 4, 2: 4 }));
    const state = await txnState(bootstrap, id);
    assert.equal(state.state, 'CompleteCommit', 'the last transaction committed, as the bootstrap broker describes it');
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
  }

  // outputs: t1 for offsets 0-1 of each input partition, t3 for 2-3; none of t2
  const want = Array.from({ length: 6 }, (_, q) => {
    const p = Math.floor(q / 2);
    return q % 2 === 0 ? [`t1:in-${p}-0`, `t3:in-${p}-2`] : [`t1:in-${p}-1`, `t3:in-${p}-3`];
  });
  await settle('read_committed output through every broker: the committed transactions\' records only', () => valuesEverywhere(OUT, 6, 'read_committed'), everywhere(want));
  const withAborted = want.map((vals) => [vals[0], vals[1].replace('t3:', 't2:'), vals[1]]);
  assert.deepEqual(await valuesEverywhere(OUT, 6, 'read_uncommitted'), everywhere(withAborted), 'read_uncommitted: the aborted transaction\'s output was written between them');

  // a new member of the group resumes from the committed offsets: only records written since
  await plain.send({ topic: IN, acks: -1, messages: [0, 1, 2].map((partition) => ({ partition, value: `late-${partition}` })) });
  await plain.disconnect();
  const resumed = kafka.consumer({ groupId: group, readUncommitted: false, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await resumed.connect();
  const again: { partition: number; offset: number; value: string }[] = [];
  try {
    await resumed.subscribe({ topic: IN, fromBeginning: true });
    await resumed.run({ autoCommit: false, eachMessage: async ({ partition, message }) => void again.push({ partition, offset: Number(message.offset), value: message.value!.toString() }) });
    await until(async () => (again.length >= 3 ? true : undefined), 'the resumed member reads the three new inputs');
    await sleep(500);
  } finally {
    await resumed.disconnect();
    await admin.disconnect();
  }
  assert.deepEqual(again.sort((a, b) => a.partition - b.partition), [0, 1, 2].map((partition) => ({ partition, offset: 4, value: `late-${partition}` })), 'the group resumed at the committed offsets (4 in each partition)');
});

type Event = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function python(...args: string[]): Promise<Event[]> {
  const r = await run('/usr/bin/python3', [SCRIPT, ...args], '', 60_000);
  assert.equal(r.code, 0, `confluent-clients.py ${args.join(' ')}: exit ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}
const one = (events: Event[], name: string): Event => {
  const e = events.find((x) => x.event === name);
  assert.ok(e, `no ${name} event in ${JSON.stringify(events).slice(0, 500)}`);
  return e;
};

test('librdkafka (python3-confluent-kafka) consume-process-produce on the cluster: a committed transaction is read by read_committed readers, an aborted one is not, and the group keeps the committed offsets', { ...opts, skip: missing ?? noLibrdkafka ?? false }, async (t) => {
  const IN = 'ktx-py-in';
  const OUT = 'ktx-py-out';
  await topic(IN, 2);
  const outLeaders = await topic(OUT, 6);
  assert.ok(new Set(outLeaders).size >= 2, `the output partitions have at least two leaders: ${outLeaders.join(', ')}`);
  const { key: id, node: txnCoordinator } = await pick('ktx-py', 1, () => true);
  const { key: group, node: groupCoordinator } = await pick('ktx-py-group', 0, (node) => node !== txnCoordinator);
  const via = NODES.find((n) => n !== txnCoordinator)!;
  const bootstrap = `127.0.0.1:${port(via)}`;
  t.diagnostic(`output leaders ${outLeaders.join(',')}; "${id}" coordinated by ${txnCoordinator}, group "${group}" by ${groupCoordinator}; librdkafka bootstrapped from ${via}`);

  one(await python('produce', bootstrap, IN, '6', 'c', 'false'), 'produced');
  const committed = one(await python('txn', bootstrap, IN, OUT, group, id, 'commit', '6'), 'ended');
  assert.deepEqual(committed.keys, ['c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'c-5'], 'the committed transaction processed the six inputs');
  one(await python('produce', bootstrap, IN, '4', 'x', 'false'), 'produced');
  // resumes from the committed offsets: only the 4 new records, whose transaction aborts
  const aborted = one(await python('txn', bootstrap, IN, OUT, group, id, 'abort', '4'), 'ended');
  assert.deepEqual(aborted.keys, ['x-0', 'x-1', 'x-2', 'x-3'], 'the group resumed at the committed transaction\'s offsets');

  const readCommitted = one(await python('read', bootstrap, OUT, '6', 'read_committed'), 'read');
  assert.ok(readCommitted.complete, 'librdkafka reached the end of every partition (read_committed)');
  assert.deepEqual(readCommitted.records.map((r: Event) => r.key).sort(), committed.keys, 'librdkafka read_committed: the committed transaction\'s output only');
  for (const r of readCommitted.records) assert.match(r.value, /^processed-value-/);
  const readUncommitted = one(await python('read', bootstrap, OUT, '6', 'read_uncommitted'), 'read');
  assert.deepEqual(readUncommitted.records.map((r: Event) => r.key).sort(), [...committed.keys, ...aborted.keys].sort(), 'read_uncommitted: both transactions\' output was written');
  assert.ok(new Set(readUncommitted.records.map((r: Event) => r.partition)).size >= 2, 'the output went to several partitions');

  const keysEverywhere = async (): Promise<Record<string, string[]>> => {
    const out: Record<string, string[]> = {};
    for (const n of NODES) {
      const keys: string[] = [];
      for (let p = 0; p < 6; p++) for (const r of await readHttp(n, OUT, p, 'read_committed')) keys.push(r.key!);
      out[`broker ${n}`] = keys.sort();
    }
    return out;
  };
  await settle('HTTP read_committed through every broker: the committed output only', keysEverywhere, everywhere(committed.keys as string[]));
  await settle('the group\'s offsets are the committed transaction\'s (6 inputs), through every broker', async () => {
    const all = await groupOffsetsEverywhere(group, IN);
    return Object.fromEntries(Object.entries(all).map(([b, o]) => [b, Object.values(o).reduce((s, x) => s + x, 0)]));
  }, everywhere(6));
  for (const n of NODES) assert.equal((await txnState(n, id)).state, 'CompleteAbort', `the last transaction aborted, as broker ${n} describes it`);
});

test('raw requests: transaction calls elsewhere than the coordinator answer NOT_COORDINATOR; a transactional batch at a leader for a partition not added to the transaction is refused and writes nothing', opts, async (t) => {
  const T = 'ktx-verify';
  const P = 6;
  const leaders = await topic(T, P);
  const candidates = await (async () => {
    for (let i = 0; i < 60; i++) {
      const id = `ktx-raw-${i}`;
      const node = await coordinatorOf(id, 1);
      const elsewhere = leaders.map((l, p) => (l !== node ? p : -1)).filter((p) => p >= 0);
      if (elsewhere.length >= 2) return { id, coordinator: node, elsewhere };
    }
    return undefined;
  })();
  assert.ok(candidates !== undefined, `an id whose coordinator leads at most ${P - 2} partitions (leaders ${leaders.join(', ')})`);
  const { id, coordinator, elsewhere } = candidates;
  const [refusedP, addedP] = elsewhere;
  const refusedLeader = leaders[refusedP];
  const addedLeader = leaders[addedP];
  t.diagnostic(`leaders ${leaders.join(',')}; "${id}" coordinated by ${coordinator}; partition ${refusedP} (leader ${refusedLeader}) never added, ${addedP} (leader ${addedLeader}) added`);
  const others = NODES.filter((n) => n !== coordinator);

  const conns = new Map<number, RawKafka>();
  for (const n of NODES) conns.set(n, await RawKafka.connect(port(n)));
  try {
    for (const n of others) {
      const r = await conns.get(n)!.call(InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 });
      assert.equal(r.errorCode, NOT_COORDINATOR, `InitProducerId at broker ${n}, not the coordinator ${coordinator}`);
    }
    const init = await conns.get(coordinator)!.call(InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 });
    assert.equal(init.errorCode, 0, `InitProducerId at the coordinator ${coordinator}`);
    const producer = { producerId: init.producerId as number, producerEpoch: init.producerEpoch as number };
    for (const n of others) {
      const added = await conns.get(n)!.call(AddPartitionsToTxn, 3, { transactionalId: id, ...producer, topics: [{ name: T, partitions: [addedP] }] });
      assert.deepEqual(added.results, [{ name: T, results: [{ partitionIndex: addedP, errorCode: NOT_COORDINATOR }] }], `AddPartitionsToTxn at broker ${n}`);
      assert.equal((await conns.get(n)!.call(AddOffsetsToTxn, 1, { transactionalId: id, ...producer, groupId: 'ktx-raw-group' })).errorCode, NOT_COORDINATOR, `AddOffsetsToTxn at broker ${n}`);
      assert.equal((await conns.get(n)!.call(EndTxn, 3, { transactionalId: id, ...producer, committed: false })).errorCode, NOT_COORDINATOR, `EndTxn at broker ${n}`);
    }
    assert.equal((await conns.get(coordinator)!.call(AddOffsetsToTxn, 1, { transactionalId: id, ...producer, groupId: 'ktx-raw-group' })).errorCode, 0, 'AddOffsetsToTxn at the coordinator');

    // one record per batch; `sequence` is the partition's next (a refused batch is never written, so it takes none)
    const produce = async (n: number, partition: number, value: string, sequence = 0): Promise<{ errorCode: number; errorMessage: string | null }> => {
      const batch = encodeBatch([{ key: null, value: Buffer.from(value), timestamp: Date.now(), headers: [] }], 0, { ...producer, baseSequence: sequence, isTransactional: true });
      const r = await conns.get(n)!.call(Produce, 8, { transactionalId: id, acks: -1, timeoutMs: 10_000, topicData: [{ name: T, partitionData: [{ index: partition, records: batch }] }] });
      return r.responses[0].partitionResponses[0];
    };
    // no transaction open yet (the id is Empty): the leader asks the coordinator, which knows no such partition
    const first = await produce(refusedLeader, refusedP, 'never-added-1');
    assert.equal(first.errorCode, INVALID_TXN_STATE, `a batch for partition ${refusedP} (leader ${refusedLeader}, coordinator ${coordinator}) that was never added: ${JSON.stringify(first)}`);

    // another partition added (the transaction is open): a batch there is taken, one for the partition not added is still refused
    const added = await conns.get(coordinator)!.call(AddPartitionsToTxn, 3, { transactionalId: id, ...producer, topics: [{ name: T, partitions: [addedP] }] });
    assert.deepEqual(added.results, [{ name: T, results: [{ partitionIndex: addedP, errorCode: 0 }] }], 'AddPartitionsToTxn at the coordinator');
    assert.equal((await txnState(refusedLeader, id)).state, 'Ongoing', 'the added partition opened the transaction');
    const taken = await produce(addedLeader, addedP, 'added');
    assert.equal(taken.errorCode, 0, `a batch for the added partition ${addedP} at its leader ${addedLeader}: ${JSON.stringify(taken)}`);
    const second = await produce(refusedLeader, refusedP, 'never-added-2');
    assert.equal(second.errorCode, INVALID_TXN_STATE, `with the transaction open, a batch for partition ${refusedP}, not added: ${JSON.stringify(second)}`);
    const described = await txnState(coordinator, id);
    assert.deepEqual(described.partitions, [{ topic: T, partition: addedP }], 'the refused batch did not add its partition to the transaction');

    const ended = await conns.get(coordinator)!.call(EndTxn, 3, { transactionalId: id, ...producer, committed: true });
    assert.equal(ended.errorCode, 0, 'EndTxn (commit) at the coordinator');

    // the next transaction of the same epoch, opened with a third partition: the partition the
    // committed one wrote to is not in it, and its leader (which saw the commit marker) asks again
    const third = Array.from({ length: P }, (_, p) => p).find((p) => p !== refusedP && p !== addedP)!;
    const reopened = await conns.get(coordinator)!.call(AddPartitionsToTxn, 3, { transactionalId: id, ...producer, topics: [{ name: T, partitions: [third] }] });
    assert.deepEqual(reopened.results, [{ name: T, results: [{ partitionIndex: third, errorCode: 0 }] }], 'AddPartitionsToTxn of a third partition opens the next transaction');
    const stale = await produce(addedLeader, addedP, 'not-added-again', 1);
    assert.equal(stale.errorCode, INVALID_TXN_STATE, `next transaction: a batch for partition ${addedP}, added to the committed one but not to this one: ${JSON.stringify(stale)}`);
    const abortedEnd = await conns.get(coordinator)!.call(EndTxn, 3, { transactionalId: id, ...producer, committed: false });
    assert.equal(abortedEnd.errorCode, 0, 'EndTxn (abort) at the coordinator');
  } finally {
    for (const c of conns.values()) c.close();
  }

  // nothing of the refused batches anywhere; the added partition's record committed
  await settle('read_uncommitted through every broker: no record in the partition never added; the added one\'s committed record only', async () => {
    const out: Record<string, string[][]> = {};
    for (const n of NODES) out[`broker ${n}`] = [await readHttp(n, T, refusedP, 'read_uncommitted'), await readHttp(n, T, addedP, 'read_uncommitted')].map((rs) => rs.map((r) => r.value));
    return out;
  }, everywhere([[], ['added']]));
  for (const n of NODES) {
    const r = await getJson(`${url(n)}${C}/topics/${T}`);
    const info = (r.body.partitionInfo as { partition: number; highWatermark: number; logEndOffset: number }[]).find((x) => x.partition === refusedP)!;
    assert.deepEqual([info.highWatermark, info.logEndOffset], [0, 0], `broker ${n}: partition ${refusedP} is empty: ${JSON.stringify(info)}`);
  }
});
