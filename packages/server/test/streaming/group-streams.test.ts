import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGroupPosition } from '@webka/protocol';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { SseClient, closeBroker } from '../support/sse-client.js';
import { WsClient } from '../support/ws-client.js';

let broker: TestBroker;
let api: Rest;
const open: Array<{ close(): void }> = [];

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  for (const name of ['g-sse', 'g-resume', 'g-ws', 'g-amo']) {
    assert.equal((await api.post('/v1/clusters/default/topics', { name, partitions: 4 })).status, 201);
  }
});
after(async () => {
  for (const c of open) c.close();
  await closeBroker(broker);
});

async function produceAll(topic: string, perPartition: number, tag: string): Promise<void> {
  const records = [];
  for (let p = 0; p < 4; p++) for (let i = 0; i < perPartition; i++) records.push({ partition: p, value: { tag, p, i } });
  assert.equal((await api.post(`/v1/clusters/default/topics/${topic}/records`, { records })).status, 200);
}

async function join(group: string, topic: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api.post(`/v1/clusters/default/groups/${group}/members`, { topics: [topic], autoOffsetReset: 'earliest', autoCommit: false, ...extra });
  assert.equal(r.status, 201, r.text);
  return r.body.memberId;
}

const memberUrl = (group: string, member: string): string => `${broker.url}/v1/clusters/default/groups/${group}/members/${member}/records`;
const rebalances = (s: SseClient): any[] => s.messages.filter((m) => m.event === 'rebalance').map((m) => JSON.parse(m.data));

test('SSE group stream: announces the assignment, then follows a rebalance', async () => {
  await produceAll('g-sse', 3, 'before');
  const a = await join('sse-group', 'g-sse');
  const s = await SseClient.open(memberUrl('sse-group', a));
  open.push(s);
  assert.equal(s.status, 200);
  await s.until((c) => c.records().length === 12, 5000, '12 records');
  assert.equal(s.messages[0].event, 'rebalance', 'the assignment comes first');
  const first = rebalances(s)[0];
  assert.equal(first.memberId, a);
  assert.equal(first.assignment.length, 4);
  assert.deepEqual(Object.keys(s.records()[0]), ['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers']);
  // everything delivered so far is committed, so the partitions that move start after it
  assert.equal((await api.post(`/v1/clusters/default/groups/sse-group/members/${a}/offsets`)).status, 200);

  const b = await join('sse-group', 'g-sse');
  await s.until((c) => rebalances(c).length === 2, 5000, 'the rebalance event');
  const second = rebalances(s)[1];
  assert.ok(second.generation > first.generation);
  assert.equal(second.assignment.length, 2, JSON.stringify(second));
  const mine = new Set(second.assignment.map((tp: any) => tp.partition));

  const seen = s.records().length;
  await produceAll('g-sse', 2, 'after');
  await s.until((c) => c.records().length === seen + 4, 5000, 'the records of its 2 partitions');
  const after = s.records().slice(seen);
  assert.ok(after.every((r) => mine.has(r.partition) && r.value.tag === 'after'), JSON.stringify(after));
  const polled = await api.get(`/v1/clusters/default/groups/sse-group/members/${b}/records?maxWaitMs=2000`);
  assert.equal(polled.status, 200, polled.text);
  assert.deepEqual(polled.body.records.map((r: any) => r.value.tag), ['after', 'after', 'after', 'after'], 'the other member gets the rest, nothing twice');
  assert.ok(polled.body.records.every((r: any) => !mine.has(r.partition)));
});

test('SSE group stream: an at-least-once member resumes with Last-Event-ID, else from its commits', async () => {
  await produceAll('g-resume', 5, 'x');
  const a = await join('resume-group', 'g-resume');
  const s1 = await SseClient.open(memberUrl('resume-group', a));
  await s1.until((c) => c.records().length === 20, 5000, '20 records');
  s1.close();
  const got1 = s1.records();
  const position = decodeGroupPosition(s1.lastEventId);
  assert.equal(position?.length, 4);
  await produceAll('g-resume', 1, 'y');

  // Nothing committed: with the id, exactly what follows; the disconnect lost nothing.
  let s2 = await SseClient.open(memberUrl('resume-group', a), { 'last-event-id': s1.lastEventId });
  for (let i = 0; i < 20 && s2.status === 429; i++) s2 = await SseClient.open(memberUrl('resume-group', a), { 'last-event-id': s1.lastEventId });
  await s2.until((c) => c.records().length >= 4, 5000, 'the 4 new records');
  await new Promise((r) => setTimeout(r, 100));
  s2.close();
  assert.deepEqual(s2.records().map((r) => r.value.tag), ['y', 'y', 'y', 'y']);
  assert.equal(got1.length, 20);

  // Without an id, an at-least-once member goes back to its commits (none): all again.
  await new Promise((r) => setTimeout(r, 50));
  const s3 = await SseClient.open(memberUrl('resume-group', a));
  await s3.until((c) => c.records().length >= 24, 5000, 'everything again');
  s3.close();
  assert.equal(s3.records().length, 24);
});

test('WebSocket group subscription: records, acks commit, rebalances announced, leave on unsubscribe', async () => {
  await produceAll('g-ws', 2, 'w');
  const c1 = await WsClient.connect(broker.url);
  open.push(c1);
  const sub1 = await c1.request({ type: 'subscribe', id: 1, cluster: 'default', group: 'ws-group', topics: ['g-ws'], autoOffsetReset: 'earliest' });
  assert.equal(sub1.type, 'subscribed', JSON.stringify(sub1));
  const reb1 = await c1.waitFor((f) => f.type === 'rebalance');
  assert.equal(reb1.assignment.length, 4);
  await c1.waitFor(() => c1.records(sub1.subscription).length === 8, 5000, '8 records');
  const frame = c1.frames.find((f) => f.type === 'records');
  assert.equal(frame.generation, reb1.generation);

  // ack: everything up to and including offset 1 of each partition
  for (let p = 0; p < 4; p++) {
    const a = await c1.request({ type: 'ack', id: `ack${p}`, subscription: sub1.subscription, topic: 'g-ws', partition: p, offset: 1 });
    assert.equal(a.type, 'acked', JSON.stringify(a));
  }
  const offsets = await api.get('/v1/clusters/default/groups/ws-group/offsets');
  assert.deepEqual(offsets.body.offsets.map((o: any) => o.committed), [2, 2, 2, 2]);

  const c2 = await WsClient.connect(broker.url);
  open.push(c2);
  const sub2 = await c2.request({ type: 'subscribe', id: 'b', cluster: 'default', group: 'ws-group', topics: ['g-ws'] });
  await c1.waitFor((f) => f.type === 'rebalance' && f.generation > reb1.generation, 5000, 'a rebalance');
  const reb2 = await c2.waitFor((f) => f.type === 'rebalance');
  assert.equal(reb2.assignment.length, 2);
  await c2.request({ type: 'unsubscribe', id: 'u', subscription: sub2.subscription });
  const back = await c1.waitFor((f) => f.type === 'rebalance' && f.assignment.length === 4 && f.generation > reb2.generation, 5000, 'all partitions back');
  assert.ok(back);
  const bad = await c1.request({ type: 'ack', id: 'x', subscription: 'nope', topic: 'g-ws', partition: 0, offset: 1 });
  assert.equal(bad.error.code, 'NOT_FOUND');
});

test('WebSocket at-most-once: records are committed as they are sent', async () => {
  await produceAll('g-amo', 1, 'm');
  const c = await WsClient.connect(broker.url);
  open.push(c);
  const sub = await c.request({ type: 'subscribe', id: 1, cluster: 'default', group: 'amo-group', topics: ['g-amo'], autoOffsetReset: 'earliest', delivery: 'at-most-once' });
  await c.waitFor(() => c.records(sub.subscription).length === 4, 5000, '4 records');
  const offsets = await api.get('/v1/clusters/default/groups/amo-group/offsets');
  assert.deepEqual(offsets.body.offsets.map((o: any) => o.committed), [1, 1, 1, 1]);
});
