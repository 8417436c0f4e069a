/**
 * @platformatic/kafka (1.x, a pure-JavaScript client that negotiates the flexible KIP-482
 * versions) against the Kafka listener: admin creates a topic, keyed records land where the HTTP
 * API puts the same keys (its compatibility partitioner is Java's murmur2), a consumer reads from
 * earliest, a group of two members rebalances when one leaves, a commit is resumed from, an
 * idempotent producer's batch retried after a lost answer is written once, an aborted transaction is invisible to
 * read_committed, and records cross to and from HTTP byte for byte. The client's send() takes
 * acks itself (the producer's own acks option applies only to idempotent producers), so the
 * tests that read over HTTP right after a send pass acks -1: acks 1 answers before the fsync
 * that moves the high watermark.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Consumer, Producer, compatibilityPartitioner, type Message, type MessagesStream } from '@platformatic/kafka';
import { dropFirstProduceAnswer } from '../support/kafka-proxy.js';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';

let broker: TestBroker;
let api: Rest;
let bootstrapBrokers: string[];

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  bootstrapBrokers = [`127.0.0.1:${broker.server.kafkaPort}`];
});
after(async () => broker?.close());

const base = () => ({ clientId: 'platformatic-test', bootstrapBrokers, retries: 3, retryDelay: 100 });

function consumer(groupId: string): Consumer {
  return new Consumer({ ...base(), groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 6000, maxWaitTime: 200 });
}

/** Reads `count` messages from a stream, then closes it. */
async function take(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, count: number): Promise<Message[]> {
  const got: Message[] = [];
  if (count > 0) {
    for await (const m of stream) {
      got.push(m);
      if (got.length === count) break;
    }
  }
  await stream.close();
  return got;
}

async function httpRecords(topic: string, partition: number, extra = ''): Promise<{ offset: number; key: string | null; value: string; headers?: unknown }[]> {
  const r = await api.get(`/v1/clusters/default/topics/${topic}/partitions/${partition}/records?offset=0&valueFormat=binary&keyFormat=binary${extra}`);
  assert.equal(r.status, 200, r.text);
  return r.body.records;
}

test('platformatic admin creates a topic; keyed records land where HTTP puts the same keys, keyless ones are read back from earliest', async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: ['pl-orders'], partitions: 3, replicas: 1 });
  const meta = await admin.metadata({ topics: ['pl-orders'] });
  assert.equal(meta.topics.get('pl-orders')!.partitionsCount, 3);
  await admin.close();

  const producer = new Producer({ ...base(), partitioner: compatibilityPartitioner });
  const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
  await producer.send({ acks: -1, messages: keys.map((k, i) => ({ topic: 'pl-orders', key: Buffer.from(k), value: Buffer.from(`v${i}`), headers: new Map([[Buffer.from('h'), Buffer.from('x')]]) })) });
  await producer.send({ acks: -1, messages: [0, 1, 2].map((i) => ({ topic: 'pl-orders', value: Buffer.from(`keyless-${i}`) })) });
  await producer.close();
  assert.equal((await api.post('/v1/clusters/default/topics/pl-orders/records', { records: keys.map((k) => ({ key: k, value: 1 })) })).status, 200);

  let keyless = 0;
  const used = new Set<number>();
  for (let p = 0; p < 3; p++) {
    const recs = await httpRecords('pl-orders', p);
    const keyOf = (r: { key: string | null }) => (r.key === null ? null : Buffer.from(r.key, 'base64').toString());
    const fromKafka = recs.filter((r) => Buffer.from(r.value, 'base64').toString().startsWith('v')).map(keyOf);
    const fromHttp = recs.filter((r) => Buffer.from(r.value, 'base64').toString() === '1').map(keyOf);
    assert.deepEqual(fromKafka, fromHttp, `partition ${p}`);
    if (fromKafka.length > 0) used.add(p);
    keyless += recs.filter((r) => r.key === null && Buffer.from(r.value, 'base64').toString().startsWith('keyless-')).length;
  }
  assert.ok(used.size > 1, 'the keys spread over the partitions');
  assert.equal(keyless, 3);

  const c = consumer('pl-earliest');
  const got = await take(await c.consume({ topics: ['pl-orders'], mode: 'earliest', autocommit: false }), 12 * 2 + 3);
  await c.close();
  const values = got.map((m) => m.value.toString());
  assert.equal(values.filter((v) => v.startsWith('v')).length, 12);
  assert.equal(values.filter((v) => v.startsWith('keyless-')).length, 3);
  const withHeader = got.filter((m) => m.value.toString().startsWith('v')).map((m) => [...m.headers].map(([k, v]) => `${k}=${v}`));
  assert.deepEqual(new Set(withHeader.flat()), new Set(['h=x']));
});

test('platformatic group of two shares the partitions and rebalances when one leaves', async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: ['pl-group'], partitions: 2, replicas: 1 });
  await admin.close();
  const a = consumer('pl-two');
  const b = consumer('pl-two');
  const sa = await a.consume({ topics: ['pl-group'], mode: 'earliest', autocommit: false });
  const sb = await b.consume({ topics: ['pl-group'], mode: 'earliest', autocommit: false });
  const owned = (c: Consumer) => (c.assignments ?? []).flatMap((x) => x.partitions).sort();
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(cond(), what);
  };
  await until(() => owned(a).length === 1 && owned(b).length === 1 && a.generationId === b.generationId, 'each member owns one partition');
  assert.deepEqual([...owned(a), ...owned(b)].sort(), [0, 1]);
  const gen = a.generationId;
  await sb.close();
  await b.close();
  await until(() => owned(a).length === 2, 'the remaining member owns both partitions');
  assert.ok(a.generationId > gen);
  await sa.close();
  await a.close();
});

test('platformatic commits and a new member resumes from the committed offset', async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: ['pl-commit'], partitions: 1, replicas: 1 });
  await admin.close();
  const producer = new Producer(base());
  await producer.send({ acks: -1, messages: [0, 1, 2, 3].map((i) => ({ topic: 'pl-commit', value: Buffer.from(`m${i}`) })) });

  const c1 = consumer('pl-resume');
  const first = await take(await c1.consume({ topics: ['pl-commit'], mode: 'committed', fallbackMode: 'earliest', autocommit: false }), 2);
  assert.deepEqual(first.map((m) => m.value.toString()), ['m0', 'm1']);
  await first[1].commit();
  await c1.close();
  const group = await api.get('/v1/clusters/default/groups/pl-resume');
  assert.equal(group.status, 200, group.text);
  assert.deepEqual(group.body.offsets.map((o: { partition: number; committed: number }) => [o.partition, o.committed]), [[0, 2]]);

  await producer.send({ acks: -1, messages: [{ topic: 'pl-commit', value: Buffer.from('after-commit') }] });
  await producer.close();
  const c2 = consumer('pl-resume');
  const rest2 = await take(await c2.consume({ topics: ['pl-commit'], mode: 'committed', fallbackMode: 'earliest', autocommit: false }), 3);
  await c2.close();
  assert.deepEqual(rest2.map((m) => m.value.toString()), ['m2', 'm3', 'after-commit']);
});

test('platformatic idempotent producer gets a producer id and its records are written once, in order', async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: ['pl-idem'], partitions: 1, replicas: 1 });
  await admin.close();
  const producer = new Producer({ ...base(), idempotent: true });
  for (let i = 0; i < 3; i++) await producer.send({ acks: -1, messages: [{ topic: 'pl-idem', value: Buffer.from(`i${i}`) }, { topic: 'pl-idem', value: Buffer.from(`j${i}`) }] });
  assert.ok(producer.producerId !== undefined && producer.producerId >= 0n);
  await producer.close();
  const recs = await httpRecords('pl-idem', 0);
  assert.deepEqual(recs.map((r) => Buffer.from(r.value, 'base64').toString()), ['i0', 'j0', 'i1', 'j1', 'i2', 'j2']);
  assert.deepEqual(recs.map((r) => r.offset), [0, 1, 2, 3, 4, 5]);
});

test('platformatic transactions: an aborted transaction is invisible to read_committed, a committed one is seen', async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: ['pl-txn'], partitions: 1, replicas: 1 });
  await admin.close();
  const producer = new Producer({ ...base(), idempotent: true, transactionalId: 'pl-tx-1' });
  const aborted = await producer.beginTransaction();
  await aborted.send({ messages: [{ topic: 'pl-txn', key: Buffer.from('a-0'), value: Buffer.from('x') }, { topic: 'pl-txn', key: Buffer.from('a-1'), value: Buffer.from('x') }] });
  await aborted.abort();
  const committed = await producer.beginTransaction();
  await committed.send({ messages: [{ topic: 'pl-txn', key: Buffer.from('c-0'), value: Buffer.from('y') }] });
  await committed.commit();
  await producer.close();

  const keys = async (isolation: string) =>
    (await httpRecords('pl-txn', 0, `&isolation=${isolation}`)).map((r) => Buffer.from(r.key!, 'base64').toString());
  assert.deepEqual(await keys('read_committed'), ['c-0']);
  assert.deepEqual(await keys('read_uncommitted'), ['a-0', 'a-1', 'c-0']);

  const c = new Consumer({ ...base(), groupId: 'pl-txn-group', isolationLevel: 1, maxWaitTime: 200 });
  const got = await take(await c.consume({ topics: ['pl-txn'], mode: 'earliest', autocommit: false }), 1);
  await c.close();
  assert.deepEqual(got.map((m) => m.key.toString()), ['c-0']);
});

test('records cross protocols byte for byte: platformatic produce read over HTTP, HTTP produce read by platformatic', async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: ['pl-cross'], partitions: 1, replicas: 1 });
  await admin.close();
  const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);
  const producer = new Producer(base());
  await producer.send({ acks: -1, messages: [{ topic: 'pl-cross', key: Buffer.from([0xc3, 0x28]), value: bytes }] });
  await producer.close();
  const [rec] = await httpRecords('pl-cross', 0);
  assert.deepEqual(Buffer.from(rec.value, 'base64'), bytes);
  assert.deepEqual(Buffer.from(rec.key!, 'base64'), Buffer.from([0xc3, 0x28]));

  const json = await api.post('/v1/clusters/default/topics/pl-cross/records', { records: [{ key: 'k', value: { a: 1 } }] });
  assert.equal(json.status, 200, json.text);
  const text = await api.post('/v1/clusters/default/topics/pl-cross/records', { valueFormat: 'text', records: [{ value: 'plain text' }] });
  assert.equal(text.status, 200, text.text);
  const binary = await api.post('/v1/clusters/default/topics/pl-cross/records', { valueFormat: 'binary', records: [{ value: bytes.toString('base64') }] });
  assert.equal(binary.status, 200, binary.text);
  const c = consumer('pl-cross-group');
  const got = await take(await c.consume({ topics: ['pl-cross'], mode: 'earliest', autocommit: false }), 4);
  await c.close();
  assert.deepEqual(got[0].value, bytes);
  assert.equal(got[1].key.toString(), 'k');
  assert.equal(got[1].value.toString(), '{"a":1}');
  assert.equal(got[2].value.toString(), 'plain text');
  assert.deepEqual(got[3].value, bytes);
});

test('platformatic idempotent producer: a batch retried after its answer was lost is written once (negative control: without idempotence it is written twice)', async () => {
  const b = await startBroker({ config: { kafkaAdvertisedHost: '127.0.0.2' } });
  const proxy = await dropFirstProduceAnswer(b.server.kafkaPort!);
  try {
    const http = rest(b.url);
    assert.equal((await http.post('/v1/clusters/default/topics', { name: 'retried', partitions: 1 })).status, 201);
    const values = async () => {
      const r = await http.get('/v1/clusters/default/topics/retried/partitions/0/records?offset=0&valueFormat=text');
      assert.equal(r.status, 200, r.text);
      return r.body.records.map((x: { value: string }) => x.value);
    };
    const opts = { clientId: 'retry-test', bootstrapBrokers: [`127.0.0.2:${b.server.kafkaPort}`], retries: 5, retryDelay: 100 };

    const idem = new Producer({ ...opts, idempotent: true });
    await idem.send({ messages: [{ topic: 'retried', value: Buffer.from('warm-up') }] });
    proxy.arm();
    await idem.send({ messages: [{ topic: 'retried', value: Buffer.from('once') }] });
    await idem.close();
    assert.equal(proxy.dropped(), 1);
    assert.deepEqual(await values(), ['warm-up', 'once']);

    // negative control: the same lost answer makes a producer without idempotence write twice
    const plain = new Producer(opts);
    await plain.send({ acks: -1, messages: [{ topic: 'retried', value: Buffer.from('warm-up-2') }] });
    proxy.arm();
    await plain.send({ acks: -1, messages: [{ topic: 'retried', value: Buffer.from('twice') }] });
    await plain.close();
    assert.equal(proxy.dropped(), 2);
    assert.deepEqual(await values(), ['warm-up', 'once', 'warm-up-2', 'twice', 'twice']);
  } finally {
    await proxy.close();
    await b.close();
  }
});
