/**
 * Reading one partition without a group, through long polls and through SSE: from a start
 * position, to the end or following, and across a broker restart (resumed at its position:
 * every record exactly once).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError, type ConsumerRecord } from '../src/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

let broker: TestBroker;
let webka: Webka;
before(async () => {
  broker = await startTestBroker();
  webka = new Webka({ url: broker.url });
});
after(async () => {
  await broker.close();
});

async function produce(topic: string, from: number, to: number): Promise<void> {
  const p = webka.producer({ lingerMs: 1 });
  await p.send(topic, Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: { n: from + i }, headers: { h: 'v' } })));
  await p.close();
}

describe('partition consumer', () => {
  test('reads from the beginning, an offset or a time, and ends at the high watermark without follow', async () => {
    await webka.admin().createTopic({ name: 'read', partitions: 1 });
    await produce('read', 0, 50);
    const all: ConsumerRecord[] = [];
    for await (const r of webka.consumer({ topic: 'read', partition: 0, follow: false })) all.push(r);
    assert.equal(all.length, 50);
    assert.deepEqual(all[7], { ...all[7], topic: 'read', partition: 0, offset: 7, key: 'k7', value: { n: 7 }, headers: { h: 'v' } });
    const from40: number[] = [];
    for await (const r of webka.consumer({ topic: 'read', partition: 0, from: { offset: 40 }, follow: false })) from40.push(r.offset);
    assert.deepEqual(from40, [40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
    const byTime: number[] = [];
    for await (const r of webka.consumer({ topic: 'read', partition: 0, from: { timestamp: Date.now() + 60_000 }, follow: false })) byTime.push(r.offset);
    assert.deepEqual(byTime, [], 'nothing is at or after a future time');
    const latest: number[] = [];
    for await (const r of webka.consumer({ topic: 'read', partition: 0, from: 'latest', follow: false })) latest.push(r.offset);
    assert.deepEqual(latest, []);
  });

  test('match: only the records the broker finds, to the end or followed, and never over SSE', async () => {
    await webka.admin().createTopic({ name: 'search', partitions: 1 });
    await produce('search', 0, 25_000);
    // k7, k70..k79, k700..k799, k7000..k7999: more than one search's 10,000-record scan
    const want = Array.from({ length: 25_000 }, (_, i) => i).filter((i) => `k${i}`.includes('k7'));
    const got: number[] = [];
    for await (const r of webka.consumer({ topic: 'search', partition: 0, follow: false, match: 'K7', matchIn: 'key' })) got.push(r.offset);
    assert.deepEqual(got, want);

    const followed = webka.consumer({ topic: 'search', partition: 0, from: 'latest', match: 'wanted', maxWaitMs: 5_000 });
    const first = (async () => {
      for await (const r of followed) return r;
    })();
    const p = webka.producer({ lingerMs: 1 });
    await p.send('search', [{ value: 'not this' }, { value: 'the WANTED one' }]);
    await p.close();
    const r = await first;
    followed.close();
    assert.equal(r?.value, 'the WANTED one');
    assert.equal(r?.offset, 25_001);

    assert.throws(() => webka.consumer({ topic: 'search', partition: 0, transport: 'sse', match: 'x' }), (e: unknown) => e instanceof WebkaError && /long-poll/.test(e.message));
  });

  test('a missing partition is a typed error', async () => {
    await assert.rejects(
      (async () => {
        for await (const _ of webka.consumer({ topic: 'read', partition: 9, follow: false })) break;
      })(),
      (e: unknown) => e instanceof WebkaError && e.code === 'PARTITION_NOT_FOUND' && e.status === 404,
    );
  });

  for (const transport of ['long-poll', 'sse'] as const) {
    test(`follows new records and resumes after a broker restart (${transport})`, async () => {
      const topic = `follow-${transport}`;
      await webka.admin().createTopic({ name: topic, partitions: 1 });
      await produce(topic, 0, 100);
      const reader = webka.consumer({ topic, partition: 0, transport, maxWaitMs: 2_000, retryBackoffMs: 20, retryBackoffMaxMs: 200 });
      const seen: number[] = [];
      let restarting: Promise<void> | undefined;
      for await (const r of reader) {
        seen.push(r.value === null ? -1 : (r.value as { n: number }).n);
        if (seen.length === 100) {
          // The broker goes away while the reader waits at the end (in a long poll, or on its
          // open stream), comes back on the same port, and receives more records.
          restarting = (async () => {
            await new Promise((r) => setTimeout(r, 100));
            await broker.restart();
            await produce(topic, 100, 150);
          })();
        }
        if (seen.length === 150) break;
      }
      reader.close();
      await restarting;
      assert.deepEqual(seen, Array.from({ length: 150 }, (_, i) => i), 'every record exactly once, in order');
      assert.equal(reader.position, 150);
    });
  }

  test('a failure that repeats past the retry budget is reported, for a partition consumer and a topic follower', async () => {
    // Nothing listens on a closed broker's port.
    const gone = await startTestBroker();
    await gone.close();
    const dead = new Webka({ url: gone.url });
    const fast = { retryBackoffMs: 20, retryBackoffMaxMs: 50, retryBudgetMs: 300 };
    const readers = {
      'long-poll partition consumer': (o: object) => dead.consumer({ topic: 't', partition: 0, ...fast, ...o }),
      'SSE partition consumer': (o: object) => dead.consumer({ topic: 't', partition: 0, transport: 'sse', ...fast, ...o }),
      'topic follower': (o: object) => dead.followTopic({ topic: 't', ...fast, ...o }),
    };
    for (const [name, open] of Object.entries(readers)) {
      const thrown = open({});
      await assert.rejects(
        (async () => {
          for await (const r of thrown) void r;
        })(),
        (e: unknown) => e instanceof WebkaError && e.code === 'NETWORK_ERROR' && /retryBudgetMs/.test(e.message) && e.message.includes(gone.url),
        name,
      );
      // With onError the reader reports and goes on retrying.
      const errors: WebkaError[] = [];
      const reporting = open({ onError: (e: WebkaError) => errors.push(e) }) as AsyncIterable<unknown> & { close(): void };
      const loop = (async () => {
        for await (const r of reporting) void r;
      })();
      while (errors.length < 2) await new Promise((r) => setTimeout(r, 50));
      reporting.close();
      await loop;
      assert.equal(errors[0].code, 'NETWORK_ERROR', name);
    }
  });
});
