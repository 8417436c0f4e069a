/**
 * The transactional producer against a real broker: a committed transaction's records and
 * offsets appear together, an aborted one's never do for read_committed readers, a lost answer
 * is retried and written once, a failed send forbids commit, and a newer instance fences the
 * older one with PRODUCER_FENCED.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError, type FetchFn, type ConsumerRecord } from '../src/index.js';
import { startBroker, type TestBroker } from '../../server/test/support/start-broker.js';

let broker: TestBroker;
let webka: Webka;
before(async () => {
  broker = await startBroker();
  webka = new Webka({ url: broker.url });
});
after(async () => {
  await broker.close();
});

async function readAll(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of webka.consumer({ topic, partition: 0, follow: false, isolation })) out.push(r.value);
  return out;
}

async function committedOffset(group: string, topic: string): Promise<number | undefined> {
  const offsets = await webka.admin().groupOffsets(group);
  return offsets.find((o) => o.topic === topic && o.partition === 0)?.committed ?? undefined;
}

describe('transactional producer', () => {
  test('a committed transaction shows its records to read_committed readers; an aborted one never does', async () => {
    await webka.admin().createTopic({ name: 'tx-out', partitions: 1 });
    const tp = webka.transactionalProducer({ transactionalId: 'tx-basic' });
    await tp.begin();
    const meta = await tp.send('tx-out', [{ value: 'a' }, { value: 'b' }]);
    assert.deepEqual(meta.map((m) => m.offset), [0, 1]);
    assert.deepEqual(await readAll('tx-out', 'read_committed'), [], 'an open transaction is not shown');
    const d = await tp.commit();
    assert.equal(d.state, 'CompleteCommit');
    await tp.begin();
    await tp.send('tx-out', { value: 'aborted' });
    assert.equal((await tp.abort()).state, 'CompleteAbort');
    await tp.begin();
    await tp.send('tx-out', { value: 'c' });
    await tp.commit();
    assert.deepEqual(await readAll('tx-out', 'read_committed'), ['a', 'b', 'c']);
    assert.deepEqual(await readAll('tx-out', 'read_uncommitted'), ['a', 'b', 'aborted', 'c']);
    assert.equal(tp.state, 'ready');
  });

  test('consume-transform-produce: the input offsets reach the group only when the transaction commits', async () => {
    const admin = webka.admin();
    await admin.createTopic({ name: 'tx-in', partitions: 1 });
    await admin.createTopic({ name: 'tx-enriched', partitions: 1 });
    await webka.producer().send('tx-in', Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })));
    const consumer = webka.consumer({ groupId: 'tx-group', topics: 'tx-in', autoCommit: false, autoOffsetReset: 'earliest', isolation: 'read_committed' });
    const tp = webka.transactionalProducer({ transactionalId: 'tx-pipeline' });
    const seen: ConsumerRecord[] = [];
    for await (const r of consumer) {
      seen.push(r);
      if (seen.length === 5) break;
    }
    assert.equal(consumer.generation !== undefined && consumer.memberId !== undefined, true);
    // the first five, aborted: neither output nor offsets
    await tp.begin();
    await tp.send('tx-enriched', seen.map((r) => ({ key: r.key, value: (r.value as number) * 10 })));
    await tp.sendOffsets(consumer);
    assert.deepEqual((await tp.describe()).offsets, [{ groupId: 'tx-group', topic: 'tx-in', partition: 0, offset: 5 }]);
    await tp.abort();
    assert.equal(await committedOffset('tx-group', 'tx-in'), undefined);
    // the same five, committed: output and offsets together
    await tp.begin();
    await tp.send('tx-enriched', seen.map((r) => ({ key: r.key, value: (r.value as number) * 10 })));
    await tp.sendOffsets(consumer);
    await tp.commit();
    assert.equal(await committedOffset('tx-group', 'tx-in'), 5);
    assert.deepEqual(await readAll('tx-enriched', 'read_committed'), [0, 10, 20, 30, 40]);
    await consumer.close();
  });

  test('a lost answer is retried with the same sequence and written once', async () => {
    await webka.admin().createTopic({ name: 'tx-retry', partitions: 1 });
    let dropped = 0;
    const losing: FetchFn = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && String(input).endsWith('/records') && dropped++ < 2) {
        await res.arrayBuffer(); // the broker has written the records
        throw new TypeError('fetch failed: connection reset');
      }
      return res;
    };
    const tp = new Webka({ url: broker.url, fetch: losing }).transactionalProducer({ transactionalId: 'tx-retry', retryBackoffMs: 10 });
    await tp.begin();
    await tp.send('tx-retry', { value: 1 });
    await tp.send('tx-retry', { value: 2 });
    await tp.commit();
    assert.equal(dropped, 4, 'two answers lost, each request answered on its retry');
    assert.deepEqual(await readAll('tx-retry', 'read_committed'), [1, 2]);
  });

  test('a failed send forbids commit; abort clears it and the next transaction commits', async () => {
    await webka.admin().createTopic({ name: 'tx-partial', partitions: 1 });
    const tp = webka.transactionalProducer({ transactionalId: 'tx-partial' });
    await tp.begin();
    await tp.send('tx-partial', { value: 'lost' });
    await assert.rejects(tp.send('no-such-topic', { value: 'x' }), (e: WebkaError) => e.code === 'TOPIC_NOT_FOUND');
    assert.equal(tp.state, 'failed');
    await assert.rejects(tp.commit(), (e: WebkaError) => e.code === 'INVALID_TXN_STATE' && /abort\(\)/.test(e.message));
    await assert.rejects(tp.send('tx-partial', { value: 'y' }), (e: WebkaError) => e.code === 'INVALID_TXN_STATE');
    await tp.abort();
    await tp.begin();
    await tp.send('tx-partial', { value: 'kept' });
    await tp.commit();
    assert.deepEqual(await readAll('tx-partial', 'read_committed'), ['kept']);
  });

  test('a newer instance fences the older: its sends, offsets and commit fail with PRODUCER_FENCED, and its open transaction is aborted', async () => {
    await webka.admin().createTopic({ name: 'tx-fence', partitions: 1 });
    const old = webka.transactionalProducer({ transactionalId: 'tx-fence' });
    await old.begin();
    await old.send('tx-fence', { value: 'zombie' });
    const next = webka.transactionalProducer({ transactionalId: 'tx-fence' });
    await next.begin();
    assert.ok(next.producer.producerEpoch > old.producer.producerEpoch);
    const fenced = (e: WebkaError): boolean => e instanceof WebkaError && e.code === 'PRODUCER_FENCED' && e.status === 409 && /newer epoch/.test(e.message);
    await assert.rejects(old.send('tx-fence', { value: 'late' }), fenced);
    assert.equal(old.state, 'fenced');
    await assert.rejects(old.commit(), fenced);
    await assert.rejects(old.abort(), fenced);
    await next.send('tx-fence', { value: 'fresh' });
    await next.commit();
    assert.deepEqual(await readAll('tx-fence', 'read_committed'), ['fresh']);
    // init() takes the id back, fencing `next` in turn
    await old.init();
    await old.begin();
    await assert.rejects(next.begin().then(() => next.send('tx-fence', { value: 'n' })), fenced);
  });

  test('calls out of order say what to do', async () => {
    const tp = webka.transactionalProducer({ transactionalId: 'tx-order' });
    await assert.rejects(tp.send('tx-out', { value: 1 }), (e: WebkaError) => e.code === 'INVALID_TXN_STATE' && /begin\(\)/.test(e.message));
    await assert.rejects(tp.commit(), (e: WebkaError) => e.code === 'INVALID_TXN_STATE');
    await tp.begin();
    await assert.rejects(tp.begin(), (e: WebkaError) => e.code === 'INVALID_TXN_STATE' && /commit\(\) or abort\(\)/.test(e.message));
    assert.throws(() => webka.transactionalProducer({ transactionalId: '' }), (e: WebkaError) => e.code === 'INVALID_REQUEST');
  });
});
