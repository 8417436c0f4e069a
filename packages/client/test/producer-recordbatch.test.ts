/**
 * The producer's default wire format: RecordBatch v2 bodies built in the SDK, which the broker
 * appends as sent. The same records sent as JSON bodies read back the same: same partitions
 * (keys routed by murmur2 here as the broker routes them), same keys, values, headers and
 * timestamps.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, type FetchFn, type ProducerRecord } from '../src/index.js';
import { startBroker, type TestBroker } from '../../server/test/support/start-broker.js';

let broker: TestBroker;
before(async () => {
  broker = await startBroker();
});
after(() => broker.close());

/** A fetch that records the content type of every produce request. */
function watching(types: string[]): FetchFn {
  return (input, init) => {
    if (init?.method === 'POST' && String(input).endsWith('/records')) types.push(String((init.headers as Record<string, string>)['content-type']));
    return fetch(input, init);
  };
}

async function readAll(webka: Webka, topic: string, partitions: number): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (let p = 0; p < partitions; p++) {
    const got: unknown[] = [];
    for await (const r of webka.consumer({ topic, partition: p, follow: false })) got.push({ offset: r.offset, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
    out.push(got);
  }
  return out;
}

const T0 = 1_700_000_000_000;
const records: ProducerRecord[] = Array.from({ length: 400 }, (_, i) => ({
  key: i % 9 === 0 ? undefined : `user-${i % 23}`,
  value: i % 5 === 0 ? `plain ${i} é "quoted"` : { i, page: `/p/${i}`, tags: ['a', 'ü'], nested: { ok: i % 2 === 0 } },
  headers: i % 7 === 0 ? { trace: `t${i}`, none: null } : undefined,
  partition: i % 9 === 0 ? i % 3 : undefined,
  timestamp: T0 + i,
}));

test('by default the producer sends RecordBatch bodies, and what it writes reads back as the JSON bodies\' records', async () => {
  const types: string[] = [];
  const webka = new Webka({ url: broker.url, fetch: watching(types) });
  await webka.admin().createTopic({ name: 'sdk-bin', partitions: 3 });
  await webka.admin().createTopic({ name: 'sdk-json', partitions: 3 });
  const bin = webka.producer({ lingerMs: 5 });
  const metaBin = await bin.send('sdk-bin', records);
  await bin.close();
  assert.ok(types.length > 0 && types.every((t) => t === 'application/vnd.webka.recordbatch'), `content types: ${[...new Set(types)].join(', ')}`);
  types.length = 0;
  const json = webka.producer({ lingerMs: 5, wireFormat: 'json' });
  const metaJson = await json.send('sdk-json', records);
  await json.close();
  assert.ok(types.every((t) => t === 'application/json'));
  assert.deepEqual(metaBin.map((m) => [m.partition, m.offset, m.timestamp]), metaJson.map((m) => [m.partition, m.offset, m.timestamp]));
  assert.deepEqual(await readAll(webka, 'sdk-bin', 3), await readAll(webka, 'sdk-json', 3));
});

test('a record without a timestamp gets the client\'s clock; text and binary values go as they are', async () => {
  const webka = new Webka({ url: broker.url });
  await webka.admin().createTopic({ name: 'sdk-bin-formats', partitions: 1 });
  const before = Date.now();
  const text = webka.producer({ valueFormat: 'text' });
  const m = await text.send('sdk-bin-formats', { value: 'hello' });
  await text.close();
  assert.ok(m.timestamp >= before && m.timestamp <= Date.now(), `timestamp ${m.timestamp}`);
  const bytes = webka.producer({ valueFormat: 'binary' });
  await bytes.send('sdk-bin-formats', { key: 'b', value: new Uint8Array([0, 255, 1]) });
  await bytes.close();
  const got: unknown[] = [];
  for await (const r of webka.consumer({ topic: 'sdk-bin-formats', partition: 0, follow: false, valueFormat: 'text' })) got.push(r.value);
  assert.equal(got[0], 'hello');
  assert.equal(got.length, 2);
});
