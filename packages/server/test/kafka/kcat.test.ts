/**
 * kcat (librdkafka) against the Kafka listener: metadata, produce with keys (placed by murmur2
 * exactly as the HTTP API places them), consume from earliest, a group that commits and resumes,
 * offsets by time, and records
 * crossing between the Kafka and HTTP protocols byte for byte; gzip, snappy, lz4 and zstd batches
 * stored as kcat compressed them and read over both protocols.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { needDebianPackages, KCAT } from '../support/debian-packages.js';
import { kcat } from '../support/kafka-clients.js';
import { partitionForKey } from '@webka/protocol';
import { batchSizeAt, readBatchHeader } from '../../src/storage/record-batch.js';

const missing = needDebianPackages(KCAT);
if (missing !== null) console.log(`# skipping kcat tests: ${missing}`);
const opts = { skip: missing ?? false };

let broker: TestBroker;
let api: Rest;
let port: number;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  port = broker.server.kafkaPort!;
});
after(async () => broker?.close());

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await api.post('/v1/clusters/default/topics', { name, partitions });
  assert.equal(r.status, 201, r.text);
}

interface Consumed {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/** Everything in the topic from the earliest offset, read by kcat until the end of every partition. */
async function consumeAll(topic: string): Promise<Consumed[]> {
  const r = await kcat(port, ['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\t%o\t%k\t%s\n']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [p, o, k, v] = l.split('\t');
      return { partition: Number(p), offset: Number(o), key: k, value: v };
    })
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

test('kcat -L lists the topics of the cluster with this broker as leader of every partition', opts, async () => {
  await createTopic('listed', 3);
  const r = await kcat(port, ['-L', '-t', 'listed']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`broker 0 at 127\\.0\\.0\\.1:${port}`));
  assert.match(r.stdout, /topic "listed" with 3 partitions/);
  for (const p of [0, 1, 2]) assert.match(r.stdout, new RegExp(`partition ${p}, leader 0, replicas: 0, isrs: 0`));
});

test('keyed records from kcat land where murmur2 and the HTTP API put the same keys', opts, async () => {
  await createTopic('keyed', 4);
  const keys = Array.from({ length: 20 }, (_, i) => `customer-${i}`);
  const input = keys.map((k, i) => `${k}:order-${i}`).join('\n') + '\n';
  const produced = await kcat(port, ['-P', '-t', 'keyed', '-K:', '-X', 'topic.partitioner=murmur2_random'], input);
  assert.equal(produced.code, 0, produced.stderr);
  const got = await consumeAll('keyed');
  assert.equal(got.length, keys.length);
  const http = await api.post('/v1/clusters/default/topics/keyed/records', { records: keys.map((k) => ({ key: k, value: 'x' })) });
  assert.equal(http.status, 200, http.text);
  for (const r of got) {
    const i = keys.indexOf(r.key);
    assert.equal(r.value, `order-${i}`);
    assert.equal(r.partition, partitionForKey(Buffer.from(r.key), 4), `key ${r.key}`);
    assert.equal(r.partition, http.body.records[i].partition, `key ${r.key} over HTTP`);
  }
});

test('records produced by kcat read over HTTP byte for byte, and records produced over HTTP read by kcat', opts, async () => {
  await createTopic('crossing', 1);
  const values = ['plain text', 'ünïcödé ✓', '{"json":true}'];
  const produced = await kcat(port, ['-P', '-t', 'crossing', '-p', '0', '-K:'], values.map((v, i) => `k${i}:${v}`).join('\n') + '\n');
  assert.equal(produced.code, 0, produced.stderr);
  const read = await api.get('/v1/clusters/default/topics/crossing/partitions/0/records?offset=0&valueFormat=binary');
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(
    read.body.records.map((r: { key: string; value: string }) => [r.key, Buffer.from(r.value, 'base64').toString('utf8')]),
    values.map((v, i) => [`k${i}`, v]),
  );

  // JSON values are stored as their JSON text
  const http = await api.post('/v1/clusters/default/topics/crossing/records', { records: [{ key: 'from-http', value: 'über HTTP' }, { key: 'json', value: { total: 42 } }] });
  assert.equal(http.status, 200, http.text);
  const all = await consumeAll('crossing');
  assert.deepEqual(all.slice(3), [
    { partition: 0, offset: 3, key: 'from-http', value: '"über HTTP"' },
    { partition: 0, offset: 4, key: 'json', value: '{"total":42}' },
  ]);
});

test('kcat consumes from an offset and from the end, and queries offsets by time', opts, async () => {
  await createTopic('offsets', 1);
  const before = Date.now();
  const produced = await kcat(port, ['-P', '-t', 'offsets', '-p', '0'], 'a\nb\nc\nd\n');
  assert.equal(produced.code, 0, produced.stderr);
  const from2 = await kcat(port, ['-C', '-t', 'offsets', '-p', '0', '-o', '2', '-e', '-q', '-f', '%o=%s\n']);
  assert.equal(from2.stdout, '2=c\n3=d\n');
  const last = await kcat(port, ['-C', '-t', 'offsets', '-p', '0', '-o', '-1', '-e', '-q', '-f', '%o=%s\n']);
  assert.equal(last.stdout, '3=d\n');
  const q = await kcat(port, ['-Q', '-t', `offsets:0:${before - 60_000}`]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /offsets \[0\]\s+offset 0/);
});

test('a kcat group (-G) reads from earliest, commits as it exits, and the next run resumes from the commit; HTTP sees the offsets', opts, async () => {
  await createTopic('kcat-grouped', 3);
  const produce = async (values: string[]): Promise<void> => {
    const r = await api.post('/v1/clusters/default/topics/kcat-grouped/records', { records: values.map((v, i) => ({ partition: i % 3, value: v })) });
    assert.equal(r.status, 200, r.text);
  };
  // -e: exit once every assigned partition is read to its end; librdkafka commits on the way out
  const group = async (): Promise<string[]> => {
    const r = await kcat(port, ['-G', 'kcat-readers', '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%s\n', 'kcat-grouped'], '', 60_000);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.length > 0).map((v) => JSON.parse(v) as string).sort();
  };
  await produce(['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual(await group(), ['a', 'b', 'c', 'd', 'e', 'f']);
  const offsets = await api.get('/v1/clusters/default/groups/kcat-readers/offsets');
  assert.equal(offsets.status, 200, offsets.text);
  assert.deepEqual(offsets.body.offsets.map((o: { partition: number; committed: number }) => [o.partition, o.committed]).sort(), [[0, 2], [1, 2], [2, 2]]);
  await produce(['g', 'h', 'i']);
  assert.deepEqual(await group(), ['g', 'h', 'i'], 'the second run starts at the committed offsets');
});

test('producing to a topic that does not exist fails in kcat with the unknown-topic error', opts, async () => {
  const r = await kcat(port, ['-P', '-t', 'no-such-topic', '-p', '0', '-X', 'topic.metadata.propagation.max.ms=500', '-X', 'message.timeout.ms=5000'], 'x\n', 20_000);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unknown topic|unknown topic|UNKNOWN_TOPIC/i);
});

test('kcat with read_committed skips an aborted HTTP transaction and sees a committed one', opts, async () => {
  await createTopic('txn', 1);
  const txn = async (values: string[], ending: 'commit' | 'abort'): Promise<void> => {
    const init = await api.post('/v1/clusters/default/transactions', { transactionalId: 'kcat-txn' });
    assert.equal(init.status, 200, init.text);
    const { producerId, producerEpoch } = init.body;
    const produced = await api.post('/v1/clusters/default/topics/txn/records', { transactionalId: 'kcat-txn', producerId, producerEpoch, sequence: 0, records: values.map((value) => ({ value })) });
    assert.equal(produced.status, 200, produced.text);
    const end = await api.post(`/v1/clusters/default/transactions/kcat-txn/${ending}`, { producerId, producerEpoch });
    assert.equal(end.status, 200, end.text);
  };
  await txn(['aborted-1', 'aborted-2'], 'abort');
  assert.equal((await api.post('/v1/clusters/default/topics/txn/records', { records: [{ value: 'plain' }] })).status, 200);
  await txn(['committed'], 'commit');
  const read = async (isolation: string): Promise<string[]> => {
    const r = await kcat(port, ['-C', '-t', 'txn', '-o', 'beginning', '-e', '-q', '-X', `isolation.level=${isolation}`, '-f', '%s\n']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.length > 0);
  };
  assert.deepEqual(await read('read_committed'), ['"plain"', '"committed"']);
  assert.deepEqual(await read('read_uncommitted'), ['"aborted-1"', '"aborted-2"', '"plain"', '"committed"']);
});

test('gzip, snappy, lz4 and zstd batches from kcat are stored as compressed and read back over HTTP and over Kafka', opts, async () => {
  await createTopic('codecs', 1);
  // librdkafka sends a batch uncompressed when compressing does not shrink it: values that compress
  const value = (tag: string): string => `${tag}-${'abcdefgh'.repeat(500)}`;
  const codecs = ['gzip', 'snappy', 'lz4', 'zstd'];
  for (const codec of codecs) {
    const r = await kcat(port, ['-P', '-t', 'codecs', '-p', '0', '-z', codec, '-X', 'message.timeout.ms=10000'], `${value(`${codec}-1`)}\n${value(`${codec}-2`)}\n`, 20_000);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /error|fail/i, `${codec}: ${r.stderr}`);
  }
  // the stored batches carry the codec kcat chose (attributes bits 0-2): the client did compress
  const stored = broker.server.broker.partition('default', 'codecs', 0).readEncoded(0, 1 << 20, 'read_uncommitted').data;
  const seen: number[] = [];
  for (let pos = 0; pos < stored.length; pos += batchSizeAt(stored, pos)) seen.push(readBatchHeader(stored, pos).compression);
  // (kcat may send a run's two records in one batch or two)
  assert.deepEqual([...new Set(seen)], [1, 2, 3, 4], `codecs of the stored batches: ${seen.join(', ')}`);
  const expected = codecs.flatMap((c) => [value(`${c}-1`), value(`${c}-2`)]);

  const read = await api.get('/v1/clusters/default/topics/codecs/partitions/0/records?offset=0&valueFormat=text');
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(read.body.records.map((r: { value: string }) => r.value), expected);
  // from the middle of a compressed batch: records before the offset are skipped
  const mid = await api.get('/v1/clusters/default/topics/codecs/partitions/0/records?offset=5&valueFormat=text');
  assert.deepEqual(mid.body.records.map((r: { value: string }) => r.value), expected.slice(5));

  assert.deepEqual((await consumeAll('codecs')).map((r) => r.value), expected);
});
