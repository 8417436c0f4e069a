/**
 * kafkajs 2.2.4 (a pure-JavaScript client, classic versions only) against the Kafka listener:
 * admin (create topics and partitions, list and describe groups, delete), a live group that
 * committed nothing described over HTTP as over Kafka, keyed produce placed
 * as the HTTP API places it, a consumer group that commits and resumes, a group of two that
 * rebalances when one leaves, an idempotent producer whose retried batch is written once, records crossing to
 * and from HTTP, transactions (commit, abort, sendOffsets), and topic configs described and
 * altered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs, { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { dropFirstProduceAnswer } from '../support/kafka-proxy.js';

const { ConfigResourceTypes } = kafkajs;

let broker: TestBroker;
let api: Rest;
let kafka: Kafka;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  kafka = new Kafka({ clientId: 'kafkajs-test', brokers: [`127.0.0.1:${broker.server.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
});
after(async () => broker?.close());

/** Consumes until `count` messages arrived, then disconnects. */
async function consumeN(group: string, topic: string, count: number): Promise<EachMessagePayload['message'][]> {
  const consumer: Consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: EachMessagePayload['message'][] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          got.push(message);
          if (got.length === count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return got;
}

test('kafkajs admin creates topics and partitions, lists and deletes them', async () => {
  const admin = kafka.admin();
  await admin.connect();
  assert.equal(await admin.createTopics({ topics: [{ topic: 'js-admin', numPartitions: 2 }] }), true);
  // kafkajs answers false for TOPIC_ALREADY_EXISTS
  assert.equal(await admin.createTopics({ topics: [{ topic: 'js-admin', numPartitions: 2 }] }), false);
  await admin.createPartitions({ topicPartitions: [{ topic: 'js-admin', count: 3 }] });
  const meta = await admin.fetchTopicMetadata({ topics: ['js-admin'] });
  assert.equal(meta.topics[0].partitions.length, 3);
  assert.ok((await admin.listTopics()).includes('js-admin'));
  const cluster = await admin.describeCluster();
  assert.equal(cluster.brokers.length, 1);
  await admin.deleteTopics({ topics: ['js-admin'] });
  assert.equal((await api.get('/v1/clusters/default/topics/js-admin')).status, 404);
  await admin.disconnect();
});

test('kafkajs produces keyed records where HTTP puts the same keys, and a group commits and resumes', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'js-orders', partitions: 3 })).status, 201);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
  const sent = await producer.send({ topic: 'js-orders', acks: -1, messages: keys.map((k, i) => ({ key: k, value: `v${i}`, headers: { h: 'x' } })) });
  assert.equal(sent.reduce((n, r) => n + r.errorCode, 0), 0);
  const http = await api.post('/v1/clusters/default/topics/js-orders/records', { records: keys.map((k) => ({ key: k, value: 1 })) });
  const got = await consumeN('js-group', 'js-orders', 12 * 2);
  const fromKafka = got.filter((m) => m.value!.toString().startsWith('v'));
  assert.equal(fromKafka.length, 12);
  for (const m of fromKafka) assert.equal(m.headers!.h!.toString(), 'x');

  // the records of both protocols for a key sit in the same partition
  const read = await api.get('/v1/clusters/default/groups/js-group');
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.offsets.reduce((n: number, o: { lag: number }) => n + o.lag, 0), 0);
  for (let p = 0; p < 3; p++) {
    const recs = await api.get(`/v1/clusters/default/topics/js-orders/partitions/${p}/records?offset=0&valueFormat=text`);
    const kafkaKeys = recs.body.records.filter((r: { value: string }) => r.value.startsWith('v')).map((r: { key: string }) => r.key).sort();
    const httpKeys = http.body.records.map((r: { partition: number }, i: number) => (r.partition === p ? keys[i] : null)).filter((k: string | null) => k !== null).sort();
    assert.deepEqual(kafkaKeys, httpKeys, `partition ${p}`);
  }

  await producer.send({ topic: 'js-orders', messages: [{ key: 'late', value: 'after-commit' }] });
  const resumed = await consumeN('js-group', 'js-orders', 1);
  assert.equal(resumed[0].value!.toString(), 'after-commit');

  const admin = kafka.admin();
  await admin.connect();
  const groups = await admin.listGroups();
  assert.ok(groups.groups.some((g) => g.groupId === 'js-group'));
  await admin.deleteGroups(['js-group']);
  assert.equal((await api.get('/v1/clusters/default/groups/js-group')).status, 404);
  await admin.disconnect();
  await producer.disconnect();
});

test('a kafkajs group of two splits the partitions, and the one left takes them all when the other leaves', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'js-pair', partitions: 4 })).status, 201);
  const produce = async (tag: string): Promise<void> => {
    const r = await api.post('/v1/clusters/default/topics/js-pair/records', { records: [0, 1, 2, 3].map((partition) => ({ partition, value: `${tag}-${partition}` })) });
    assert.equal(r.status, 200, r.text);
  };
  await produce('first');
  type Member = { consumer: Consumer; assignment: number[]; values: string[] };
  const join = async (): Promise<Member> => {
    const consumer = kafka.consumer({ groupId: 'js-pair-group', sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 6000 });
    const m: Member = { consumer, assignment: [], values: [] };
    consumer.on(consumer.events.GROUP_JOIN, (e) => (m.assignment = [...(e.payload.memberAssignment['js-pair'] ?? [])].sort()));
    await consumer.connect();
    await consumer.subscribe({ topic: 'js-pair', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void m.values.push(message.value!.toString()) });
    return m;
  };
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!ok()) {
      assert.ok(Date.now() < deadline, `not reached in 30 s: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const text = (v: string): string => JSON.parse(v) as string; // HTTP stored the strings as JSON
  const a = await join();
  const b = await join();
  try {
    await until('the two members share the four partitions', () => a.assignment.length > 0 && b.assignment.length > 0 && [...a.assignment, ...b.assignment].sort().join() === '0,1,2,3');
    // at least once: a record read before the second member joined may be read again by it
    await until('every record is read', () => new Set([...a.values, ...b.values]).size >= 4);
    assert.deepEqual([...new Set([...a.values, ...b.values].map(text))].sort(), ['first-0', 'first-1', 'first-2', 'first-3']);

    await b.consumer.disconnect();
    await until('the one left holds every partition', () => a.assignment.join() === '0,1,2,3');
    await produce('second');
    const second = (): string[] => [...new Set(a.values.map(text).filter((v) => v.startsWith('second')))].sort();
    await until('it reads what is written to all four', () => second().length === 4);
    assert.deepEqual(second(), ['second-0', 'second-1', 'second-2', 'second-3']);
  } finally {
    await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
  }
});

test('kafkajs idempotent producer: a batch retried after its answer was lost is written once (negative control: without idempotence it is written twice)', async () => {
  const b = await startBroker({ config: { kafkaAdvertisedHost: '127.0.0.2' } });
  const proxy = await dropFirstProduceAnswer(b.server.kafkaPort!);
  try {
    const http = rest(b.url);
    assert.equal((await http.post('/v1/clusters/default/topics', { name: 'js-retried', partitions: 1 })).status, 201);
    const values = async (): Promise<string[]> => {
      const r = await http.get('/v1/clusters/default/topics/js-retried/partitions/0/records?offset=0&valueFormat=text');
      assert.equal(r.status, 200, r.text);
      return r.body.records.map((x: { value: string }) => x.value);
    };
    const client = new Kafka({ clientId: 'js-retry-test', brokers: [`127.0.0.2:${b.server.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
    const send = async (idempotent: boolean, warmUp: string, value: string): Promise<void> => {
      const producer = client.producer({ idempotent, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({ topic: 'js-retried', acks: -1, messages: [{ value: warmUp }] });
      proxy.arm();
      await producer.send({ topic: 'js-retried', acks: -1, messages: [{ value }] });
      await producer.disconnect();
    };
    await send(true, 'warm-up', 'once');
    assert.equal(proxy.dropped(), 1);
    assert.deepEqual(await values(), ['warm-up', 'once']);
    await send(false, 'warm-up-2', 'twice');
    assert.equal(proxy.dropped(), 2);
    assert.deepEqual(await values(), ['warm-up', 'once', 'warm-up-2', 'twice', 'twice']);
  } finally {
    await proxy.close();
    await b.close();
  }
});

test('a live kafkajs group that has committed nothing is described and listed over HTTP as over Kafka: state, members, assignments', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'js-live', partitions: 2 })).status, 201);
  const consumer = kafka.consumer({ groupId: 'js-live-group', sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'js-live', fromBeginning: true });
  await consumer.run({ eachMessage: async () => undefined });
  try {
    let d = await api.get('/v1/clusters/default/groups/js-live-group');
    for (const deadline = Date.now() + 30_000; d.body.state !== 'Stable' || d.body.members[0]?.assignment.length !== 2; ) {
      assert.ok(Date.now() < deadline, `the group never showed as Stable with its assignment over HTTP: ${d.text}`);
      await new Promise((r) => setTimeout(r, 50));
      d = await api.get('/v1/clusters/default/groups/js-live-group');
    }
    const admin = kafka.admin();
    await admin.connect();
    const [k] = (await admin.describeGroups(['js-live-group'])).groups;
    await admin.disconnect();
    assert.equal(d.body.state, k.state);
    assert.equal(d.body.assignmentStrategy, k.protocol);
    assert.equal(d.body.protocolType, 'consumer');
    assert.deepEqual(d.body.members.map((m: { memberId: string }) => m.memberId), k.members.map((m) => m.memberId));
    assert.deepEqual(d.body.members[0].subscription, { topics: ['js-live'] });
    assert.deepEqual(d.body.members[0].assignment, [{ topic: 'js-live', partition: 0 }, { topic: 'js-live', partition: 1 }]);
    assert.equal(d.body.members[0].clientId, 'kafkajs-test');
    assert.deepEqual(d.body.offsets.map((o: { committed: number | null }) => o.committed), [null, null]);
    const list = await api.get('/v1/clusters/default/groups');
    assert.deepEqual(list.body.groups.find((g: { group: string }) => g.group === 'js-live-group'), { group: 'js-live-group', state: 'Stable', members: 1, generation: d.body.generation });
  } finally {
    await consumer.disconnect();
  }
  // gone with its last member, as over Kafka: it committed nothing
  assert.equal((await api.get('/v1/clusters/default/groups/js-live-group')).status, 404);
});

test('kafkajs transactions: a committed one is read by read_committed consumers, an aborted one is not, and sendOffsets commits with it', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'js-txn', numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer({ transactionalId: 'js-txn-producer', maxInFlightRequests: 1, idempotent: true });
  await producer.connect();

  const committed = await producer.transaction();
  await committed.send({ topic: 'js-txn', messages: [{ key: 'c-0', value: 'kept' }, { key: 'c-1', value: 'kept' }, { key: 'c-2', value: 'kept' }] });
  await committed.sendOffsets({ consumerGroupId: 'js-txn-group', topics: [{ topic: 'js-txn', partitions: [{ partition: 0, offset: '1' }] }] });
  await committed.commit();

  const aborted = await producer.transaction();
  await aborted.send({ topic: 'js-txn', messages: [{ key: 'a-0', value: 'dropped' }, { key: 'a-1', value: 'dropped' }] });
  await aborted.sendOffsets({ consumerGroupId: 'js-txn-group', topics: [{ topic: 'js-txn', partitions: [{ partition: 1, offset: '1' }] }] });
  await aborted.abort();
  await producer.disconnect();

  // HTTP readers, then a kafkajs consumer (read_committed by default)
  const keys: string[] = [];
  const all: string[] = [];
  for (const p of [0, 1]) {
    for (const [isolation, into] of [['read_committed', keys], ['read_uncommitted', all]] as const) {
      const r = await api.get(`/v1/clusters/default/topics/js-txn/partitions/${p}/records?offset=0&isolation=${isolation}`);
      assert.equal(r.status, 200, r.text);
      for (const rec of r.body.records) into.push(rec.key);
    }
  }
  assert.deepEqual(keys.sort(), ['c-0', 'c-1', 'c-2']);
  assert.deepEqual(all.sort(), ['a-0', 'a-1', 'c-0', 'c-1', 'c-2']);
  const got = await consumeN('js-txn-reader', 'js-txn', 3);
  assert.deepEqual(got.map((m) => m.key!.toString()).sort(), ['c-0', 'c-1', 'c-2']);

  const group = await api.get('/v1/clusters/default/groups/js-txn-group');
  assert.equal(group.status, 200, group.text);
  assert.deepEqual(group.body.offsets.map((o: { partition: number; committed: number }) => [o.partition, o.committed]), [[0, 1]]);
});

/** The topic's config overrides as HTTP shows them. */
async function overrides(topic: string): Promise<Record<string, unknown>> {
  const r = await api.get(`/v1/clusters/default/topics/${topic}`);
  assert.equal(r.status, 200, r.text);
  return r.body.configs;
}

test('kafkajs describes topic configs with their sources and alters them; HTTP sees the overrides; bad values are refused', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'cfg-js', partitions: 1, configs: { 'cleanup.policy': 'compact' } })).status, 201);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const d = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js' }], includeSynonyms: false });
    const entries = new Map(d.resources[0].configEntries.map((e) => [e.configName, e]));
    assert.equal(entries.get('cleanup.policy')!.configValue, 'compact');
    assert.equal(entries.get('cleanup.policy')!.isDefault, false);
    assert.equal(entries.get('retention.ms')!.configValue, '604800000');
    assert.equal(entries.get('retention.ms')!.isDefault, true);

    // AlterConfigs replaces the overrides: cleanup.policy, left out, goes back to its default
    await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    assert.deepEqual(await overrides('cfg-js'), { 'retention.ms': 3600000 });

    // validateOnly changes nothing; an out-of-range value and an unknown key are refused
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    await assert.rejects(admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configEntries: [{ name: 'segment.bytes', value: '1' }] }] }), (e: Error & { type?: string }) => e.type === 'INVALID_CONFIG');
    await assert.rejects(admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configEntries: [{ name: 'no.such.key', value: '1' }] }] }), (e: Error & { type?: string }) => e.type === 'INVALID_CONFIG');
    assert.deepEqual(await overrides('cfg-js'), { 'retention.ms': 3600000 });

    const unknown = admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-none' }], includeSynonyms: false });
    await assert.rejects(unknown, (e: Error & { type?: string }) => e.type === 'UNKNOWN_TOPIC_OR_PARTITION');
  } finally {
    await admin.disconnect();
  }
});
