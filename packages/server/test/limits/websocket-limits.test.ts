/**
 * A WebSocket client cannot make the broker hold more than its limits. Subscribe frames sent
 * together (group joins wait before they answer) cannot pass maxSubscriptionsPerSocket between
 * them; and a client that sends a stream of invalid frames and never reads its socket gets no
 * more error frames queued than the send buffer allows: answers, errors included, count against
 * wsBufferHighWaterBytes, and past it the broker stops reading the socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { WsClient } from '../support/ws-client.js';
import { streamingHub } from '../../src/http/streaming/index.js';
import { WsSession } from '../../src/http/streaming/ws-session.js';

const MAX_SUBS = 5;
const HIGH_WATER = 64 * 1024;
let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker({ config: { maxSubscriptionsPerSocket: MAX_SUBS, wsBufferHighWaterBytes: HIGH_WATER } });
  api = rest(broker.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'ws-lim', partitions: 2 })).status, 201);
});
after(async () => broker.close());

test('subscribe frames sent at once never pass maxSubscriptionsPerSocket', async () => {
  const c = await WsClient.connect(broker.url);
  try {
    await c.waitFor((f) => f.type === 'hello');
    const n = 60;
    for (let i = 0; i < n; i++) {
      c.send(i % 2 === 0
        ? { type: 'subscribe', id: i, cluster: 'default', group: `g${i}`, topics: ['ws-lim'] }
        : { type: 'subscribe', id: i, cluster: 'default', topic: 'ws-lim' });
    }
    await c.waitFor(() => c.frames.filter((f) => typeof f.id === 'number').length === n, 20_000, 'every answer');
    const answers = c.frames.filter((f) => typeof f.id === 'number');
    const subscribed = answers.filter((f) => f.type === 'subscribed');
    const refused = answers.filter((f) => f.type === 'error');
    assert.equal(subscribed.length, MAX_SUBS, `${subscribed.length} subscriptions on a socket limited to ${MAX_SUBS}`);
    assert.ok(refused.every((f) => f.error.code === 'TOO_MANY_REQUESTS'));
    // a place freed by unsubscribe can be taken again
    const un = await c.request({ type: 'unsubscribe', id: 'un', subscription: subscribed[0].subscription });
    assert.equal(un.type, 'unsubscribed');
    assert.equal((await c.request({ type: 'subscribe', id: 'again', cluster: 'default', topic: 'ws-lim' })).type, 'subscribed');
    assert.equal((await c.request({ type: 'subscribe', id: 'over', cluster: 'default', topic: 'ws-lim' })).error.code, 'TOO_MANY_REQUESTS');
  } finally {
    c.ws.close();
  }
});

test('a client that sends invalid frames and reads nothing gets no more error frames queued than the send buffer allows', async () => {
  const c = await WsClient.connect(broker.url);
  const raw = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
  try {
    await c.waitFor((f) => f.type === 'hello');
    const session = [...streamingHub(broker.server.app.webka).closables].find((x) => x instanceof WsSession && x.subscriptions === 0 && x.bufferedAmount === 0) as WsSession;
    assert.ok(session);
    raw.pause(); // reads nothing from here on
    // 1,000,000 masked text frames of one byte ("x", not JSON): 7 MB that each earn an error frame
    const frame = Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x78]);
    const burst = Buffer.alloc(frame.length * 1_000_000);
    for (let i = 0; i < burst.length; i += frame.length) frame.copy(burst, i);
    raw.write(burst);
    // Watch the broker's side until the client has sent everything or the broker stopped reading
    // (the client's write buffer stops draining); the bound holds at every look.
    const bound = HIGH_WATER + 2 * 1024 * 1024; // one socket read's worth of answers past the threshold
    let last = -1;
    let still = 0;
    let maxSeen = 0;
    for (let i = 0; i < 3_000 && still < 25; i++) {
      maxSeen = Math.max(maxSeen, session.bufferedAmount);
      assert.ok(session.bufferedAmount <= bound, `the broker queued ${session.bufferedAmount} bytes of answers for a socket that reads nothing`);
      const pending = raw.writableLength;
      if (pending === 0) break;
      still = pending === last ? still + 1 : 0;
      last = pending;
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(`invalid-frame flood: most bytes queued at the broker ${maxSeen}; client bytes still unsent ${raw.writableLength}`);
    const health = await api.get('/health');
    assert.equal(health.status, 200);
  } finally {
    raw.destroy();
  }
  // the broker still serves WebSockets
  const d = await WsClient.connect(broker.url);
  try {
    assert.equal((await d.request({ type: 'ping', id: 1 })).type, 'pong');
  } finally {
    d.ws.close();
  }
});
