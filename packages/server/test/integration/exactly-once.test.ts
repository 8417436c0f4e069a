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
  for (const name of ['eos', 'fence', 'idem', 'restart']) assert.equal((await api.post(T, { name, partitions: 3 })).status, 201);
});
after(() => broker.close());

async function producer(name?: string): Promise<{ producerId: number; producerEpoch: number }> {
  const r = await api.post('/v1/clusters/default/producers', name === undefined ? undefined : { name });
  assert.equal(r.status, 201, r.text);
  assert.equal(typeof r.body.producerId, 'number');
  assert.equal(typeof r.body.producerEpoch, 'number');
  return r.body;
}

function batch(p: { producerId: number; producerEpoch: number }, sequence: number, n = 4, tag = 'r'): object {
  return { ...p, sequence, records: Array.from({ length: n }, (_, i) => ({ key: `${tag}-${sequence}-${i}`, value: { sequence, i } })) };
}

async function total(topic: string): Promise<number> {
  return (await highWatermarks(api, 'default', topic)).reduce((a, b) => a + b, 0);
}

test('producer ids: each POST gives a new id at epoch 0; unknown cluster 404', async () => {
  const a = await producer();
  const b = await producer();
  assert.notEqual(a.producerId, b.producerId);
  assert.equal(a.producerEpoch, 0);
  assertError(await api.post('/v1/clusters/nope/producers'), 404, 'CLUSTER_NOT_FOUND');
  assertError(await api.post('/v1/clusters/default/producers', { name: 'x', extra: 1 }), 400, 'INVALID_REQUEST');
});

test('a retried idempotent request is written once and answered with the first offsets', async () => {
  const p = await producer();
  const first = await api.post(`${T}/eos/records`, batch(p, 0));
  assert.equal(first.status, 200, first.text);
  const n = await total('eos');
  for (let i = 0; i < 3; i++) {
    const again = await api.post(`${T}/eos/records`, batch(p, 0));
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body.records.map((r: any) => [r.partition, r.offset]), first.body.records.map((r: any) => [r.partition, r.offset]));
  }
  assert.equal(await total('eos'), n);
  const next = await api.post(`${T}/eos/records`, batch(p, 1));
  assert.equal(next.status, 200);
  assert.equal(await total('eos'), n + 4);
  // an older retry still within the window is answered, not written
  assert.equal((await api.post(`${T}/eos/records`, batch(p, 0))).status, 200);
  assert.equal(await total('eos'), n + 4);
});

test('a sequence gap is 409 OUT_OF_ORDER_SEQUENCE and writes nothing', async () => {
  const p = await producer();
  assert.equal((await api.post(`${T}/eos/records`, batch(p, 0))).status, 200);
  const n = await total('eos');
  const msg = assertError(await api.post(`${T}/eos/records`, batch(p, 2)), 409, 'OUT_OF_ORDER_SEQUENCE');
  assert.match(msg, /1/);
  assert.equal(await total('eos'), n);
  // a first request must start at 0
  const fresh = await producer();
  assertError(await api.post(`${T}/eos/records`, batch(fresh, 5)), 409, 'OUT_OF_ORDER_SEQUENCE');
  assert.equal(await total('eos'), n);
  // the producer carries on with the right sequence
  assert.equal((await api.post(`${T}/eos/records`, batch(p, 1))).status, 200);
});

test('idempotent fields are checked: partial, negative, unknown producer', async () => {
  const p = await producer();
  const n = await total('eos');
  assertError(await api.post(`${T}/eos/records`, { producerId: p.producerId, records: [{ value: 1 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/eos/records`, { ...p, sequence: -1, records: [{ value: 1 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/eos/records`, { ...p, sequence: 2 ** 31, records: [{ value: 1 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/eos/records`, { ...p, sequence: 'zero', records: [{ value: 1 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/eos/records`, { producerId: 999_999_999, producerEpoch: 0, sequence: 0, records: [{ value: 1 }] }), 404, 'PRODUCER_NOT_FOUND');
  assert.equal(await total('eos'), n);
});

test('a named producer asked again gets the next epoch and fences the old one', async () => {
  const a = await producer('billing');
  assert.equal((await api.post(`${T}/fence/records`, batch(a, 0))).status, 200);
  const b = await producer('billing');
  assert.equal(b.producerId, a.producerId);
  assert.equal(b.producerEpoch, a.producerEpoch + 1);
  const n = await total('fence');
  assertError(await api.post(`${T}/fence/records`, batch(a, 1)), 409, 'PRODUCER_FENCED');
  assertError(await api.post(`${T}/fence/records`, batch(a, 0)), 409, 'PRODUCER_FENCED');
  assert.equal(await total('fence'), n);
  // the new epoch starts its sequences at 0
  assert.equal((await api.post(`${T}/fence/records`, batch(b, 0))).status, 200);
  assertError(await api.post(`${T}/fence/records`, { ...b, producerEpoch: b.producerEpoch + 1, sequence: 0, records: [{ value: 1 }] }), 409, 'PRODUCER_FENCED');
  // names are per cluster
  await api.post('/v1/clusters', { name: 'elsewhere' });
  const c = (await api.post('/v1/clusters/elsewhere/producers', { name: 'billing' })).body;
  assert.notEqual(c.producerId, a.producerId);
});

test('idempotent producing survives a broker restart', async () => {
  const p = await producer('survivor');
  const answers: any[] = [];
  for (let s = 0; s < 3; s++) answers.push((await api.post(`${T}/restart/records`, batch(p, s, 5))).body);
  const n = await total('restart');
  broker = await broker.restart();
  api = rest(broker.url);
  assert.equal(await total('restart'), n);
  // the last request retried after the restart: the same answer, nothing written
  const retry = await api.post(`${T}/restart/records`, batch(p, 2, 5));
  assert.equal(retry.status, 200, retry.text);
  assert.deepEqual(retry.body, answers[2]);
  assert.equal(await total('restart'), n);
  // a gap is still seen, and the next sequence is accepted
  assertError(await api.post(`${T}/restart/records`, batch(p, 4, 5)), 409, 'OUT_OF_ORDER_SEQUENCE');
  assert.equal((await api.post(`${T}/restart/records`, batch(p, 3, 5))).status, 200);
  assert.equal(await total('restart'), n + 5);
  // the name still fences after the restart
  const q = await producer('survivor');
  assert.equal(q.producerEpoch, p.producerEpoch + 1);
  assertError(await api.post(`${T}/restart/records`, batch(p, 4, 5)), 409, 'PRODUCER_FENCED');
});

test('Idempotency-Key: a retry returns the first answer and writes nothing; a different body is refused', async () => {
  const body = { records: [{ value: 'once', key: 'a' }, { value: 'once', key: 'b' }] };
  const first = await api.post(`${T}/idem/records`, body, { 'idempotency-key': 'order-17' });
  assert.equal(first.status, 200, first.text);
  const n = await total('idem');
  const again = await api.post(`${T}/idem/records`, body, { 'idempotency-key': 'order-17' });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, first.body);
  assert.equal(await total('idem'), n);

  const other = { records: [{ value: 'twice' }] };
  assertError(await api.post(`${T}/idem/records`, other, { 'idempotency-key': 'order-17' }), 409, 'IDEMPOTENCY_KEY_REUSED');
  assertError(await api.post(`${T}/idem/records?acks=1`, body, { 'idempotency-key': 'order-17' }), 409, 'IDEMPOTENCY_KEY_REUSED');
  assert.equal(await total('idem'), n);

  // concurrent retries of the same key write once
  const results = await Promise.all(Array.from({ length: 6 }, () => api.post(`${T}/idem/records`, other, { 'idempotency-key': 'order-18' })));
  for (const r of results) {
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, results[0].body);
  }
  assert.equal(await total('idem'), n + 1);

  // a refused request is not remembered as a success
  const bad = await api.post(`${T}/idem/records`, { records: [{ value: 1, partition: 99 }] }, { 'idempotency-key': 'order-19' });
  assert.equal(bad.status, 404);
  assertError(await api.post(`${T}/idem/records`, body, { 'idempotency-key': 'x'.repeat(300) }), 400, 'INVALID_REQUEST');
  assert.equal(await total('idem'), n + 1);
});
