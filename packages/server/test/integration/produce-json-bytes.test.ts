/**
 * What a JSON produce body stores, byte for byte, whatever way the client wrote it: each JSON
 * value as JSON.stringify(JSON.parse(its text)), each text key as its UTF-8 bytes, so the records
 * a fetch answers depend on the JSON sent, never on its whitespace, escapes or number spelling.
 * Read back with keyFormat=binary&valueFormat=binary, which shows the stored bytes as base64.
 * Errors name the record and field at fault, and a JSON syntax error anywhere in the body wins
 * over a record's error before it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks, type Rest } from '../support/rest.js';

let broker: TestBroker;
let api: Rest;
const T = '/v1/clusters/default/topics';

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  for (const name of ['bytes', 'errors', 'idem']) assert.equal((await api.post(T, { name, partitions: 1 })).status, 201);
});
after(() => broker.close());

async function post(topic: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${broker.url}${T}/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

async function storedFrom(topic: string, offset: number, n: number): Promise<Array<{ key: string | null; value: string | null }>> {
  const r = await api.get(`${T}/${topic}/partitions/0/records?offset=${offset}&maxRecords=${n}&keyFormat=binary&valueFormat=binary`);
  assert.equal(r.status, 200, r.text);
  return r.body.records.map((x: any) => ({ key: x.key === null ? null : Buffer.from(x.key, 'base64').toString('latin1'), value: x.value === null ? null : Buffer.from(x.value, 'base64').toString('latin1') }));
}

/** The bytes (as latin1 text, to compare exactly) that JSON.parse then JSON.stringify give for a value's text. */
const canonical = (valueText: string): string => Buffer.from(JSON.stringify(JSON.parse(valueText)), 'utf8').toString('latin1');

test('each value is stored as JSON.stringify writes it and each key as its UTF-8 bytes, however the body spells them', async () => {
  const values = [
    '{"page":"/home","ms":132,"ok":true,"tags":["a","b"],"n":null}',
    '{ "page" : "/home" ,\n  "ms": 132 }',
    '{"a":1,"a":2}',
    '{"b":1,"1":2,"0":3}',
    '{"__proto__":{"x":1},"constructor":2}',
    '"line\\nbreak, \\"quoted\\", back\\\\slash, \\u0041, \\/, \\ud800, \\uD83D\\uDE00, é, 日本"',
    '[1.0, 1e2, -0, 1e400, 0.1, 12345678901234567890, 5e-324]',
    '"plain"',
    '12',
    'true',
    '[]',
    '{}',
  ];
  const keys = ['"user-1"', '"é\\u00e9"', 'null', '"\\ud800"', '"tab\\there"'];
  const records = values.map((v, i) => `{"key":${keys[i % keys.length]},"value":${v}}`);
  const body = `\ufeff{\n  "records": [\n    ${records.join(',\n    ')}\n  ]\n}\n`;
  const r = await post('bytes', body);
  assert.equal(r.status, 200, r.text);
  const stored = await storedFrom('bytes', 0, values.length);
  assert.deepEqual(
    stored,
    values.map((v, i) => {
      const key = JSON.parse(keys[i % keys.length]);
      return { key: key === null ? null : Buffer.from(key, 'utf8').toString('latin1'), value: canonical(v) };
    }),
  );
  // and the JSON view shows the values as JSON.parse reads them
  const json = await api.get(`${T}/bytes/partitions/0/records?offset=0&maxRecords=${values.length}`);
  assert.deepEqual(json.body.records.map((x: any) => x.value), values.map((v) => JSON.parse(JSON.stringify(JSON.parse(v)))));
});

test('bytes that are not UTF-8 are stored as the replacement character, as the JSON parser reads them', async () => {
  const start = (await highWatermarks(api, 'default', 'bytes'))[0];
  const body = Buffer.concat([Buffer.from('{"records":[{"key":"k\u00e9'), Buffer.from([0xff]), Buffer.from('","value":"v'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}]}')]);
  const r = await post('bytes', body);
  assert.equal(r.status, 200, r.text);
  const [rec] = await storedFrom('bytes', start, 1);
  assert.equal(rec.key, Buffer.from('k\u00e9\ufffd', 'utf8').toString('latin1'));
  assert.equal(rec.value, Buffer.from('"v\ufffd\ufffd\ufffd"', 'utf8').toString('latin1'));
});

test('errors name the record and the field to fix, a syntax error anywhere wins, and nothing is written', async () => {
  const cases: Array<[string, number, string, RegExp]> = [
    ['{"records":[{"value":1},{"value":2,"x":1}]}', 400, 'INVALID_REQUEST', /records\[1\] has unknown field "x"/],
    ['{"records":[{"value":1},{"key":5,"value":2}]}', 400, 'INVALID_REQUEST', /records\[1\]\.key must be a string/],
    ['{"records":[{"value":1},{"value":2,"timestamp":1.5}]}', 422, 'INVALID_TIMESTAMP', /records\[1\]\.timestamp/],
    ['{"records":[{"value":1},{"value":2,"partition":-1}]}', 400, 'INVALID_REQUEST', /records\[1\]\.partition/],
    ['{"records":[{"value":1},{"key":"k"}]}', 400, 'INVALID_REQUEST', /records\[1\] has no "value"/],
    ['{"records":[{"value":1,"x":1},{"value":]}', 400, 'INVALID_JSON', /not valid JSON/],
    ['{"records":[{"value":"a\u0001b"}]}', 400, 'INVALID_JSON', /not valid JSON/],
    ['{"records":[{"value":01}]}', 400, 'INVALID_JSON', /not valid JSON/],
    ['{"records":[{"value":"x"}],"valueFormat":"xml"}', 400, 'INVALID_REQUEST', /valueFormat must be json, text or binary/],
    ['{"records":[{"value":"not base64!"}],"valueFormat":"binary"}', 400, 'INVALID_REQUEST', /records\[0\]\.value is not valid base64/],
    ['{"records":[]}', 400, 'INVALID_REQUEST', /"records" is empty/],
    ['{"records":[{"value":1}],"records":5}', 400, 'INVALID_REQUEST', /"records" must be an array/],
    ['', 400, 'INVALID_JSON', /empty/],
  ];
  for (const [body, status, code, message] of cases) {
    const r = await post('errors', body);
    assert.match(assertError({ ...r, headers: new Headers() }, status, code), message, body);
  }
  assert.deepEqual(await highWatermarks(api, 'default', 'errors'), [0]);
});

test('an Idempotency-Key retry matches the first request by its JSON, not by its spelling', async () => {
  const first = await post('idem', '{"records":[{"key":"k","value":{"a":1}}]}', { 'idempotency-key': 'same' });
  assert.equal(first.status, 200, first.text);
  const again = await post('idem', '{ "records" : [ { "key" : "k", "value" : { "a" : 1 } } ] }', { 'idempotency-key': 'same' });
  assert.deepEqual(again.body, first.body);
  assertError({ ...(await post('idem', '{"records":[{"key":"k","value":{"a":2}}]}', { 'idempotency-key': 'same' })), headers: new Headers() }, 409, 'IDEMPOTENCY_KEY_REUSED');
  assert.deepEqual(await highWatermarks(api, 'default', 'idem'), [1]);
});
