/**
 * OffsetForLeaderEpoch on a single broker, in every version (0-3 classic, 4 flexible): one epoch,
 * 0, whose end is the log end; any other epoch is unknown (-1, -1); a currentLeaderEpoch other
 * than 0 is refused as the client's stale or future metadata; unknown partitions are named.
 * ApiVersions lists it, and ListOffsets reports the same epoch. The cluster side (epochs raised
 * by elections, an earlier epoch's end) is checked in test/cluster/kafka-cluster.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest } from '../support/rest.js';
import { RawKafka } from '../support/raw-kafka.js';
import { ApiVersions, ListOffsets, OffsetForLeaderEpoch } from '../../src/kafka/messages-core.js';


const UNKNOWN_TOPIC_OR_PARTITION = 3;
const UNKNOWN_LEADER_EPOCH = 75;

let broker: TestBroker;
let kafka: RawKafka;

before(async () => {
  broker = await startBroker();
  const api = rest(broker.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'epochs', partitions: 2 })).status, 201);
  const r = await api.post('/v1/clusters/default/topics/epochs/records', { records: Array.from({ length: 7 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
  assert.equal(r.status, 200);
  kafka = await RawKafka.connect(broker.server.kafkaPort!);
});
after(async () => {
  kafka?.close();
  await broker?.close();
});

type Asked = { partition: number; leaderEpoch: number; currentLeaderEpoch?: number };

async function ask(version: number, topic: string, partitions: Asked[]): Promise<Array<{ errorCode: number; partition: number; leaderEpoch: number; endOffset: number }>> {
  const r = await kafka.call(OffsetForLeaderEpoch, version, { replicaId: -1, topics: [{ topic, partitions: partitions.map((p) => ({ currentLeaderEpoch: -1, ...p })) }] });
  assert.equal(r.topics[0].topic, topic);
  return r.topics[0].partitions;
}

test('ApiVersions lists OffsetForLeaderEpoch 0-4', async () => {
  const r = await kafka.call(ApiVersions, 0, {});
  const entry = (r.apiKeys as Array<{ apiKey: number; minVersion: number; maxVersion: number }>).find((k) => k.apiKey === 23);
  assert.deepEqual(entry && [entry.minVersion, entry.maxVersion], [0, 4]);
});

test('epoch 0 ends at the log end, in every version; other epochs are unknown', async () => {
  for (const version of [0, 1, 2, 3, 4]) {
    const got = await ask(version, 'epochs', [{ partition: 0, leaderEpoch: 0 }, { partition: 1, leaderEpoch: 0 }, { partition: 0, leaderEpoch: 3 }, { partition: 0, leaderEpoch: -1 }]);
    // version 0 has no leaderEpoch in its answer: the decoder's default (-1) stands in
    const epoch = (e: number): number => (version >= 1 ? e : -1);
    assert.deepEqual(got, [
      { errorCode: 0, partition: 0, leaderEpoch: epoch(0), endOffset: 7 },
      { errorCode: 0, partition: 1, leaderEpoch: epoch(0), endOffset: 0 },
      { errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 },
      { errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 },
    ], `version ${version}`);
  }
});

test('a currentLeaderEpoch other than the partition\'s is refused; unknown topics and partitions are named', async () => {
  const got = await ask(2, 'epochs', [{ partition: 0, leaderEpoch: 0, currentLeaderEpoch: 0 }, { partition: 0, leaderEpoch: 0, currentLeaderEpoch: 1 }, { partition: 9, leaderEpoch: 0 }]);
  assert.deepEqual(got.map((p) => [p.partition, p.errorCode, p.endOffset]), [[0, 0, 7], [0, UNKNOWN_LEADER_EPOCH, -1], [9, UNKNOWN_TOPIC_OR_PARTITION, -1]]);
  const missing = await ask(4, 'no-such-topic', [{ partition: 0, leaderEpoch: 0 }]);
  assert.equal(missing[0].errorCode, UNKNOWN_TOPIC_OR_PARTITION);
});

test('ListOffsets reports the epoch that OffsetForLeaderEpoch knows', async () => {
  const r = await kafka.call(ListOffsets, 4, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'epochs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
  assert.deepEqual([r.topics[0].partitions[0].offset, r.topics[0].partitions[0].leaderEpoch], [7, 0]);
});
