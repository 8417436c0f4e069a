/**
 * One error shape everywhere: requests that Node's HTTP parser refuses (a space, NUL or raw
 * non-ASCII byte in the request line or a header; more than 16 KB of headers) or that its
 * timeouts end (headers too slow) answer `{"error":{"code","message"}}` like every other refusal.
 * And three small cases: offset=-1 is INVALID_OFFSET, a group stream's Last-Event-ID outside the
 * log is 416 as for other streams, and `Accept: text/event-stream;q=0` gets JSON, not a stream.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeGroupPosition } from '@webka/protocol';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, type Rest } from '../support/rest.js';
import { join, produce } from '../groups/group-client.js';

let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker({ config: { headersTimeoutMs: 500 } });
  api = rest(broker.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'shape', partitions: 1 })).status, 201);
  await produce(api, 'shape', [{ value: 1 }, { value: 2 }]);
});
after(async () => broker.close());

/** Sends raw bytes on a new connection and resolves with everything the broker sent before closing. */
function raw(bytes: Buffer | string, endAfterWrite = true): Promise<{ status: number; body: any; text: string }> {
  const { port } = new URL(broker.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let text = '';
    socket.on('data', (c) => (text += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m === null) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = body;
      }
      resolve({ status: Number(m[1]), body: parsed, text });
    });
    socket.write(bytes);
    if (endAfterWrite) socket.end();
  });
}

function assertShape(a: { status: number; body: any; text: string }, status: number, code: string): void {
  assert.equal(a.status, status, a.text);
  assert.equal(typeof a.body, 'object', a.text);
  assert.equal(a.body.error?.code, code, a.text);
  assert.ok(typeof a.body.error.message === 'string' && a.body.error.message.length > 0);
}

test('requests the HTTP parser refuses answer in the error shape', async () => {
  assertShape(await raw('GET /v1/clusters/default /topics HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'INVALID_REQUEST');
  assertShape(await raw('GET /v1/clusters HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n'), 400, 'INVALID_REQUEST');
  assertShape(await raw(Buffer.concat([Buffer.from('GET /v1/clusters/'), Buffer.from([0xc3, 0xa9]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')])), 400, 'INVALID_REQUEST');
  assertShape(await raw(`GET /v1/clusters HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`), 431, 'HEADERS_TOO_LARGE');
  // headers that never finish: the broker answers 408 once headersTimeoutMs has passed
  assertShape(await raw('GET /v1/clusters HTTP/1.1\r\nHost: x\r\n', false), 408, 'REQUEST_TIMEOUT');
  assert.equal((await api.get('/health')).status, 200);
});

test('offset=-1 is INVALID_OFFSET', async () => {
  assertError(await api.get('/v1/clusters/default/topics/shape/partitions/0/records?offset=-1'), 400, 'INVALID_OFFSET');
});

test('a group stream resumed outside the log answers 416 before it starts', async () => {
  const m = await join(api, 'shape-g', { topics: ['shape'], autoOffsetReset: 'earliest' });
  const path = `/v1/clusters/default/groups/shape-g/members/${m.id}/records`;
  const res = await api.call('GET', path, undefined, { accept: 'text/event-stream', 'last-event-id': encodeGroupPosition([{ topic: 'shape', partition: 0, offset: 999 }]) });
  assertError(res, 416, 'OFFSET_OUT_OF_RANGE');
});

test('Accept: text/event-stream;q=0 gets the JSON answer, not a stream', async () => {
  const res = await api.call('GET', '/v1/clusters/default/topics/shape/partitions/0/records?offset=0', undefined, { accept: 'text/event-stream;q=0, application/json' });
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(res.body.records.length, 2);
  const plain = await api.call('GET', '/v1/clusters/default/topics/shape/records', undefined, { accept: 'text/event-stream; q=0' });
  assertError(plain, 406, 'NOT_ACCEPTABLE');
});
