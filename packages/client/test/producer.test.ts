/**
 * The producer against a real broker: batching, idempotent retries (a lost answer is retried
 * with the same sequence and written once; without idempotence the same loss duplicates, the
 * negative control), typed errors, flush and close.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError, type FetchFn } from '../src/index.js';
import { startBroker, type TestBroker } from '../../server/test/support/start-broker.js';

let broker: TestBroker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.close();
});

async function highWatermarkSum(admin: ReturnType<Webka['admin']>, topic: string): Promise<number> {
  const d = await admin.describeTopic(topic);
  return d.partitionInfo.reduce((n, p) => n + p.highWatermark, 0);
}

/** A fetch that lets the broker handle the first `drop` produce requests, then loses their answers. */
function losingAnswers(drop: number): { fetch: FetchFn; produceCalls: () => number } {
  let calls = 0;
  const f: FetchFn = async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method === 'POST' && String(input).endsWith('/records') && calls++ < drop) {
      await res.arrayBuffer(); // the broker has written the records
      throw new TypeError('fetch failed: connection reset');
    }
    return res;
  };
  return { fetch: f, produceCalls: () => calls };
}

describe('producer', () => {
  test('batches records by linger and resolves each with its partition and offset', async () => {
    let requests = 0;
    const counting: FetchFn = (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/records')) requests++;
      return fetch(input, init);
    };
    const webka = new Webka({ url: broker.url, fetch: counting });
    await webka.admin().createTopic({ name: 'batched', partitions: 1 });
    const producer = webka.producer({ lingerMs: 20 });
    const sends = Array.from({ length: 500 }, (_, i) => producer.send('batched', { key: `k${i}`, value: { i } }));
    const meta = await Promise.all(sends);
    assert.deepEqual(meta.map((m) => m.offset), Array.from({ length: 500 }, (_, i) => i));
    assert.ok(meta.every((m) => m.partition === 0 && m.topic === 'batched'));
    assert.ok(requests < 10, `500 records sent in ${requests} requests`);
    await producer.close();
    const reader = webka.consumer({ topic: 'batched', partition: 0, follow: false });
    const got: unknown[] = [];
    for await (const r of reader) got.push(r.value);
    assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => ({ i })));
  });

  test('splits by batchSize and keeps order within a topic', async () => {
    let requests = 0;
    const counting: FetchFn = (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/records')) requests++;
      return fetch(input, init);
    };
    const webka = new Webka({ url: broker.url, fetch: counting });
    await webka.admin().createTopic({ name: 'sized', partitions: 1 });
    const producer = webka.producer({ batchSize: 2_000, lingerMs: 1_000 });
    const meta = await producer.send('sized', Array.from({ length: 200 }, (_, i) => ({ value: 'x'.repeat(90) + i })));
    assert.deepEqual(meta.map((m) => m.offset), Array.from({ length: 200 }, (_, i) => i));
    assert.ok(requests >= 10, `a 2,000-byte batchSize took ${requests} requests for ~20 KB`);
    await producer.close();
  });

  test('while a batch waits, the next request goes before the answer is handled; sends still resolve in order, and flush waits for them all', async () => {
    // Each request is recorded when it goes out and each send() when it resolves: with records
    // queued behind it, request k+1 leaves before batch k's sends resolve.
    const events: string[] = [];
    let request = 0;
    const watching: FetchFn = (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/records')) events.push(`request ${request++}`);
      return fetch(input, init);
    };
    const webka = new Webka({ url: broker.url, fetch: watching });
    await webka.admin().createTopic({ name: 'pipelined', partitions: 1 });
    const producer = webka.producer({ maxBatchRecords: 100, lingerMs: 1_000 });
    const resolved: number[] = [];
    const sends = Array.from({ length: 500 }, (_, i) =>
      producer.send('pipelined', { value: i }).then((m) => {
        if (i % 100 === 0) events.push(`resolved ${i / 100}`);
        resolved.push(m.offset);
        return m;
      }),
    );
    await producer.flush();
    assert.equal(resolved.length, 500, 'flush resolved after every send had');
    assert.deepEqual(resolved, Array.from({ length: 500 }, (_, i) => i), 'in send order, at offsets in send order');
    assert.ok(events.indexOf('request 1') < events.indexOf('resolved 0'), `the next request left before the answer was handled: ${events.join(', ')}`);
    assert.equal((await Promise.all(sends)).length, 500);
    await producer.close();
  });

  test('a lost answer is retried with the same sequence and written once', async () => {
    const lossy = losingAnswers(3);
    const webka = new Webka({ url: broker.url, fetch: lossy.fetch });
    await webka.admin().createTopic({ name: 'exactly-once', partitions: 3 });
    const producer = webka.producer({ retryBackoffMs: 5, lingerMs: 2 });
    const meta = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send('exactly-once', { key: `k${i % 17}`, value: i })));
    await producer.close();
    assert.ok(lossy.produceCalls() > 3, 'answers were lost and retried');
    assert.equal(await highWatermarkSum(webka.admin(), 'exactly-once'), 300, 'no duplicates were written');
    const seen = new Set(meta.map((m) => `${m.partition}:${m.offset}`));
    assert.equal(seen.size, 300, 'every record has its own offset');
  });

  test('negative control: without idempotence the same lost answers duplicate records', async () => {
    const lossy = losingAnswers(3);
    const webka = new Webka({ url: broker.url, fetch: lossy.fetch });
    await webka.admin().createTopic({ name: 'at-least-once', partitions: 3 });
    const producer = webka.producer({ idempotent: false, retryBackoffMs: 5, lingerMs: 2 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send('at-least-once', { key: `k${i % 17}`, value: i })));
    await producer.close();
    assert.ok((await highWatermarkSum(webka.admin(), 'at-least-once')) > 300, 'the retries were written again');
  });

  test('retries network errors with backoff until the broker answers', async () => {
    let refused = 0;
    const flaky: FetchFn = async (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/records') && refused < 4) {
        refused++;
        throw new TypeError('fetch failed: ECONNREFUSED');
      }
      return fetch(input, init);
    };
    const webka = new Webka({ url: broker.url, fetch: flaky });
    await webka.admin().createTopic({ name: 'flaky', partitions: 1 });
    const producer = webka.producer({ retryBackoffMs: 5 });
    const m = await producer.send('flaky', { value: 'after four refusals' });
    assert.equal(m.offset, 0);
    assert.equal(refused, 4);
    await producer.close();
  });

  test('rejects with typed errors carrying the broker code, status and retriable flag', async () => {
    const webka = new Webka({ url: broker.url });
    const producer = webka.producer({ retryBackoffMs: 5 });
    await assert.rejects(producer.send('no-such-topic', { value: 1 }), (e: unknown) => {
      assert.ok(e instanceof WebkaError);
      assert.equal(e.code, 'TOPIC_NOT_FOUND');
      assert.equal(e.status, 404);
      assert.equal(e.retriable, false);
      return true;
    });
    await webka.admin().createTopic({ name: 'typed', partitions: 2 });
    await assert.rejects(producer.send('typed', { value: 1, partition: 7 }), (e: unknown) => e instanceof WebkaError && e.code === 'PARTITION_NOT_FOUND');
    // The lane recovers: a later good record is written.
    assert.equal((await producer.send('typed', { value: 2, partition: 1 })).partition, 1);
    await assert.rejects(webka.admin().createTopic({ name: 'typed' }), (e: unknown) => e instanceof WebkaError && e.code === 'TOPIC_EXISTS' && e.status === 409);
    await assert.rejects(webka.admin().describeTopic('nope'), (e: unknown) => e instanceof WebkaError && e.code === 'TOPIC_NOT_FOUND');
    await producer.close();
    await assert.rejects(producer.send('typed', { value: 3 }), (e: unknown) => e instanceof WebkaError && e.code === 'CLOSED');
  });

  test('a broker that is down past deliveryTimeoutMs gives a TIMEOUT error', async () => {
    const webka = new Webka({ url: 'http://127.0.0.1:9' });
    const producer = webka.producer({ deliveryTimeoutMs: 300, retryBackoffMs: 10 });
    await assert.rejects(producer.send('t', { value: 1 }), (e: unknown) => e instanceof WebkaError && e.code === 'TIMEOUT' && e.retriable);
  });
});
