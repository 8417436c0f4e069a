/**
 * Object-level authorisation of producer ids on the Kafka listener: an id that one principal
 * obtained with InitProducerId is refused in another principal's Produce as the HTTP path refuses
 * it (the id "was not issued to this principal": UNKNOWN_PRODUCER_ID), before anything is
 * validated or written, so the owner's sequence is untouched. team-b (write on orders-1 only)
 * sends a RecordBatch built by hand with @webka/protocol's encoder, carrying team-a's producer
 * id, epoch and next sequence.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RecordBatchBuilder } from '@webka/protocol';
import { startTeams, type Teams } from '../security/teams.js';
import { InitProducerId, Produce } from '../../src/kafka/messages-core.js';
import { RawKafka } from '../support/raw-kafka.js';

const UNKNOWN_PRODUCER_ID = 59;

let t: Teams;
before(async () => {
  t = await startTeams();
});
after(() => t.broker.close());

/** One idempotent batch of one record for partition 0 of orders-1, as a Produce v3 request. */
function produceRequest(value: string, producer: { producerId: number; producerEpoch: number; baseSequence: number }) {
  const b = new RecordBatchBuilder();
  b.append(null, value, Date.now());
  const batch = Buffer.from(b.finish(0, producer).subarray(4));
  return { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: 'orders-1', partitionData: [{ index: 0, records: batch }] }] };
}

test('a producer id from InitProducerId belongs to its principal: another principal\'s Kafka Produce with it is refused and changes nothing', async () => {
  const port = t.broker.server.kafkaPort!;
  const owner = await RawKafka.connect(port, 'team-a', t.teamA);
  const other = await RawKafka.connect(port, 'team-b', t.teamB);
  try {
    const init = await owner.call(InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 60_000 });
    assert.equal(init.errorCode, 0);
    const { producerId, producerEpoch } = init;
    const first = await owner.call(Produce, 3, produceRequest('team-a 0', { producerId, producerEpoch, baseSequence: 0 }));
    assert.equal(first.responses[0].partitionResponses[0].errorCode, 0);

    const before = t.ends();
    const stolen = await other.call(Produce, 3, produceRequest('team-b', { producerId, producerEpoch, baseSequence: 1 }));
    const refused = stolen.responses[0].partitionResponses[0];
    assert.equal(refused.errorCode, UNKNOWN_PRODUCER_ID, `team-b wrote with team-a's producer id (error ${refused.errorCode})`);
    assert.equal(Number(refused.baseOffset), -1);
    assert.deepEqual(t.ends(), before, 'team-b\'s batch was written');
    // the HTTP path refuses the same id the same way
    const http = await t.call(t.teamB, 'POST', '/v1/clusters/default/topics/orders-1/records', { producerId, producerEpoch, sequence: 1, records: [{ value: 'team-b', partition: 0 }] });
    assert.equal(http.status, 404, http.text);
    assert.equal(http.body.error.code, 'PRODUCER_NOT_FOUND');

    // team-a's own next sequence is written, not answered as a duplicate of team-b's
    const mine = await owner.call(Produce, 3, produceRequest('team-a 1', { producerId, producerEpoch, baseSequence: 1 }));
    const answer = mine.responses[0].partitionResponses[0];
    assert.equal(answer.errorCode, 0);
    assert.equal(t.ends()[0], before[0] + 1);
    const read = await t.call(t.admin, 'GET', `/v1/clusters/default/topics/orders-1/partitions/0/records?offset=${answer.baseOffset}&valueFormat=text`);
    assert.equal(read.body.records[0].value, 'team-a 1');
  } finally {
    owner.close();
    other.close();
  }
});
