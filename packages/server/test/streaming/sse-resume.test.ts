import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTopicPosition } from '@webka/protocol';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, type Rest } from '../support/rest.js';
import { SseClient, closeBroker } from '../support/sse-client.js';

let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
});
after(() => closeBroker(broker));

const topicUrl = (t: string): string => `${broker.url}/v1/clusters/default/topics/${t}`;

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await api.post('/v1/clusters/default/topics', { name, partitions });
  assert.equal(r.status, 201, r.text);
}

async function produce(topic: string, records: unknown[]): Promise<void> {
  const r = await api.post(`/v1/clusters/default/topics/${topic}/records`, { records });
  assert.equal(r.status, 200, r.text);
}

/** Produces `count` records numbered from `from`, in batches, spread over partitions. */
async function produceNumbered(topic: string, from: number, count: number, partitions = 1): Promise<void> {
  for (let i = from; i < from + count; i += 10) {
    const batch = [];
    for (let j = i; j < Math.min(i + 10, from + count); j++) batch.push({ partition: j % partitions, value: { n: j } });
    await produce(topic, batch);
  }
}

test('partition stream: a client dropped mid-stream resumes with Last-Event-ID and gets every record exactly once', async () => {
  await createTopic('resume-p', 1);
  await produceNumbered('resume-p', 0, 100);
  // URL offset=0 on both connections: on the second, Last-Event-ID must win or records repeat.
  const url = `${topicUrl('resume-p')}/partitions/0/records?offset=0`;
  const first = await SseClient.open(url);
  assert.equal(first.status, 200);
  assert.match(first.headers.get('content-type')!, /^text\/event-stream/);
  const producing = produceNumbered('resume-p', 100, 200);
  await first.until((c) => c.records().length >= 120, 5000, '120 records');
  first.close();
  await producing;
  await produceNumbered('resume-p', 300, 50);
  const got1 = first.records();
  const resumeFrom = first.lastEventId;
  assert.equal(resumeFrom, String(got1.at(-1).offset + 1), 'a partition id is the next offset');

  const second = await SseClient.open(url, { 'last-event-id': resumeFrom });
  assert.equal(second.status, 200);
  await second.until((c) => got1.length + c.records().length >= 350, 5000, 'the rest');
  await new Promise((r) => setTimeout(r, 50)); // room for a duplicate to show up
  second.close();
  const all = [...got1, ...second.records()];
  assert.deepEqual(all.map((r) => r.offset), Array.from({ length: 350 }, (_, i) => i), 'every offset once, in order');
  assert.deepEqual(all.map((r) => r.value.n), Array.from({ length: 350 }, (_, i) => i));
  const rec = all[7];
  assert.deepEqual(Object.keys(rec), ['offset', 'timestamp', 'key', 'value', 'headers'], 'the fetch API\'s record shape');
});

test('Last-Event-ID beats the URL offset; a bad or out-of-range one is refused before the stream starts', async () => {
  await createTopic('resume-q', 1);
  await produceNumbered('resume-q', 0, 20);
  const s = await SseClient.open(`${topicUrl('resume-q')}/partitions/0/records?offset=latest`, { 'last-event-id': '15' });
  await s.until((c) => c.records().length >= 5, 3000, '5 records');
  s.close();
  assert.deepEqual(s.records().map((r) => r.offset), [15, 16, 17, 18, 19]);

  const bad = await SseClient.open(`${topicUrl('resume-q')}/partitions/0/records`, { 'last-event-id': 't:zz' });
  assert.equal(bad.status, 400);
  assert.equal(bad.errorBody.error.code, 'INVALID_OFFSET');
  const far = await SseClient.open(`${topicUrl('resume-q')}/partitions/0/records`, { 'last-event-id': '999' });
  assert.equal(far.status, 416);
  assert.equal(far.errorBody.error.code, 'OFFSET_OUT_OF_RANGE');
  const missing = await SseClient.open(`${topicUrl('nope')}/partitions/0/records`);
  assert.equal(missing.status, 404);
  assert.equal(missing.errorBody.error.code, 'TOPIC_NOT_FOUND');
  // Without Accept: text/event-stream the same URL is the plain fetch.
  const plain = await api.get('/v1/clusters/default/topics/resume-q/partitions/0/records?offset=18');
  assert.deepEqual(plain.body.records.map((r: { offset: number }) => r.offset), [18, 19]);
});

test('topic stream: every partition, new partitions too, and a resume misses and repeats nothing', async () => {
  await createTopic('resume-t', 3);
  await produceNumbered('resume-t', 0, 90, 3);
  const url = `${topicUrl('resume-t')}/records?offset=earliest`;
  const first = await SseClient.open(url);
  assert.equal(first.status, 200);
  const producing = produceNumbered('resume-t', 90, 150, 3);
  await first.until((c) => c.records().length >= 100, 5000, '100 records');
  first.close();
  await producing;
  const got1 = first.records();
  const position = decodeTopicPosition(first.lastEventId);
  assert.ok(position !== null && position.length === 3, `a topic id names each partition: ${first.lastEventId}`);

  // The topic grows while the client is away: the new partition is read from its start.
  assert.equal((await api.patch('/v1/clusters/default/topics/resume-t', { partitions: 4 })).status, 200);
  await produce('resume-t', [{ partition: 3, value: { n: 240 } }, { partition: 3, value: { n: 241 } }]);
  const second = await SseClient.open(url, { 'last-event-id': first.lastEventId });
  assert.equal(second.status, 200);
  await second.until((c) => got1.length + c.records().length >= 242, 5000, 'the rest');
  // ... and one added while the stream is open is followed too.
  assert.equal((await api.patch('/v1/clusters/default/topics/resume-t', { partitions: 5 })).status, 200);
  await produce('resume-t', [{ partition: 4, value: { n: 242 } }]);
  await second.until((c) => got1.length + c.records().length >= 243, 5000, 'the record of partition 4');
  await new Promise((r) => setTimeout(r, 50));
  second.close();

  const all = [...got1, ...second.records()];
  assert.deepEqual(all.map((r) => r.value.n).sort((a, b) => a - b), Array.from({ length: 243 }, (_, i) => i), 'every record exactly once');
  for (let p = 0; p < 5; p++) {
    const offsets = all.filter((r) => r.partition === p).map((r) => r.offset);
    assert.deepEqual(offsets, Array.from({ length: offsets.length }, (_, i) => i), `partition ${p} in order from 0`);
  }
  assert.deepEqual(decodeTopicPosition(second.lastEventId), [80, 80, 80, 2, 1]);
});

test('a topic stream needs Accept: text/event-stream and a topic position, not a partition offset', async () => {
  const r = await api.get('/v1/clusters/default/topics/resume-t/records');
  assertError(r, 406, 'NOT_ACCEPTABLE');
  const tooMany = await SseClient.open(`${topicUrl('resume-t')}/records`, { 'last-event-id': 't:0.0.0.0.0.0' });
  assert.equal(tooMany.status, 400);
  assert.equal(tooMany.errorBody.error.code, 'INVALID_OFFSET');
  const s = await SseClient.open(`${topicUrl('resume-t')}/records?offset=latest`);
  assert.equal(s.status, 200);
  await produce('resume-t', [{ partition: 1, value: 'late' }]);
  await s.until((c) => c.records().length === 1, 3000, 'the record produced after the start');
  s.close();
  assert.deepEqual([s.records()[0].partition, s.records()[0].value], [1, 'late']);
});
