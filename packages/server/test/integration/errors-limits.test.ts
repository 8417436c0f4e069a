import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks, type Rest } from '../support/rest.js';

const BODY_LIMIT = 64 * 1024;
let broker: TestBroker;
let api: Rest;
const T = '/v1/clusters/default/topics';
const R = `${T}/lim/records`;

before(async () => {
  broker = await startBroker({ config: { bodyLimit: BODY_LIMIT, maxRecordsPerRequest: 100 } });
  api = rest(broker.url);
  assert.equal((await api.post(T, { name: 'lim', partitions: 2, configs: { 'max.message.bytes': 2000 } })).status, 201);
  assert.equal((await api.post(R, { records: [{ value: 'seed', partition: 0 }, { value: 'seed', partition: 1 }] })).status, 200);
});
after(() => broker.close());

async function unchanged(fn: () => Promise<void>): Promise<void> {
  const hw = await highWatermarks(api, 'default', 'lim');
  await fn();
  assert.deepEqual(await highWatermarks(api, 'default', 'lim'), hw, 'a refused request changed the log');
  assert.equal((await api.get('/health')).status, 200);
}

test('malformed JSON, empty bodies and wrong media types', async () => {
  await unchanged(async () => {
    for (const body of ['{', '{"records":[{"value":1}]', 'nul', '{"records":[{"value":01}]}', "{'value':1}", '[1,2', '\u0000']) {
      assertError(await api.call('POST', R, body), 400, 'INVALID_JSON');
    }
    assertError(await api.call('POST', R, '', { 'content-type': 'application/json' }), 400, 'INVALID_JSON');
    assertError(await api.call('POST', R, 'value=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assertError(await api.call('POST', R, '{"value":1}', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assertError(await api.call('POST', T, '{"name":"x"}', { 'content-type': 'application/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assertError(await api.call('POST', T, '{"name":'), 400, 'INVALID_JSON');
  });
});

test('wrong types and unknown fields', async () => {
  await unchanged(async () => {
    const bad: unknown[] = [
      [],
      [{ value: 1 }],
      'just a string',
      42,
      null,
      { records: {} },
      { records: 'x' },
      { records: [] },
      { records: [null] },
      { records: [[1]] },
      { records: [{ value: 1 }], extra: true },
      { records: [{ value: 1, extra: true }] },
      { records: [{ value: 1, key: 5 }] },
      { records: [{ value: 1, key: { a: 1 } }] },
      { records: [{ value: 1, headers: 'h' }] },
      { records: [{ value: 1, headers: { h: 5 } }] },
      { records: [{ value: 1, headers: [{ key: 1, value: 'v' }] }] },
      { records: [{ value: 1, partition: '0' }] },
      { records: [{ value: 1, partition: -1 }] },
      { records: [{ value: 1, partition: 1.5 }] },
      { records: [{ value: 1 }], keyFormat: 'hex' },
      { value: 1, extra: true },
    ];
    for (const b of bad) {
      const a = await api.post(R, b);
      assert.equal(a.status, 400, `${JSON.stringify(b)}: ${a.status} ${a.text}`);
      assert.equal(typeof a.body.error.code, 'string');
      assert.ok(a.body.error.message.length > 5);
    }
    for (const ts of [-1, 1.5, 8_640_000_000_000_001, 1e300, '2024-01-01']) {
      const a = await api.post(R, { records: [{ value: 1, timestamp: ts }] });
      assert.equal(a.status, 422, `${ts}: ${a.text}`);
      assert.equal(a.body.error.code, 'INVALID_TIMESTAMP');
    }
    assertError(await api.post(R, { records: [{ value: 1, partition: 2 }] }), 404, 'PARTITION_NOT_FOUND');
    assertError(await api.post(R, { records: [{ value: 1, partition: 2 ** 53 }] }), 404, 'PARTITION_NOT_FOUND');
    // admin bodies
    assertError(await api.post(T, { name: 5 }), 400, 'INVALID_REQUEST');
    assertError(await api.post(T, {}), 400, 'INVALID_REQUEST');
    assertError(await api.post(T, { name: 'n', configs: [] }), 400, 'INVALID_REQUEST');
    assertError(await api.post(T, { name: 'n', configs: { 'retention.ms': 1e300 } }), 400, 'INVALID_CONFIG');
    assertError(await api.post(T, { name: 'n', configs: { 'retention.ms': 'soon' } }), 400, 'INVALID_CONFIG');
    assertError(await api.post(T, { name: 'n', configs: { 'cleanup.policy': 'forever' } }), 400, 'INVALID_CONFIG');
    assertError(await api.post(T, { name: 'n', partitions: -3 }), 400, 'INVALID_REQUEST');
    assertError(await api.patch(`${T}/lim`, { partitions: 'many' }), 400, 'INVALID_REQUEST');
    assertError(await api.patch(`${T}/lim`, { name: 'rename' }), 400, 'INVALID_REQUEST');
    assertError(await api.post('/v1/clusters', { name: 'c', defaults: { partitions: 0 } }), 400, 'INVALID_REQUEST');
    assertError(await api.post('/v1/clusters', { name: 'c', defaults: { colour: 1 } }), 400, 'INVALID_REQUEST');
    assertError(await api.get(`${T}/n`), 404, 'TOPIC_NOT_FOUND');
    assertError(await api.get('/v1/clusters/c'), 404, 'CLUSTER_NOT_FOUND');
  });
});

test('"__proto__" and "constructor" keys in a produce body are refused as unknown fields, or stored as header names', async () => {
  await unchanged(async () => {
    for (const body of [
      '{"records":[{"value":1}],"__proto__":{"polluted":true}}',
      '{"records":[{"value":1,"__proto__":{"polluted":true}}]}',
      '{"records":[{"value":1,"constructor":{"prototype":{"polluted":true}}}]}',
      '{"value":1,"__proto__":{"polluted":true}}',
    ]) {
      const a = await api.call('POST', R, body);
      assertError(a, 400, 'INVALID_REQUEST');
      assert.match(a.body.error.message, /unknown field "(__proto__|constructor)"/);
    }
  });
  // inside a value or as a header name, such a key is data like any other
  const value = '{"__proto__":{"polluted":true}}';
  const body = `{"records":[{"value":${value},"headers":{"__proto__":"h"},"partition":0}]}`;
  const a = await api.call('POST', R, body);
  assert.equal(a.status, 200, a.text);
  const f = await api.get(`${R.replace('/records', '')}/partitions/0/records?offset=${a.body.records[0].offset}`);
  assert.equal(f.status, 200, f.text);
  assert.equal(JSON.stringify(f.body.records[0].headers), '{"__proto__":"h"}');
  assert.equal(JSON.stringify(f.body.records[0].value), value);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('unknown routes and methods answer in the error shape', async () => {
  assertError(await api.get('/v1/nothing'), 404, 'NOT_FOUND');
  const put = await api.call('PUT', `${T}/lim`, { partitions: 3 });
  assert.ok(put.status === 404 || put.status === 405, put.text);
  assert.equal(typeof put.body.error.code, 'string');
});

test('oversized records: RECORD_TOO_LARGE against max.message.bytes', async () => {
  await unchanged(async () => {
    const msg = assertError(await api.post(R, { records: [{ value: 'small' }, { value: 'x'.repeat(3000) }] }), 413, 'RECORD_TOO_LARGE');
    assert.match(msg, /max\.message\.bytes/);
    assert.match(msg, /records\[1\]/);
    assertError(await api.post(R, { records: [{ value: 1, key: 'k'.repeat(2500) }] }), 413, 'RECORD_TOO_LARGE');
    assertError(await api.post(R, { records: [{ value: 1, headers: { h: 'v'.repeat(2500) } }] }), 413, 'RECORD_TOO_LARGE');
  });
  assert.equal((await api.post(R, { value: 'y'.repeat(1500) })).status, 200);
});

test('too many records per request: TOO_MANY_RECORDS', async () => {
  await unchanged(async () => {
    const msg = assertError(await api.post(R, { records: Array.from({ length: 101 }, () => ({ value: 1 })) }), 413, 'TOO_MANY_RECORDS');
    assert.match(msg, /100/);
  });
  assert.equal((await api.post(R, { records: Array.from({ length: 100 }, () => ({ value: 1 })) })).status, 200);
});

test('an oversized body is 413 with the error shape (fetch)', async () => {
  await unchanged(async () => {
    const big = JSON.stringify({ records: [{ value: 'x'.repeat(BODY_LIMIT) }] });
    assertError(await api.call('POST', R, big), 413, 'PAYLOAD_TOO_LARGE');
  });
});

/** Sends a raw HTTP request on a fresh socket and reads the whole answer, or reports a reset. */
function raw(head: string, body: Buffer | ((s: net.Socket) => void)): Promise<{ text: string; error?: string }> {
  const { port } = new URL(broker.url);
  return new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let text = '';
    let error: string | undefined;
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
    s.on('close', () => resolve({ text, error }));
    s.on('connect', () => {
      s.write(head);
      if (typeof body === 'function') body(s);
      else s.write(body, () => s.end());
    });
  });
}

function parseRaw(text: string): { status: number; body: any; headers: string } {
  const [headers, ...rest] = text.split('\r\n\r\n');
  const status = Number(headers.split(' ')[1]);
  let body = rest.join('\r\n\r\n');
  if (/transfer-encoding: chunked/i.test(headers)) {
    let out = '';
    let s = body;
    for (;;) {
      const nl = s.indexOf('\r\n');
      const n = parseInt(s.slice(0, nl), 16);
      if (!n) break;
      out += s.slice(nl + 2, nl + 2 + n);
      s = s.slice(nl + 4 + n);
    }
    body = out;
  }
  return { status, body: JSON.parse(body), headers };
}

test('an oversized body is answered 413 without a connection reset (Content-Length, raw socket)', async () => {
  await unchanged(async () => {
    const body = Buffer.alloc(BODY_LIMIT * 16, "a");
    const head = `POST ${R} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const r = await raw(head, body);
    assert.ok(r.text.length > 0, `no answer (socket error ${r.error})`);
    const a = parseRaw(r.text);
    assert.equal(a.status, 413, r.text.slice(0, 300));
    assert.equal(a.body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.notEqual(r.error, 'ECONNRESET', 'the connection was reset');
  });
});

test('an oversized chunked body is answered 413 without a connection reset (raw socket)', async () => {
  await unchanged(async () => {
    const head = `POST ${R} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const r = await raw(head, (s) => {
      const chunk = Buffer.alloc(16 * 1024, 'b');
      let sent = 0;
      const next = (): void => {
        if (s.destroyed || sent >= BODY_LIMIT * 16) {
          s.end('0\r\n\r\n');
          return;
        }
        sent += chunk.length;
        s.write(`${chunk.length.toString(16)}\r\n`);
        s.write(chunk);
        s.write('\r\n', next);
      };
      next();
    });
    assert.ok(r.text.length > 0, `no answer (socket error ${r.error})`);
    const a = parseRaw(r.text);
    assert.equal(a.status, 413, r.text.slice(0, 300));
    assert.equal(a.body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.notEqual(r.error, 'ECONNRESET', 'the connection was reset');
  });
});

test('an oversized body through http.request (keep-alive agent) reads the 413', async () => {
  await unchanged(async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      for (const chunked of [false, true]) {
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const body = Buffer.alloc(BODY_LIMIT + 10_000, 'c');
          const req = http.request(broker.url + R, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': body.length }) } }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          });
          req.on('error', reject);
          if (chunked) {
            req.write(body.subarray(0, 40_000));
            req.write(body.subarray(40_000));
            req.end();
          } else req.end(body);
        });
        assert.equal(answer.status, 413, `${chunked ? 'chunked' : 'content-length'}: ${answer.body}`);
        assert.equal(JSON.parse(answer.body).error.code, 'PAYLOAD_TOO_LARGE');
      }
    } finally {
      agent.destroy();
    }
  });
});

test('negative and huge numbers in query strings', async () => {
  await unchanged(async () => {
    const p = `${T}/lim/partitions`;
    for (const q of ['offset=-1', 'offset=1e3', 'offset=99999999999999999', 'maxRecords=1e9', 'maxBytes=-1', 'maxBytes=99999999999', 'maxWaitMs=1e5', 'timestamp=-5', 'timestamp=99999999999999999']) {
      const a = await api.get(`${p}/0/records?${q}`);
      assert.equal(a.status, 400, `${q}: ${a.text}`);
      assert.equal(typeof a.body.error.code, 'string');
    }
    for (const part of ['99999999999', '1e2', '-0', '0x1', '00000000009']) {
      const a = await api.get(`${p}/${part}/records`);
      assert.ok(a.status === 400 || a.status === 404, `${part}: ${a.text}`);
      assert.equal(typeof a.body.error.code, 'string');
    }
  });
});

test('the broker keeps serving after all of the above', async () => {
  const r = await api.post(R, { records: [{ value: 'still here', partition: 0 }] });
  assert.equal(r.status, 200);
  const f = await api.get(`${T}/lim/partitions/0/records?offset=${r.body.records[0].offset}`);
  assert.equal(f.body.records[0].value, 'still here');
});
