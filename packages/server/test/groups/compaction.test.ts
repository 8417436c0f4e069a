/**
 * Compaction end to end: a topic with cleanup.policy=compact on a real broker keeps the latest
 * record per key, answers fetches at the original offsets, and stays so across a restart; so do
 * the committed offsets in __consumer_offsets, which is itself compacted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { join, createTopic } from './group-client.js';

interface Fetched {
  offset: number;
  key: string | null;
  value: unknown;
}

/** acks=all: answered once durable, so a read right after sees the records. */
async function produce(api: Rest, topic: string, records: unknown[]): Promise<void> {
  const r = await api.post(`/v1/clusters/default/topics/${topic}/records?acks=all`, { records });
  assert.equal(r.status, 200, r.text);
}

async function readAll(api: Rest, topic: string): Promise<Fetched[]> {
  const out: Fetched[] = [];
  let offset = 0;
  for (;;) {
    const r = await api.get(`/v1/clusters/default/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000`);
    assert.equal(r.status, 200, r.text);
    out.push(...r.body.records.map((x: Fetched) => ({ offset: x.offset, key: x.key, value: x.value })));
    if (r.body.nextOffset >= r.body.highWatermark) return out;
    offset = r.body.nextOffset;
  }
}

test('a compacted topic keeps the latest record per key at its original offset, across a restart', async () => {
  let broker = await startBroker();
  try {
    let api = rest(broker.url);
    await createTopic(api, 'profiles', 1, { 'cleanup.policy': 'compact', 'segment.bytes': 1024, 'delete.retention.ms': 0 });
    // 5 keys updated 12 times each, one request per update; user-3 is deleted at the end
    for (let round = 0; round < 12; round++) {
      await produce(api, 'profiles', [0, 1, 2, 3, 4].map((u) => ({ key: `user-${u}`, value: { u, round, pad: 'x'.repeat(30) } })));
    }
    await produce(api, 'profiles', [{ key: 'user-3', value: null }]);
    // more updates of the other keys, so that the tombstone's segment closes
    for (let round = 12; round < 16; round++) {
      await produce(api, 'profiles', [0, 1, 2, 4].map((u) => ({ key: `user-${u}`, value: { u, round, pad: 'x'.repeat(30) } })));
    }
    const before = await readAll(api, 'profiles');
    assert.equal(before.length, 77);
    const segmentsBefore = broker.server.broker.describeTopic('default', 'profiles').partitions[0];
    assert.ok(segmentsBefore.segments > 3);

    const p0 = broker.server.broker.partition('default', 'profiles', 0);
    await p0.flush(p0.log.nextOffset);
    const removed = await broker.server.broker.compact(Date.now() + 1);
    assert.ok(removed > 40, `removed ${removed}`);
    const after = await readAll(api, 'profiles');
    const info = broker.server.broker.describeTopic('default', 'profiles').partitions[0];
    assert.equal(info.highWatermark, segmentsBefore.highWatermark, 'the high watermark is unchanged');
    assert.equal(info.logStartOffset, 0);
    assert.ok(info.sizeBytes < segmentsBefore.sizeBytes / 2, `${segmentsBefore.sizeBytes} -> ${info.sizeBytes} bytes`);
    // every record left is the record that had that offset before
    const byOffset = new Map(before.map((r) => [r.offset, r]));
    for (const r of after) assert.deepEqual(r, byOffset.get(r.offset));
    // the latest of each key is there; older versions of keys rewritten later in the cleaned part are gone
    const latest = new Map<string | null, number>();
    for (const r of before) latest.set(r.key, r.offset);
    for (const [key, offset] of latest) {
      if (key === 'user-3') continue;
      assert.ok(after.some((r) => r.offset === offset), `${key}'s latest record (offset ${offset}) survives`);
    }
    // below the active segment each key is left once; the active segment is never compacted
    const activeBase = broker.server.broker.partition('default', 'profiles', 0).log.segments.at(-1)!.baseOffset;
    const cleaned = after.filter((r) => r.offset < activeBase);
    assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length);
    assert.deepEqual(after.filter((r) => r.offset >= activeBase), before.filter((r) => r.offset >= activeBase));
    assert.ok(activeBase > 60, 'the tombstone (offset 60) is in a closed segment');
    assert.deepEqual(after.filter((r) => r.key === 'user-3'), [], 'the deleted key and its tombstone are gone (delete.retention.ms 0)');

    broker = await broker.restart();
    api = rest(broker.url);
    assert.deepEqual(await readAll(api, 'profiles'), after);
    // a fetch from an offset whose record was removed carries on at the next one that remains
    let offset = 1;
    let first: Fetched | undefined;
    while (first === undefined) {
      const r = await api.get(`/v1/clusters/default/topics/profiles/partitions/0/records?offset=${offset}&maxRecords=1`);
      first = r.body.records[0];
      assert.ok(r.body.nextOffset > offset || first !== undefined, 'the fetch makes progress');
      offset = r.body.nextOffset;
    }
    assert.equal(first.offset, after.find((r) => r.offset >= 1)!.offset);
  } finally {
    await broker.close();
  }
});

test('__consumer_offsets is compacted and still replays the latest committed offsets', async () => {
  let broker = await startBroker();
  try {
    let api = rest(broker.url);
    await createTopic(api, 'events', 2);
    await produce(api, 'events', Array.from({ length: 40 }, (_, i) => ({ value: i, partition: i % 2 })));
    // small segments so that the offsets topic rolls (it is internal: altered in-process)
    const m = await join(api, 'busy', { topics: ['events'], autoCommit: false });
    await m.commit({ offsets: [{ topic: 'events', partition: 0, offset: 0 }] });
    broker.server.broker.alterTopic('default', '__consumer_offsets', { configs: { 'segment.bytes': 1024 } });
    for (let i = 1; i <= 20; i++) {
      const c = await m.commit({ offsets: [{ topic: 'events', partition: 0, offset: i }, { topic: 'events', partition: 1, offset: 20 - i }] });
      assert.equal(c.status, 200, c.text);
    }
    assert.ok((await broker.server.broker.compact(Date.now())) > 10);
    await m.leave();
    broker = await broker.restart();
    api = rest(broker.url);
    const d = await api.get('/v1/clusters/default/groups/busy/offsets');
    assert.deepEqual(d.body.offsets.map((o: { partition: number; committed: number }) => [o.partition, o.committed]), [[0, 20], [1, 0]]);
  } finally {
    await broker.close();
  }
});
