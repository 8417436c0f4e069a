/**
 * Object-level authorisation on the Kafka listener's group protocol: a member that one principal
 * joined (over SASL) answers another principal presenting its member id exactly as a member that
 * does not exist (UNKNOWN_MEMBER_ID), on SyncGroup, Heartbeat, OffsetCommit and LeaveGroup, and
 * the refusal changes nothing; DescribeGroups shows a caller its own members only. team-a runs a
 * kafkajs consumer; the intruder (read on every group) sends raw frames with team-a's member id.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startTeams, type Teams } from '../security/teams.js';
import type { Message } from '../../src/kafka/schema.js';
import { Heartbeat, LeaveGroup, OffsetCommit, SyncGroup } from '../../src/kafka/messages-groups.js';
import { DescribeGroups } from '../../src/kafka/messages-admin.js';
import { RawKafka } from '../support/raw-kafka.js';

const UNKNOWN_MEMBER_ID = 25;
const GROUP = 'orders-k';

let t: Teams;
before(async () => {
  t = await startTeams();
});
after(() => t.broker.close());

test('a Kafka group member belongs to the principal that joined it: another principal presenting its id is answered UNKNOWN_MEMBER_ID and changes nothing', async () => {
  const port = t.broker.server.kafkaPort!;
  const kafka = new Kafka({ clientId: 'team-a-app', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, sasl: { mechanism: 'plain', username: 'team-a', password: t.teamA } });
  const consumer: Consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 500 });
  let memberId = '';
  let joins = 0;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    memberId = e.payload.memberId;
    joins++;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: ['orders-1'], fromBeginning: true });
  await consumer.run({ eachMessage: async () => undefined });
  const intruder = await RawKafka.connect(port, 'intruder', t.intruder);
  const owner = await RawKafka.connect(port, 'team-a', t.teamA);
  try {
    const deadline = Date.now() + 20_000;
    while (memberId === '') {
      assert.ok(Date.now() < deadline, 'the kafkajs consumer joined its group');
      await new Promise((r) => setTimeout(r, 50));
    }
    const own = await owner.call(DescribeGroups, 0, { groups: [GROUP] });
    assert.deepEqual(own.groups[0].members.map((m: Message) => m.memberId), [memberId]);
    const generationId = 1;
    const joinsBefore = joins;

    const seen = await intruder.call(DescribeGroups, 0, { groups: [GROUP] });
    assert.equal(seen.groups[0].errorCode, 0);
    assert.deepEqual(seen.groups[0].members, [], 'the intruder saw team-a\'s members');
    const sync = await intruder.call(SyncGroup, 0, { groupId: GROUP, generationId, memberId, assignments: [] });
    assert.equal(sync.errorCode, UNKNOWN_MEMBER_ID, 'SyncGroup as team-a\'s member');
    assert.equal(sync.assignment.length, 0, 'the intruder was handed team-a\'s assignment');
    const beat = await intruder.call(Heartbeat, 0, { groupId: GROUP, generationId, memberId });
    assert.equal(beat.errorCode, UNKNOWN_MEMBER_ID, 'Heartbeat as team-a\'s member');
    // even with read on the topic, the intruder cannot commit as team-a's member
    const grant = await t.call(t.admin, 'POST', '/v1/acls', { principal: 'intruder', operations: ['read'], resource: { type: 'topic', name: 'orders-1' } });
    assert.equal(grant.status, 201, grant.text);
    try {
      const commit = await intruder.call(OffsetCommit, 2, { groupId: GROUP, generationId, memberId, retentionTimeMs: -1, topics: [{ name: 'orders-1', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: null }] }] });
      assert.equal(commit.topics[0].partitions[0].errorCode, UNKNOWN_MEMBER_ID, 'OffsetCommit as team-a\'s member');
    } finally {
      await t.call(t.admin, 'DELETE', `/v1/acls/${grant.body.id}`);
    }
    const leave = await intruder.call(LeaveGroup, 0, { groupId: GROUP, memberId });
    assert.equal(leave.errorCode, UNKNOWN_MEMBER_ID, 'LeaveGroup of team-a\'s member');

    // nothing changed: team-a's member is still there, in its generation, without a rejoin
    const after = await owner.call(DescribeGroups, 0, { groups: [GROUP] });
    assert.deepEqual(after.groups[0].members.map((m: Message) => m.memberId), [memberId]);
    assert.equal((await owner.call(Heartbeat, 0, { groupId: GROUP, generationId, memberId })).errorCode, 0);
    assert.equal(joins, joinsBefore, 'team-a\'s consumer had to join again');
  } finally {
    intruder.close();
    owner.close();
    await consumer.disconnect();
  }
});
