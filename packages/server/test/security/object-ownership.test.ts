/**
 * Object-level authorisation: an id that one principal obtained (a group member, a producer id
 * or name, an Idempotency-Key, a Durable Streams Producer-Id) is refused when another principal
 * presents it, on every path that takes it, and the refusal changes nothing. The principals are
 * those of teams.ts: team-a owns the objects, team-b and the intruder present them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTeams, type Teams } from './teams.js';

let t: Teams;

before(async () => {
  t = await startTeams();
});
after(() => t.broker.close());

const RECORDS = '/v1/clusters/default/topics/orders-1/records';

test('Idempotency-Key: another principal replaying a key and body gets its own answer, never the first one', async () => {
  const body = { records: [{ value: 'a', partition: 0 }] };
  const first = await t.call(t.teamA, 'POST', RECORDS, body, { 'idempotency-key': 'k-replay' });
  assert.equal(first.status, 200, first.text);
  const replay = await t.call(t.teamB, 'POST', RECORDS, body, { 'idempotency-key': 'k-replay' });
  assert.equal(replay.status, 200, replay.text);
  assert.notEqual(replay.body.records[0].offset, first.body.records[0].offset, 'team-b was handed team-a\'s answer');
  // the owner's own retry still gets its first answer
  const again = await t.call(t.teamA, 'POST', RECORDS, body, { 'idempotency-key': 'k-replay' });
  assert.deepEqual(again.body, first.body);
});

test('Idempotency-Key: a key another principal used first does not block the owner\'s request', async () => {
  const squat = await t.call(t.teamB, 'POST', RECORDS, { records: [{ value: 'squat', partition: 0 }] }, { 'idempotency-key': 'k-squat' });
  assert.equal(squat.status, 200, squat.text);
  const before = t.ends();
  const mine = await t.call(t.teamA, 'POST', RECORDS, { records: [{ value: 'mine', partition: 1 }] }, { 'idempotency-key': 'k-squat' });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.body.records[0].partition, 1);
  assert.equal(t.ends()[1], before[1] + 1, 'team-a\'s record was written');
});
