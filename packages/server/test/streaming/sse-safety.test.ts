import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { SseClient, closeBroker } from '../support/sse-client.js';

let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker({ config: { heartbeatIntervalMs: 100, maxStreamsPerAddress: 3, corsOrigins: 'https://app.example.com' } });
  api = rest(broker.url);
  for (const name of ['inj', 'lim', 'gone']) assert.equal((await api.post('/v1/clusters/default/topics', { name, partitions: 1 })).status, 201);
});
after(() => closeBroker(broker));

const streamUrl = (t: string): string => `${broker.url}/v1/clusters/default/topics/${t}/partitions/0/records`;

/** Opens a stream, waiting (briefly) for streams closed by an earlier test to be noticed. */
async function openFree(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  for (let i = 0; ; i++) {
    const s = await SseClient.open(url, headers);
    if (s.status !== 429 || i === 50) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('no key, value or header can inject an event or a field: they arrive as data', async () => {
  const evil = '\n\nevent: x\ndata: {"forged":true}\nid: 999\n\n';
  const r1 = await api.post('/v1/clusters/default/topics/inj/records', {
    records: [
      { key: evil, value: evil, headers: { [evil]: evil } },
      { key: 'crlf\r\n\r\n', value: { nested: '\r\revent: y\r' } },
    ],
  });
  assert.equal(r1.status, 200, r1.text);
  // Valid JSON may hold raw line breaks between tokens; stored as text, it is shown as JSON when
  // the reader asks for json (spliced in as stored), else as the text it was.
  const r2 = await api.post('/v1/clusters/default/topics/inj/records', {
    valueFormat: 'text',
    records: [{ value: '{"a":\r\n\r\n1}' }, { value: '[1,\n\n2]' }, { value: '{"b":\r\r3}' }],
  });
  assert.equal(r2.status, 200, r2.text);
  const s = await SseClient.open(streamUrl('inj'));
  await s.until((c) => c.records().length === 5, 3000, '5 records');
  s.close();
  assert.deepEqual(s.messages.map((m) => m.event), ['record', 'record', 'record', 'record', 'record']);
  assert.deepEqual([...s.fields].sort(), ['data', 'event', 'id'], 'no other field appeared');
  assert.deepEqual(s.messages.map((m) => m.id), ['1', '2', '3', '4', '5']);
  const [a, b, c, d, e] = s.records();
  assert.equal(a.key, evil);
  assert.equal(a.value, evil);
  assert.deepEqual(a.headers, { [evil]: evil });
  assert.equal(b.key, 'crlf\r\n\r\n');
  assert.deepEqual(b.value, { nested: '\r\revent: y\r' });
  assert.deepEqual([c.value, d.value, e.value], ['{"a":\r\n\r\n1}', '[1,\n\n2]', '{"b":\r\r3}']);
  const j = await SseClient.open(`${streamUrl('inj')}?valueFormat=json`);
  await j.until((x) => x.records().length === 5, 3000, '5 records');
  j.close();
  assert.deepEqual([...j.fields].sort(), ['data', 'event', 'id'], 'no other field appeared');
  assert.deepEqual(j.records().slice(2).map((r) => r.value), [{ a: 1 }, [1, 2], { b: 3 }]);
});

test('limits: past maxStreamsPerAddress a stream gets 429 with the error shape; closing one frees a place', async () => {
  const open: SseClient[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await SseClient.open(streamUrl('lim'));
    assert.equal(s.status, 200);
    open.push(s);
  }
  const refused = await SseClient.open(streamUrl('lim'));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(refused.errorBody.error.code, 'TOO_MANY_REQUESTS');
  assert.match(refused.errorBody.error.message, /maxStreamsPerAddress/);
  assert.equal(refused.headers.get('retry-after'), '1');
  open[0].close();
  // the broker learns of the close asynchronously
  let again: SseClient | undefined;
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await SseClient.open(streamUrl('lim'));
    if (again.status === 200) break;
  }
  assert.equal(again!.status, 200, 'a place was freed');
  again!.close();
  for (const s of open) s.close();
});

test('heartbeat comments arrive on an idle stream', async () => {
  const s = await openFree(streamUrl('lim'));
  assert.equal(s.status, 200);
  await s.until((c) => c.comments.filter((x) => x === 'ping').length >= 2, 3000, 'two pings');
  s.close();
  assert.equal(s.messages.length, 0);
});

test('CORS: the stream and the preflight carry the configured origin; others get no grant', async () => {
  const s = await openFree(streamUrl('lim'), { origin: 'https://app.example.com' });
  assert.equal(s.status, 200);
  assert.equal(s.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.ok(s.headers.get('x-request-id'));
  // the head the stream writes itself: no buffering by proxies, a body that ends with the connection
  assert.equal(s.headers.get('cache-control'), 'no-cache, no-transform');
  assert.equal(s.headers.get('x-accel-buffering'), 'no');
  assert.equal(s.headers.get('connection'), 'close');
  assert.equal(s.headers.get('transfer-encoding'), null);
  s.close();
  const other = await openFree(streamUrl('lim'), { origin: 'https://evil.example.com' });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  other.close();
  const pre = await fetch(`${broker.url}/v1/clusters/default/topics/lim/records`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,idempotency-key' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);
  assert.match(pre.headers.get('access-control-allow-headers')!, /idempotency-key/);
  const produced = await fetch(`${broker.url}/v1/clusters/default/topics/lim/records`, {
    method: 'POST',
    headers: { origin: 'https://app.example.com', 'content-type': 'application/json' },
    body: JSON.stringify({ value: 1 }),
  });
  assert.equal(produced.status, 200);
  assert.equal(produced.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.match(produced.headers.get('access-control-expose-headers')!, /x-request-id/);
});

test('an error after the stream started is an error event, then the end', async () => {
  await api.post('/v1/clusters/default/topics/gone/records', { value: 1 });
  const s = await SseClient.open(streamUrl('gone'));
  await s.until((c) => c.records().length === 1, 3000, 'the record');
  assert.equal((await api.del('/v1/clusters/default/topics/gone')).status, 204);
  await s.waitEnd();
  const last = s.messages.at(-1)!;
  assert.equal(last.event, 'error');
  assert.equal(JSON.parse(last.data).error.code, 'TOPIC_NOT_FOUND');
});

test('shutdown ends open streams cleanly', async () => {
  const b = await startBroker();
  try {
    await rest(b.url).post('/v1/clusters/default/topics', { name: 'bye', partitions: 2 });
    const s1 = await SseClient.open(`${b.url}/v1/clusters/default/topics/bye/records`);
    const s2 = await SseClient.open(`${b.url}/v1/clusters/default/topics/bye/partitions/1/records`);
    assert.equal(s1.status, 200);
    const closing = b.close();
    await Promise.all([s1.waitEnd(), s2.waitEnd(), closing]);
    assert.ok(!s1.messages.some((m) => m.event === 'error'));
  } finally {
    await b.close();
  }
});
