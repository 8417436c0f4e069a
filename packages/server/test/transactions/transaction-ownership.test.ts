/**
 * Transactional ids are authorised like producer ids (write on the cluster) and belong to the
 * principal that first initialised them: another principal presenting one is refused, and
 * nothing changes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startSecureBroker, type Cast } from '../security/secure-broker.js';

let cast: Cast;
const X = '/v1/clusters/default/transactions';

before(async () => {
  cast = await startSecureBroker();
  const acl = async (principal: string, operations: string[], resource: Record<string, string>): Promise<void> => {
    const r = await cast.call('POST', '/v1/acls', { key: cast.admin, body: { principal, effect: 'allow', operations, resource } });
    assert.equal(r.status, 201, r.text);
  };
  // alice already writes topic scores; both may write the cluster (obtain producer and transactional ids)
  await acl('alice', ['write'], { type: 'cluster', name: 'default' });
  await acl('bob', ['write', 'describe'], { type: 'cluster', name: 'default' });
  await acl('bob', ['write'], { type: 'topic', name: 'scores', cluster: 'default' });
});
after(() => cast.broker.close());

test('a transactional id presented by another principal is refused (403), and the owner carries on', async () => {
  const init = await cast.call('POST', X, { key: cast.alice, body: { transactionalId: 'alice-tx' } });
  assert.equal(init.status, 200, init.text);
  const { producerId, producerEpoch } = init.body;
  const sent = await cast.call('POST', '/v1/clusters/default/topics/scores/records', { key: cast.alice, body: { transactionalId: 'alice-tx', producerId, producerEpoch, sequence: 0, records: [{ value: 'a', partition: 0 }] } });
  assert.equal(sent.status, 200, sent.text);
  const before = cast.snapshot();

  // bob cannot take the id over (which would fence alice), write into, end, or describe her transaction
  for (const [method, path, body] of [
    ['POST', X, { transactionalId: 'alice-tx' }],
    ['POST', '/v1/clusters/default/topics/scores/records', { transactionalId: 'alice-tx', producerId, producerEpoch, sequence: 1, records: [{ value: 'b', partition: 0 }] }],
    ['POST', `${X}/alice-tx/commit`, { producerId, producerEpoch }],
    ['POST', `${X}/alice-tx/abort`, {}],
    ['GET', `${X}/alice-tx`, undefined],
  ] as const) {
    const r = await cast.call(method, path, { key: cast.bob, body });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error.code, 'FORBIDDEN');
  }
  assert.equal(cast.snapshot(), before);
  const list = await cast.call('GET', X, { key: cast.bob });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.transactions, []);

  // carol may not see the cluster at all: it is absent for her, so no transactional id either
  assert.equal((await cast.call('POST', X, { key: cast.carol, body: { transactionalId: 'carol-tx' } })).status, 404);

  const mine = await cast.call('GET', `${X}/alice-tx`, { key: cast.alice });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.body.state, 'Ongoing');
  const commit = await cast.call('POST', `${X}/alice-tx/commit`, { key: cast.alice, body: { producerId, producerEpoch } });
  assert.equal(commit.status, 200, commit.text);
  assert.equal(commit.body.state, 'CompleteCommit');
  assert.equal(commit.body.principal, 'alice');
});

test('over Kafka (SASL) a transactional.id is the same id: another principal\'s is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, an own one commits', async () => {
  const init = await cast.call('POST', X, { key: cast.bob, body: { transactionalId: 'bob-kafka-tx' } });
  assert.equal(init.status, 200, init.text);
  const alice = new Kafka({ clientId: 'txn-owner', brokers: [`127.0.0.1:${cast.broker.server.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 2 }, sasl: { mechanism: 'plain', username: 'alice', password: cast.alice } });
  const thief = alice.producer({ transactionalId: 'bob-kafka-tx', maxInFlightRequests: 1, idempotent: true });
  await thief.connect();
  // kafkajs initialises the transactional id with the first transaction
  await assert.rejects(thief.transaction(), (err: Error & { type?: string }) => err.type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
  await thief.disconnect();
  const bobs = await cast.call('GET', `${X}/bob-kafka-tx`, { key: cast.bob });
  assert.equal(bobs.body.producerEpoch, init.body.producerEpoch);

  const own = alice.producer({ transactionalId: 'alice-kafka-tx', maxInFlightRequests: 1, idempotent: true });
  await own.connect();
  const txn = await own.transaction();
  await txn.send({ topic: 'scores', messages: [{ value: 'txn-over-kafka', partition: 0 }] });
  await txn.commit();
  await own.disconnect();
  const mine = await cast.call('GET', `${X}/alice-kafka-tx`, { key: cast.alice });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.body.principal, 'alice');
  assert.equal(mine.body.state, 'CompleteCommit');
});
