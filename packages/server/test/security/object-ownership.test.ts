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
import { RecordBatchBuilder, RECORD_BATCH_CONTENT_TYPE } from '@webka/protocol';

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

// ---- producer ids and names

const PRODUCERS = '/v1/clusters/default/producers';

test('a producer id belongs to the principal that obtained it: another principal\'s write with it is refused, over REST and WebSocket, and the owner\'s sequence is untouched', async () => {
  const issued = await t.call(t.teamA, 'POST', PRODUCERS);
  assert.equal(issued.status, 201, issued.text);
  const { producerId, producerEpoch } = issued.body;
  const before = t.ends();
  const stolen = await t.call(t.teamB, 'POST', RECORDS, { producerId, producerEpoch, sequence: 0, records: [{ value: 'team-b', partition: 0 }] });
  assert.equal(stolen.status, 404, stolen.text);
  assert.equal(stolen.body.error.code, 'PRODUCER_NOT_FOUND');
  const never = await t.call(t.teamB, 'POST', RECORDS, { producerId: 999_999, producerEpoch: 0, sequence: 0, records: [{ value: 'x', partition: 0 }] });
  assert.equal(stolen.body.error.message.replace(String(producerId), 'N'), never.body.error.message.replace('999999', 'N'), 'the answer tells an issued id from one never issued');
  const ws = await WsClient.connect(t.url, { authorization: `Bearer ${t.teamB}` });
  try {
    const answer = await ws.request({ id: 'p', type: 'produce', cluster: 'default', topic: 'orders-1', producerId, producerEpoch, sequence: 0, records: [{ value: 'team-b', partition: 0 }] });
    assert.equal(answer.type, 'error', JSON.stringify(answer));
    assert.equal(answer.error.code, 'PRODUCER_NOT_FOUND');
  } finally {
    ws.close();
  }
  // the same producer fields inside a binary RecordBatch body
  const b = new RecordBatchBuilder();
  b.append(null, 'team-b', Date.now());
  const binary = await fetch(t.url + RECORDS, { method: 'POST', headers: { authorization: `Bearer ${t.teamB}`, 'content-type': RECORD_BATCH_CONTENT_TYPE }, body: b.finish(0, { producerId, producerEpoch, baseSequence: 0 }) });
  const binaryAnswer = (await binary.json()) as { error: { code: string; message: string } };
  assert.equal(binary.status, 404, JSON.stringify(binaryAnswer));
  assert.equal(binaryAnswer.error.code, 'PRODUCER_NOT_FOUND');
  assert.equal(binaryAnswer.error.message, stolen.body.error.message);
  assert.deepEqual(t.ends(), before, 'team-b wrote with team-a\'s producer id');
  // team-a's own first request with sequence 0 is written, not answered as a duplicate
  const mine = await t.call(t.teamA, 'POST', RECORDS, { producerId, producerEpoch, sequence: 0, records: [{ value: 'team-a', partition: 0 }] });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(t.ends()[0], before[0] + 1);
  const read = await t.call(t.admin, 'GET', `/v1/clusters/default/topics/orders-1/partitions/0/records?offset=${mine.body.records[0].offset}`);
  assert.equal(read.body.records[0].value, 'team-a');
});

test('a producer name belongs to the principal that uses it: another principal asking for it cannot fence the first', async () => {
  const first = await t.call(t.teamA, 'POST', PRODUCERS, { name: 'billing-1' });
  assert.equal(first.status, 201, first.text);
  const other = await t.call(t.intruder, 'POST', PRODUCERS, { name: 'billing-1' });
  assert.equal(other.status, 201, other.text);
  assert.notEqual(other.body.producerId, first.body.producerId, 'the intruder was handed team-a\'s producer');
  const { producerId, producerEpoch } = first.body;
  const still = await t.call(t.teamA, 'POST', RECORDS, { producerId, producerEpoch, sequence: 0, records: [{ value: 'not fenced', partition: 1 }] });
  assert.equal(still.status, 200, `team-a was fenced: ${still.text}`);
  // the owner asking again does fence its own earlier instance
  const again = await t.call(t.teamA, 'POST', PRODUCERS, { name: 'billing-1' });
  assert.equal(again.body.producerId, producerId);
  assert.equal(again.body.producerEpoch, producerEpoch + 1);
});

test('a Durable Streams Producer-Id belongs to the principal that sends it', async () => {
  const acl = await t.call(t.admin, 'POST', '/v1/acls', { principal: '*', operations: ['read', 'write', 'create'], resource: { type: 'topic', name: '*', cluster: 'streams' } });
  assert.equal(acl.status, 201, acl.text);
  const stream = '/v1/stream/shared-log';
  assert.equal((await t.call(t.admin, 'PUT', stream, undefined, { 'content-type': 'text/plain' })).status, 201);
  const append = (key: string, seq: number, body: string) =>
    t.call(key, 'POST', stream, body, { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': '0', 'producer-seq': String(seq) });
  assert.equal((await append(t.teamA, 0, 'a0')).status, 200);
  // team-b's seq 0 under the same Producer-Id is its own first append, not team-a's duplicate
  const b0 = await append(t.teamB, 0, 'b0');
  assert.equal(b0.status, 200, b0.text);
  // and a higher epoch from team-b does not fence team-a
  await t.call(t.teamB, 'POST', stream, 'b-epoch', { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': '5', 'producer-seq': '0' });
  assert.equal((await append(t.teamA, 1, 'a1')).status, 200, 'team-a was fenced by team-b');
  const all = await t.call(t.admin, 'GET', `${stream}?offset=-1`);
  assert.match(all.text, /a0.*b0.*a1/s);
});

test('a read right revoked while a topic is followed (SSE, WebSocket) ends the follow before anything more of the topic is delivered', async () => {
  const topic = '/v1/clusters/default/topics/orders-1';
  const sse = await SseClient.open(`${t.url}${topic}/records?offset=earliest`, { authorization: `Bearer ${t.teamA}` });
  assert.equal(sse.status, 200);
  const ws = await WsClient.connect(t.url, { authorization: `Bearer ${t.teamA}` });
  try {
    const sub = await ws.request({ id: 's', type: 'subscribe', cluster: 'default', topic: 'orders-1', offset: 'earliest' });
    assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
    const value = (v: string) => (r: { value: unknown }) => r.value === v;
    assert.equal((await t.call(t.admin, 'POST', RECORDS, { records: [{ value: 'follow-before', partition: 0 }] })).status, 200);
    await sse.until((c) => c.records().some(value('follow-before')), 5_000, 'the record before the revoke');
    await ws.waitFor(() => ws.records(sub.subscription).some(value('follow-before')), 5_000, 'the record before the revoke');
    const deny = await t.call(t.admin, 'POST', '/v1/acls', { principal: 'team-a', effect: 'deny', operations: ['read'], resource: { type: 'topic', name: 'orders-1' } });
    assert.equal(deny.status, 201, deny.text);
    try {
      assert.equal((await t.call(t.admin, 'POST', RECORDS, { records: [{ value: 'follow-after', partition: 0 }, { value: 'follow-after', partition: 1 }] })).status, 200);
      await sse.waitEnd(5_000);
      const last = sse.messages.at(-1)!;
      assert.equal(last.event, 'error');
      assert.equal(JSON.parse(last.data).error.code, 'FORBIDDEN');
      const failed = await ws.waitFor((f) => f.type === 'error' && f.subscription === sub.subscription, 5_000, 'the subscription\'s error');
      assert.equal(failed.error.code, 'FORBIDDEN');
      assert.ok(!sse.records().some(value('follow-after')), 'the SSE stream delivered records after the read right was revoked');
      assert.ok(!ws.records(sub.subscription).some(value('follow-after')), 'the subscription delivered records after the read right was revoked');
    } finally {
      await t.call(t.admin, 'DELETE', `/v1/acls/${deny.body.id}`);
    }
  } finally {
    sse.close();
    ws.close();
  }
});

test('a transaction cannot commit offsets as another principal\'s group member', async () => {
  const memberId = await teamAMember();
  const grant = await t.call(t.admin, 'POST', '/v1/acls', { principal: 'intruder', operations: ['read'], resource: { type: 'topic', name: 'orders-1' } });
  assert.equal(grant.status, 201, grant.text);
  try {
    const X = '/v1/clusters/default/transactions';
    const init = await t.call(t.intruder, 'POST', X, { transactionalId: 'intruder-tx' });
    assert.equal(init.status, 200, init.text);
    const { producerId, producerEpoch } = init.body;
    const before = await memberState();
    const generation = (await t.call(t.admin, 'GET', GROUP)).body.generation;
    const r = await t.call(t.intruder, 'POST', `${X}/intruder-tx/offsets`, { producerId, producerEpoch, groupId: 'orders-g', generation, memberId, offsets: [{ topic: 'orders-1', partition: 0, offset: 0 }] });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.error.code, 'MEMBER_NOT_FOUND');
    assert.equal((await t.call(t.intruder, 'POST', `${X}/intruder-tx/commit`, { producerId, producerEpoch })).status, 200);
    assert.equal(await memberState(), before, 'the intruder\'s transaction changed team-a\'s member or offsets');
  } finally {
    await t.call(t.admin, 'DELETE', `/v1/acls/${grant.body.id}`);
    await t.call(t.teamA, 'DELETE', `${GROUP}/members/${memberId}`);
  }
});

test('a read right deleted while a Durable Stream is read live (long poll, SSE) stops the next delivery with the answer a fresh read gets', async () => {
  // a broker of its own: the shared one lets every principal read every stream (an earlier test)
  const s = await startTeams();
  try {
    const stream = '/v1/stream/revoked-log';
    const acl = async (operations: string[]): Promise<string> => {
      const r = await s.call(s.admin, 'POST', '/v1/acls', { principal: 'team-a', operations, resource: { type: 'topic', name: '*', cluster: 'streams' } });
      assert.equal(r.status, 201, r.text);
      return r.body.id;
    };
    await acl(['describe']);
    const read = await acl(['read']);
    assert.equal((await s.call(s.admin, 'PUT', stream, undefined, { 'content-type': 'text/plain' })).status, 201);
    const append = async (body: string): Promise<void> => assert.equal((await s.call(s.admin, 'POST', stream, body, { 'content-type': 'text/plain' })).status, 204);
    await append('before|');
    const first = await s.call(s.teamA, 'GET', `${stream}?offset=-1`);
    assert.equal(first.status, 200, first.text);
    const tail = first.headers.get('stream-next-offset')!;

    const sse = await SseClient.open(`${s.url}${stream}?offset=-1&live=sse`, { authorization: `Bearer ${s.teamA}` });
    assert.equal(sse.status, 200);
    try {
      await sse.until((c) => c.messages.some((m) => m.event === 'data' && m.data.includes('before')), 5_000, 'the data before the revoke');
      const security = s.broker.server.app.security;
      const live = security.streams.size;
      const poll = s.call(s.teamA, 'GET', `${stream}?offset=${encodeURIComponent(tail)}&live=long-poll`);
      // the long poll passed its checks and waits at the tail
      for (let i = 0; i < 500 && security.streams.size === live; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(security.streams.size, live + 1, 'the long poll is waiting');

      const deleted = await s.call(s.admin, 'DELETE', `/v1/acls/${read}`);
      assert.ok(deleted.status < 300, deleted.text);
      await append('after|');
      const fresh = await s.call(s.teamA, 'GET', `${stream}?offset=-1`);
      assert.equal(fresh.status, 403, fresh.text);
      const answered = await poll;
      assert.equal(answered.status, fresh.status, `the waiting long poll answered ${answered.status} ${answered.text}`);
      assert.equal(answered.text, fresh.text);
      assert.equal(answered.headers.get('content-type'), fresh.headers.get('content-type'));
      await sse.waitEnd(5_000);
      assert.ok(!sse.messages.some((m) => m.data.includes('after')), 'the SSE stream delivered data after the read right was deleted');
      assert.ok(sse.comments.some((c) => c.startsWith('403 ')), `the stream says why it ends: ${JSON.stringify(sse.comments)}`);
      // the stream's reader reconnecting from where it was is refused as any fresh read
      const again = await s.call(s.teamA, 'GET', `${stream}?offset=${encodeURIComponent(tail)}&live=sse`);
      assert.equal(again.status, fresh.status);
      assert.equal(again.text, fresh.text);
    } finally {
      sse.close();
    }
  } finally {
    await s.broker.close();
  }
});
