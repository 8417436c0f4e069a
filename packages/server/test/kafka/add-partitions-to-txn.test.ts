/**
 * AddPartitionsToTxn versions 4 and 5 (one request, several transactions, each joined or only
 * verified), spoken raw with the listener's own message table; @platformatic/kafka sends these
 * versions as a client. Version 3 is answered as before.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest } from '../support/rest.js';
import { RawKafka } from '../support/raw-kafka.js';
import { InitProducerId } from '../../src/kafka/messages-core.js';
import { AddPartitionsToTxn, EndTxn } from '../../src/kafka/messages-txn.js';
import type { Message } from '../../src/kafka/schema.js';

let broker: TestBroker;

before(async () => {
  broker = await startBroker();
  assert.equal((await rest(broker.url).post('/v1/clusters/default/topics', { name: 'apt', partitions: 3 })).status, 201);
});
after(async () => broker?.close());

const codes = (topicResults: Message[]): Record<string, number[]> =>
  Object.fromEntries(topicResults.map((t) => [t.name, (t.resultsByPartition as Message[]).map((p) => p.partitionErrorCode as number)]));

for (const version of [4, 5]) {
  test(`AddPartitionsToTxn v${version} joins the partitions of several transactions, and verifyOnly checks without joining`, async () => {
    const k = await RawKafka.connect(broker.server.kafkaPort!);
    try {
      const init = async (id: string) => {
        const r = await k.call(InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
        assert.equal(r.errorCode, 0);
        return { transactionalId: id, producerId: r.producerId, producerEpoch: r.producerEpoch };
      };
      const a = await init(`apt-a-${version}`);
      const b = await init(`apt-b-${version}`);
      const joined = await k.call(AddPartitionsToTxn, version, {
        transactions: [
          { ...a, verifyOnly: false, topics: [{ name: 'apt', partitions: [0, 1] }] },
          { ...b, verifyOnly: false, topics: [{ name: 'apt', partitions: [2] }, { name: 'no-such-topic', partitions: [0] }] },
        ],
      });
      assert.equal(joined.errorCode, 0);
      const [ra, rb] = joined.resultsByTransaction as Message[];
      assert.equal(ra.transactionalId, a.transactionalId);
      assert.deepEqual(codes(ra.topicResults as Message[]), { apt: [0, 0] });
      assert.equal(rb.transactionalId, b.transactionalId);
      assert.deepEqual(codes(rb.topicResults as Message[]), { apt: [0], 'no-such-topic': [3] }); // UNKNOWN_TOPIC_OR_PARTITION

      // verifyOnly: partition 0 joined, partition 2 did not (INVALID_TXN_STATE), and stays out
      const verified = await k.call(AddPartitionsToTxn, version, { transactions: [{ ...a, verifyOnly: true, topics: [{ name: 'apt', partitions: [0, 2] }] }] });
      assert.deepEqual(codes((verified.resultsByTransaction as Message[])[0].topicResults as Message[]), { apt: [0, 48] });
      const again = await k.call(AddPartitionsToTxn, version, { transactions: [{ ...a, verifyOnly: true, topics: [{ name: 'apt', partitions: [2] }] }] });
      assert.deepEqual(codes((again.resultsByTransaction as Message[])[0].topicResults as Message[]), { apt: [48] });

      // a stale epoch is refused for its transaction only
      const fenced = await k.call(AddPartitionsToTxn, version, { transactions: [{ ...a, producerEpoch: a.producerEpoch + 5, verifyOnly: false, topics: [{ name: 'apt', partitions: [2] }] }] });
      assert.notEqual(codes((fenced.resultsByTransaction as Message[])[0].topicResults as Message[]).apt[0], 0);

      for (const t of [a, b]) assert.equal((await k.call(EndTxn, 3, { ...t, committed: false })).errorCode, 0);
    } finally {
      k.close();
    }
  });
}

test('AddPartitionsToTxn v3 still answers one transaction by topic', async () => {
  const k = await RawKafka.connect(broker.server.kafkaPort!);
  try {
    const r = await k.call(InitProducerId, 4, { transactionalId: 'apt-v3', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    const added = await k.call(AddPartitionsToTxn, 3, { transactionalId: 'apt-v3', producerId: r.producerId, producerEpoch: r.producerEpoch, topics: [{ name: 'apt', partitions: [1] }] });
    assert.deepEqual(added.results, [{ name: 'apt', results: [{ partitionIndex: 1, errorCode: 0 }] }]);
  } finally {
    k.close();
  }
});
