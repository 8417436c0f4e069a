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

/**
 * A fetch that makes the real (single) broker look like one of two brokers of a cluster: the
 * other, node 7, leads partition 1 at a URL nothing answers. Counts the requests sent there.
 */
function clusterOfTwo(tried: string[]): FetchFn {
  const away = 'http://unreachable.invalid:1';
  return async (input, init) => {
    const url = String(input);
    if (url.startsWith(away)) {
      tried.push(url);
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }
    const res = await fetch(input, init);
    if (url.endsWith('/v1/brokers')) return Response.json({ brokers: [{ nodeId: 0, url: broker.url, alive: true, controller: true }, { nodeId: 7, url: away, alive: true, controller: false }] });
    if (url.endsWith('/partitions') && res.ok) {
      const body = (await res.json()) as { partitions: { leader: number }[] };
      body.partitions[1].leader = 7;
      return Response.json(body);
    }
    return res;
  };
}

test('a request to a leader that cannot be reached goes through the broker given, once, and later ones go there straight; toLeaders false never tries the leader', async () => {
  const setup = new Webka({ url: broker.url });
  await setup.admin().createTopic({ name: 'sdk-away', partitions: 2 });
  const tried: string[] = [];
  const webka = new Webka({ url: broker.url, fetch: clusterOfTwo(tried) });
  const producer = webka.producer({ lingerMs: 0, retryBackoffMs: 10 });
  const sent = [];
  for (let i = 0; i < 6; i++) sent.push(await producer.send('sdk-away', { value: `v${i}`, partition: i % 2 }));
  await producer.close();
  assert.equal(tried.length, 1, `one attempt at the unreachable leader, then none: ${tried.join(', ')}`);
  assert.deepEqual(sent.map((m) => m.partition), [0, 1, 0, 1, 0, 1]);
  const read = await readAll(setup, 'sdk-away', 2);
  assert.deepEqual(read.map((p) => p.map((r) => (r as { value: string }).value)), [['v0', 'v2', 'v4'], ['v1', 'v3', 'v5']], 'every record stored once, retried through the broker given');

  tried.length = 0;
  const off = new Webka({ url: broker.url, fetch: clusterOfTwo(tried) }).producer({ lingerMs: 0, toLeaders: false });
  await off.send('sdk-away', { value: 'v6', partition: 1 });
  await off.close();
  assert.deepEqual(tried, [], 'toLeaders false: never sent to a leader\'s URL');
});
