import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTopicPosition } from '@webka/protocol';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { WsClient } from '../support/ws-client.js';

let broker: TestBroker;
let api: Rest;
const sockets: WsClient[] = [];

before(async () => {
  broker = await startBroker({ config: { maxSubscriptionsPerSocket: 3, maxFrameBytes: 64 * 1024, maxWebSockets: 4 } });
  api = rest(broker.url);
  for (const [name, partitions] of [['ws', 2], ['ws-limits', 1]] as const) {
    assert.equal((await api.post('/v1/clusters/default/topics', { name, partitions })).status, 201);
  }
});
after(async () => {
  for (const s of sockets) s.close();
  await broker.close();
});

async function connect(): Promise<WsClient> {
  const c = await WsClient.connect(broker.url);
  sockets.push(c);
  return c;
}

test('produce and subscribe on one socket: acknowledgements match request ids, records arrive once', async () => {
  const c = await connect();
  const hello = await c.waitFor((f) => f.type === 'hello');
  assert.deepEqual(hello.limits, { maxFrameBytes: 64 * 1024, maxSubscriptions: 3 });

  const sub = await c.request({ type: 'subscribe', id: 'sub-1', cluster: 'default', topic: 'ws' });
  assert.equal(sub.type, 'subscribed');
  const subscription: string = sub.subscription;

  // Pipelined: every answer names its request, whatever order they come back in.
  const ids = ['a', 2, 'c', 4, 'e'];
  for (const [i, id] of ids.entries()) {
    c.send({ type: 'produce', id, cluster: 'default', topic: 'ws', records: [{ partition: i % 2, key: `k${i}`, value: { i } }, { partition: i % 2, value: { i, second: true } }] });
  }
  const answers = await Promise.all(ids.map((id) => c.waitFor((f) => f.id === id, 5000, `answer ${id}`)));
  for (const [i, a] of answers.entries()) {
    assert.equal(a.type, 'produced', JSON.stringify(a));
    assert.equal(a.records.length, 2);
    assert.deepEqual(a.records.map((r: any) => r.partition), [i % 2, i % 2]);
    assert.equal(a.records[1].offset, a.records[0].offset + 1);
  }
  const wantP0 = answers.filter((_, i) => i % 2 === 0).flatMap((a) => a.records.map((r: any) => r.offset));
  await c.waitFor(() => c.records(subscription).length >= 10, 5000, '10 records');
  const got = c.records(subscription);
  assert.equal(got.length, 10);
  assert.deepEqual(got.filter((r) => r.partition === 0).map((r) => r.offset), wantP0);
  const first = got.find((r) => r.partition === 0 && r.offset === 0);
  assert.deepEqual([first.key, first.value, first.headers], ['k0', { i: 0 }, {}]);

  // The last records frame's position resumes a new subscription exactly after it.
  const last = c.frames.filter((f) => f.type === 'records' && f.subscription === subscription).at(-1);
  const position = decodeTopicPosition(last.position);
  assert.deepEqual(position, [6, 4]);
  const un = await c.request({ type: 'unsubscribe', id: 'u1', subscription });
  assert.deepEqual(un, { type: 'unsubscribed', id: 'u1', subscription });
  await c.request({ type: 'produce', id: 'after', cluster: 'default', topic: 'ws', records: [{ partition: 1, value: 'new' }] });
  const again = await c.request({ type: 'subscribe', id: 'sub-2', cluster: 'default', topic: 'ws', offset: last.position });
  await c.waitFor((f) => f.type === 'records' && f.subscription === again.subscription);
  assert.deepEqual(c.records(again.subscription).map((r) => [r.partition, r.offset, r.value]), [[1, 4, 'new']]);
  assert.equal(c.records(subscription).length, 10, 'nothing more after unsubscribe');

  // One partition, from an offset.
  const one = await c.request({ type: 'subscribe', id: 'sub-3', cluster: 'default', topic: 'ws', partition: 0, offset: 4, valueFormat: 'text' });
  await c.waitFor(() => c.records(one.subscription).length >= 2);
  const oneFrames = c.frames.filter((f) => f.type === 'records' && f.subscription === one.subscription);
  assert.equal(oneFrames.at(-1).position, '6');
  assert.deepEqual(c.records(one.subscription).map((r) => [r.offset, r.value]), [[4, '{"i":4}'], [5, '{"i":4,"second":true}']]);
});

test('bad frames get error frames with the request id; the socket keeps working', async () => {
  const c = await connect();
  c.send('{not json');
  const e1 = await c.waitFor((f) => f.type === 'error' && f.error.code === 'INVALID_JSON');
  assert.equal(e1.id, null);
  const e2 = await c.request({ type: 'teleport', id: 'x1' });
  assert.deepEqual([e2.type, e2.error.code], ['error', 'INVALID_REQUEST']);
  const e3 = await c.request({ type: 'produce', id: 7, cluster: 'default', records: [{ value: 1 }] });
  assert.deepEqual([e3.type, e3.error.code], ['error', 'INVALID_REQUEST']);
  assert.match(e3.error.message, /topic/);
  const e4 = await c.request({ type: 'produce', id: 'x4', cluster: 'default', topic: 'nope', records: [{ value: 1 }] });
  assert.deepEqual([e4.type, e4.error.code], ['error', 'TOPIC_NOT_FOUND']);
  const e5 = await c.request({ type: 'produce', id: 'x5', cluster: 'default', topic: 'ws', records: [{ partition: 9, value: 1 }] });
  assert.equal(e5.error.code, 'PARTITION_NOT_FOUND');
  const e6 = await c.request({ type: 'unsubscribe', id: 'x6', subscription: 's99' });
  assert.equal(e6.error.code, 'NOT_FOUND');
  const e7 = await c.request({ type: 'subscribe', id: 'x7', cluster: 'default', topic: 'ws', offset: 5 });
  assert.equal(e7.error.code, 'INVALID_OFFSET', 'an offset names one partition');
  const e8 = await c.request({ type: 'subscribe', id: 'x8', cluster: 'default', topic: 'ws', partition: 0, offset: 999 });
  assert.equal(e8.error.code, 'OFFSET_OUT_OF_RANGE');
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const e9 = await c.waitFor((f) => f.type === 'error' && /binary/.test(f.error.message));
  assert.equal(e9.id, null);
  assert.deepEqual(await c.request({ type: 'ping', id: 'p' }), { type: 'pong', id: 'p' });
});

test('limits: subscriptions per socket, frame size (1009), sockets (429 before the upgrade)', async () => {
  const c = await connect();
  for (let i = 0; i < 3; i++) assert.equal((await c.request({ type: 'subscribe', id: `s${i}`, cluster: 'default', topic: 'ws-limits' })).type, 'subscribed');
  const over = await c.request({ type: 'subscribe', id: 's3', cluster: 'default', topic: 'ws-limits' });
  assert.equal(over.error.code, 'TOO_MANY_REQUESTS');

  const big = await connect();
  big.send({ type: 'produce', id: 'big', cluster: 'default', topic: 'ws-limits', records: [{ value: 'x'.repeat(70 * 1024) }] });
  assert.equal(await big.waitClose(), 1009);

  // Sockets: maxWebSockets is 4; fill the broker up, then one more is refused.
  let refused: { status: number; body: any } | undefined;
  for (let i = 0; i < 5 && refused === undefined; i++) {
    try {
      await connect();
    } catch {
      refused = await WsClient.refused(broker.url);
    }
  }
  assert.ok(refused, 'a socket past maxWebSockets was refused');
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'TOO_MANY_REQUESTS');
});

test('a subscription stops reading the log while its socket\'s buffer is full', async () => {
  const { streamingHub } = await import('../../src/http/streaming/index.js');
  const { WsSession } = await import('../../src/http/streaming/ws-session.js');
  const MB = 1024 * 1024;
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'ws-bp', partitions: 1 })).status, 201);
  for (const s of sockets.splice(0)) s.close(); // room under maxWebSockets
  await new Promise((r) => setTimeout(r, 100));
  const c = await connect();
  const sub = await c.request({ type: 'subscribe', id: 'bp', cluster: 'default', topic: 'ws-bp', valueFormat: 'text' });
  const hub = streamingHub(broker.server.app.webka);
  const session = [...hub.closables].find((x) => x instanceof WsSession && x.subscriptions === 1) as InstanceType<typeof WsSession>;
  assert.ok(session);
  // The client stops reading its TCP socket: the broker's side fills up.
  (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const value = 'w'.repeat(10 * 1024);
  const produced = 30 * MB;
  for (let sent = 0; sent < produced; sent += 100 * value.length) {
    const r = await api.call('POST', '/v1/clusters/default/topics/ws-bp/records?acks=1', { valueFormat: 'text', records: Array.from({ length: 100 }, () => ({ value })) });
    assert.equal(r.status, 200, r.text);
  }
  await new Promise((r) => setTimeout(r, 300));
  const pushed = session.pushedChars;
  console.log(`stalled WebSocket reader: produced ${(produced / MB).toFixed(0)} MB; pushed ${(pushed / MB).toFixed(1)} MB; bufferedAmount ${(session.bufferedAmount / MB).toFixed(1)} MB`);
  assert.ok(pushed < 15 * MB, `pushed ${pushed} bytes to a socket that reads nothing`);
  assert.ok(session.bufferedAmount < 4 * MB, `${session.bufferedAmount} bytes buffered`);
  (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  await c.waitFor(() => c.records(sub.subscription).length === 3000, 15000, 'every record once the client reads again');
  assert.deepEqual(c.records(sub.subscription).map((r) => r.offset).slice(0, 3), [0, 1, 2]);
  assert.equal(new Set(c.records(sub.subscription).map((r) => r.offset)).size, 3000);
});
