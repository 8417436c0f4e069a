/**
 * JSON that nests thousands of levels deep is read by JSON.parse but overflows every recursive
 * step after it (JSON.stringify of a value, an Idempotency-Key's fingerprint). Each way a client
 * sends JSON (a REST body, a Durable Streams JSON append, a WebSocket frame) refuses one deeper
 * than the documented 1,000 levels with 400 and the error shape, writes nothing, and the broker
 * goes on serving; JSON at the limit is stored and read back unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks } from '../support/rest.js';
import { WsClient } from '../support/ws-client.js';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

test('JSON nested past 1,000 levels is refused with 400 wherever a client sends it; up to the limit it round-trips', async () => {
  const broker = await startBroker();
  const api = rest(broker.url);
  const records = '/v1/clusters/default/topics/deep/records';
  try {
    assert.equal((await api.post('/v1/clusters/default/topics', { name: 'deep', partitions: 1 })).status, 201);

    // REST produce: the body is {"records":[{"value": ...}]}, three levels around the value
    for (const depth of [1_000, 5_000, 100_000]) {
      const msg = assertError(await api.post(records, `{"records":[{"value":${nested(depth)}}]}`), 400, 'INVALID_REQUEST');
      assert.match(msg, /1000 levels/);
    }
    assertError(await api.post(records, `{"records":[{"value":1}],"x":${nested(5_000)}}`, { 'idempotency-key': 'deep-1' }), 400, 'INVALID_REQUEST');
    assertError(await api.post('/v1/clusters/default/topics', `{"name":"deep2","partitions":1,"configs":${nested(5_000)}}`), 400, 'INVALID_REQUEST');
    assert.deepEqual(await highWatermarks(api, 'default', 'deep'), [0], 'nothing was written');

    const atLimit = nested(997);
    const ok = await api.post(records, `{"records":[{"value":${atLimit}}]}`);
    assert.equal(ok.status, 200, ok.text);
    const back = await api.get('/v1/clusters/default/topics/deep/partitions/0/records?offset=0');
    assert.equal(back.status, 200, back.text);
    assert.equal(JSON.stringify(back.body.records[0].value), atLimit);

    // Durable Streams JSON mode
    assert.equal((await api.call('PUT', '/v1/stream/deep', undefined, { 'content-type': 'application/json' })).status, 201);
    const ds = await api.call('POST', '/v1/stream/deep', nested(5_000), { 'content-type': 'application/json' });
    assert.equal(ds.status, 400, ds.text);
    assert.match(ds.text, /1000 levels/);
    const dsOk = await api.call('POST', '/v1/stream/deep', `[${nested(999)}]`, { 'content-type': 'application/json' });
    assert.equal(dsOk.status, 204, dsOk.text);

    // a WebSocket produce frame
    const ws = await WsClient.connect(broker.url);
    try {
      await ws.waitFor((f) => f.type === 'hello');
      ws.send(`{"type":"produce","id":"deep","cluster":"default","topic":"deep","records":[{"value":${nested(5_000)}}]}`);
      const err = await ws.waitFor((f) => f.id === 'deep');
      assert.equal(err.type, 'error');
      assert.equal(err.error.code, 'INVALID_REQUEST');
      const pong = await ws.request({ type: 'ping', id: 'after' });
      assert.equal(pong.type, 'pong', 'the socket still serves');
    } finally {
      ws.ws.close();
    }
    assert.deepEqual(await highWatermarks(api, 'default', 'deep'), [1], 'only the record at the limit was written');
  } finally {
    await broker.close();
  }
});
