/**
 * maxGroupMembers bounds the members of every consumer group a broker coordinates together, HTTP
 * and Kafka-protocol alike: a join past it is refused (HTTP 429 TOO_MANY_MEMBERS, Kafka
 * GROUP_MAX_SIZE_REACHED) and makes nothing, not even an empty group (so refused joins with ever
 * new group ids cost nothing); a member leaving makes room for the next.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError } from '../support/rest.js';
import { RawKafka } from '../support/raw-kafka.js';
import { JoinGroup } from '../../src/kafka/messages-groups.js';

let broker: TestBroker | undefined;
after(async () => broker?.close());

test('a join past maxGroupMembers is refused over HTTP and Kafka and makes nothing; a member leaving makes room', async () => {
  broker = await startBroker({ config: { maxGroupMembers: 3 } });
  const api = rest(broker.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'events', partitions: 2 })).status, 201);
  const join = (group: string) => api.post(`/v1/clusters/default/groups/${group}/members`, { topics: ['events'] });
  const members: Array<{ group: string; memberId: string }> = [];
  for (const group of ['g1', 'g1', 'g2']) {
    const r = await join(group);
    assert.equal(r.status, 201, r.text);
    members.push({ group, memberId: r.body.memberId });
  }
  const msg = assertError(await join('g3'), 429, 'TOO_MANY_MEMBERS');
  assert.match(msg, /maxGroupMembers/);
  assertError(await join('g1'), 429, 'TOO_MANY_MEMBERS');

  const k = await RawKafka.connect(broker.server.kafkaPort!);
  try {
    const r = await k.call(JoinGroup, 3, { groupId: 'k1', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
    assert.equal(r.errorCode, 81, 'GROUP_MAX_SIZE_REACHED');
  } finally {
    k.close();
  }
  const listed = (await api.get('/v1/clusters/default/groups')).body.groups.map((g: { group: string }) => g.group).sort();
  assert.deepEqual(listed, ['g1', 'g2'], 'the refused joins made no group');

  const left = await api.del(`/v1/clusters/default/groups/g1/members/${members[0].memberId}`);
  assert.equal(left.status, 204, left.text);
  const again = await join('g3');
  assert.equal(again.status, 201, `room again once a member left: ${again.text}`);
  assertError(await join('g4'), 429, 'TOO_MANY_MEMBERS');
});
