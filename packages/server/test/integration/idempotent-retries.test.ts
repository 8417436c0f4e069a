/**
 * An idempotent retry must be the request it repeats. The broker runs as its own process (the
 * real `webka start`), so that a broker whose event loop stalls fails these tests by timing out
 * a request instead of freezing the test runner with it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startCliBroker, type CliBroker } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';
import { assertError, highWatermarks } from '../support/rest.js';

const T = '/v1/clusters/default/topics';
let broker: CliBroker;
let dataDir: string;

before(async () => {
  dataDir = tempDir();
  broker = await startCliBroker(['--port', '0', '--data-dir', dataDir]);
});
after(async () => {
  broker.child.kill('SIGTERM');
  // a broker whose event loop is stuck cannot handle SIGTERM: do not leave it spinning
  const stuck = setTimeout(() => broker.child.kill('SIGKILL'), 10_000);
  await broker.exited;
  clearTimeout(stuck);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A request that fails (rather than waits forever) when the broker does not answer in 10 s. */
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const res = await fetch(broker.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined, text, headers: res.headers };
}

const api = { get: (p: string) => call('GET', p), post: (p: string, b?: unknown) => call('POST', p, b), patch: (p: string, b?: unknown) => call('PATCH', p, b), del: (p: string) => call('DELETE', p) };

async function producer(): Promise<{ producerId: number; producerEpoch: number }> {
  const r = await api.post('/v1/clusters/default/producers');
  assert.equal(r.status, 201, r.text);
  return r.body;
}

const records = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ value: `${tag}-${i}`, partition: 0 }));

for (const acks of ['all', '1'] as const) {
  test(`acks=${acks}: sequence 0 retried with a different record count is refused (409 SEQUENCE_REUSED), writes nothing, and the broker keeps answering`, async () => {
    const topic = `retry-${acks}`;
    assert.equal((await api.post(T, { name: topic, partitions: 1 })).status, 201);
    const p = await producer();
    const first = await api.post(`${T}/${topic}/records?acks=${acks}`, { ...p, sequence: 0, records: records(1, 'a') });
    assert.equal(first.status, 200, first.text);
    const retry = await api.post(`${T}/${topic}/records?acks=${acks}`, { ...p, sequence: 0, records: records(3, 'b') });
    const message = assertError(retry, 409, 'SEQUENCE_REUSED');
    assert.match(message, /stored with 1 record\(s\) on partition 0, but this retry has 3/);
    assert.equal((await api.get('/health')).status, 200, 'the broker still answers everyone');
    // an exact retry is still answered with the first offsets, and the next sequence is written
    const exact = await api.post(`${T}/${topic}/records?acks=${acks}`, { ...p, sequence: 0, records: records(1, 'a') });
    assert.equal(exact.status, 200, exact.text);
    assert.deepEqual(exact.body.records.map((r: any) => r.offset), [0]);
    assert.equal((await api.post(`${T}/${topic}/records?acks=all`, { ...p, sequence: 1, records: records(2, 'c') })).status, 200);
    assert.deepEqual(await highWatermarks(api as any, 'default', topic), [3], 'one record of sequence 0, two of sequence 1');
  });
}

test('a retry after partitions were added routes keys elsewhere: refused, never answered with offsets of other records', async () => {
  const topic = 'grows';
  assert.equal((await api.post(T, { name: topic, partitions: 1 })).status, 201);
  const p = await producer();
  const keyed = Array.from({ length: 8 }, (_, i) => ({ key: `customer-${i}`, value: i }));
  const first = await api.post(`${T}/${topic}/records`, { ...p, sequence: 0, records: keyed });
  assert.equal(first.status, 200, first.text);
  assert.equal((await api.patch(`${T}/${topic}`, { partitions: 4 })).status, 200);
  const retry = await api.post(`${T}/${topic}/records`, { ...p, sequence: 0, records: keyed });
  assertError(retry, 409, 'SEQUENCE_REUSED');
  assert.deepEqual(await highWatermarks(api as any, 'default', topic), [8, 0, 0, 0], 'nothing more was written');
});
