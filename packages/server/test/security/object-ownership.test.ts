/**
 * Object-level authorisation: an id that one principal obtained (a group member, a producer id
 * or name, an Idempotency-Key, a Durable Streams Producer-Id) is refused when another principal
 * presents it, on every path that takes it, and the refusal changes nothing. The principals are
 * those of teams.ts: team-a owns the objects, team-b and the intruder present them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTeams, type Teams } from './teams.js';
import { SseClient } from '../support/sse-client.js';
import { WsClient } from '../support/ws-client.js';

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

// ---- group members

const GROUP = '/v1/clusters/default/groups/orders-g';

/** team-a's member, joined over REST, that has read the 3 records of orders-1. */
async function teamAMember(): Promise<string> {
  const j = await t.call(t.teamA, 'POST', `${GROUP}/members`, { topics: ['orders-1'], autoOffsetReset: 'earliest', autoCommit: false, clientId: 'team-a-app' });
  assert.equal(j.status, 201, j.text);
  const memberId = j.body.memberId as string;
  const polled = await t.call(t.teamA, 'GET', `${GROUP}/members/${memberId}/records?maxWaitMs=2000&maxRecords=1`);
  assert.equal(polled.status, 200, polled.text);
  assert.equal(polled.body.records.length, 1);
  const c = await t.call(t.teamA, 'POST', `${GROUP}/members/${memberId}/offsets`, {});
  assert.equal(c.status, 200, c.text);
  return memberId;
}

/** Everything a refused call on the member must leave as it was (as the admin sees it). */
async function memberState(): Promise<string> {
  const d = await t.call(t.admin, 'GET', GROUP);
  assert.equal(d.status, 200, d.text);
  return JSON.stringify({ generation: d.body.generation, members: d.body.members, offsets: d.body.offsets, ends: t.ends() });
}

test('a group member answers only to the principal that joined it: others get 404 on REST, SSE and WebSocket, and change nothing', async () => {
  const memberId = await teamAMember();
  const missing = await t.call(t.intruder, 'GET', `${GROUP}/members/no-such-member/records`);
  assert.equal(missing.status, 404);
  // team-b may not read the group at all (GROUP_NOT_FOUND); the intruder may, and is answered
  // exactly as for a member that does not exist
  let who = t.intruder;
  const sameAsMissing = (r: { status: number; body: any; text: string }, what: string): void => {
    assert.equal(r.status, 404, `${what}: ${r.status} ${r.text}`);
    if (who !== t.intruder) return;
    assert.equal(r.body.error.code, 'MEMBER_NOT_FOUND', what);
    assert.equal(r.body.error.message.replace(memberId, 'X'), missing.body.error.message.replace('no-such-member', 'X'), what);
  };
  const before = await memberState();
  for (who of [t.intruder, t.teamB]) {
    const member = `${GROUP}/members/${memberId}`;
    sameAsMissing(await t.call(who, 'GET', `${member}/records?maxWaitMs=0`), 'poll');
    sameAsMissing(await t.call(who, 'POST', `${member}/heartbeat`), 'heartbeat');
    sameAsMissing(await t.call(who, 'PUT', `${member}/subscription`, { pattern: 'orders-.*' }), 'subscription');
    sameAsMissing(await t.call(who, 'POST', `${member}/offsets`, {}), 'commit');
    sameAsMissing(await t.call(who, 'DELETE', member), 'leave');
    const sse = await SseClient.open(`${t.url}${member}/records`, { authorization: `Bearer ${who}` });
    sameAsMissing({ status: sse.status, body: sse.errorBody, text: JSON.stringify(sse.errorBody) }, 'SSE');
    const ws = await WsClient.connect(t.url, { authorization: `Bearer ${who}` });
    try {
      const answer = await ws.request({ id: 1, type: 'subscribe', cluster: 'default', group: 'orders-g', memberId });
      assert.equal(answer.type, 'error', JSON.stringify(answer));
      assert.match(answer.error.code, who === t.intruder ? /^MEMBER_NOT_FOUND$/ : /_NOT_FOUND$/);
      assert.equal(ws.frames.filter((f) => f.type === 'records').length, 0);
    } finally {
      ws.close();
    }
  }
  assert.equal(await memberState(), before, 'a refused call changed the member (lease, subscription), its group or its offsets');
  // the owner carries on where it was: everything but the one record it had, nothing twice
  const total = t.ends().reduce((a, b) => a + b, 0);
  const next = await t.call(t.teamA, 'GET', `${GROUP}/members/${memberId}/records?maxRecords=1000`);
  assert.equal(next.status, 200, next.text);
  assert.equal(next.body.records.length, total - 1, 'another principal moved the member\'s positions');
  assert.equal((await t.call(t.teamA, 'DELETE', `${GROUP}/members/${memberId}`)).status, 204);
});

test('describe shows a group-read principal neither the members of others nor offsets of topics it cannot see', async () => {
  const memberId = await teamAMember();
  try {
    const seen = await t.call(t.intruder, 'GET', GROUP);
    assert.equal(seen.status, 200, seen.text);
    assert.deepEqual(seen.body.members, []);
    assert.deepEqual(seen.body.offsets, []);
    assert.equal(seen.body.totalLag, 0);
    assert.ok(!seen.text.includes(memberId) && !seen.text.includes('orders-1') && !seen.text.includes('team-a-app'), seen.text);
    const offsets = await t.call(t.intruder, 'GET', `${GROUP}/offsets`);
    assert.deepEqual(offsets.body.offsets, []);
    // the owner sees its member and its offsets; an admin sees everything
    const own = await t.call(t.teamA, 'GET', GROUP);
    assert.deepEqual(own.body.members.map((m: { memberId: string }) => m.memberId), [memberId]);
    assert.ok(own.body.offsets.some((o: { topic: string }) => o.topic === 'orders-1'));
    const all = await t.call(t.admin, 'GET', GROUP);
    assert.deepEqual(all.body.members.map((m: { memberId: string }) => m.memberId), [memberId]);
  } finally {
    await t.call(t.teamA, 'DELETE', `${GROUP}/members/${memberId}`);
  }
});

test('removing another principal\'s member is an admin action on the group', async () => {
  const memberId = await teamAMember();
  assert.equal((await t.call(t.intruder, 'DELETE', `${GROUP}/members/${memberId}`)).status, 404);
  const grant = await t.call(t.admin, 'POST', '/v1/acls', { principal: 'intruder', operations: ['admin'], resource: { type: 'group', name: 'orders-g' } });
  assert.equal(grant.status, 201, grant.text);
  try {
    // admin on the group removes the member, but still cannot act as it
    assert.equal((await t.call(t.intruder, 'GET', `${GROUP}/members/${memberId}/records`)).status, 404);
    assert.equal((await t.call(t.intruder, 'DELETE', `${GROUP}/members/${memberId}`)).status, 204);
    assert.equal((await t.call(t.teamA, 'POST', `${GROUP}/members/${memberId}/heartbeat`)).status, 404);
  } finally {
    await t.call(t.admin, 'DELETE', `/v1/acls/${grant.body.id}`);
  }
});

test('a read right revoked after the assignment stops delivery at the next poll', async () => {
  const memberId = await teamAMember();
  const deny = await t.call(t.admin, 'POST', '/v1/acls', { principal: 'team-a', effect: 'deny', operations: ['read'], resource: { type: 'topic', name: 'orders-1' } });
  assert.equal(deny.status, 201, deny.text);
  try {
    await t.call(t.admin, 'POST', RECORDS, { records: [{ value: 'after-revoke', partition: 0 }, { value: 'after-revoke', partition: 1 }] });
    const r = await t.call(t.teamA, 'GET', `${GROUP}/members/${memberId}/records?maxRecords=100`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.records, [], 'records of a topic the member\'s principal may no longer read were delivered');
  } finally {
    await t.call(t.admin, 'DELETE', `/v1/acls/${deny.body.id}`);
  }
  const after = await t.call(t.teamA, 'GET', `${GROUP}/members/${memberId}/records?maxRecords=100`);
  assert.ok(after.body.records.some((rec: { value: string }) => rec.value === 'after-revoke'), 'delivery resumes once the right is back');
  await t.call(t.teamA, 'DELETE', `${GROUP}/members/${memberId}`);
});
