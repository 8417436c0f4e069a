/**
 * Segments cost no file descriptors beyond a bound: each partition keeps the three files of its
 * active segment open, and the files of all older segments share one pool of maxOpenSegmentFiles
 * descriptors (closed least recently used first, reopened when read). A broker with a pool of 8
 * and many partitions of several segments each serves reads of every segment, in a random order
 * and concurrently, with the right data, while the descriptors it holds on segment files never
 * exceed 3 per partition plus the pool: after writing, while reading, and after a restart (which
 * opens every segment to load it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker } from '../support/start-broker.js';
import { rest } from '../support/rest.js';

const T = '/v1/clusters/default/topics';
const PARTITIONS = 24;
const BATCHES = 20;
const POOL = 8;
const PAD = 'x'.repeat(200);

/** The descriptors this process holds on segment files (log and indexes) under dir. */
function segmentFds(dir: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    if (target.startsWith(dir + path.sep) && /\d{20}\.(log|index|timeindex)$/.test(target)) n++;
  }
  return n;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

test('reads of many partitions with several segments each, random and concurrent, stay within the fd pool and return the right data', { skip: process.platform !== 'linux' && 'counts /proc/self/fd' }, async () => {
  let broker = await startBroker({ config: { maxOpenSegmentFiles: POOL } });
  const logs = path.join(broker.dataDir, 'logs');
  const bound = 3 * PARTITIONS + POOL;
  try {
    let api = rest(broker.url);
    const created = await api.post(T, { name: 'many', partitions: PARTITIONS, configs: { 'segment.bytes': 1024 } });
    assert.equal(created.status, 201, created.text);
    // one batch per partition per request, about 300 bytes each: a segment holds three or four
    for (let b = 0; b < BATCHES; b++) {
      const records = Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: { p, b, pad: PAD } }));
      const r = await api.post(`${T}/many/records?acks=all`, { records });
      assert.equal(r.status, 200, r.text);
    }
    const described = await api.get(`${T}/many`);
    const segments = described.body.partitionInfo.map((p: { segments: number }) => p.segments) as number[];
    assert.ok(Math.min(...segments) >= 4, `every partition has several segments (${segments.join(' ')})`);

    // the segments that just rolled keep their files until their fsync (one group commit)
    let settled = segmentFds(logs);
    for (let i = 0; i < 200 && settled > bound; i++) {
      await new Promise((r) => setTimeout(r, 25));
      settled = segmentFds(logs);
    }
    assert.ok(settled <= bound, `after writing, ${settled} segment files are open, more than ${bound} (3 per partition + a pool of ${POOL})`);

    const readAll = async (): Promise<number> => {
      let most = segmentFds(logs);
      const sampler = setInterval(() => (most = Math.max(most, segmentFds(logs))), 1);
      try {
        const reads = shuffle(Array.from({ length: PARTITIONS * BATCHES }, (_, i) => ({ p: i % PARTITIONS, b: Math.floor(i / PARTITIONS) })));
        const queue = [...reads];
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
              const r = await api.get(`${T}/many/partitions/${next.p}/records?offset=${next.b}&maxRecords=1`);
              assert.equal(r.status, 200, r.text);
              assert.deepEqual(r.body.records[0].value, { p: next.p, b: next.b, pad: PAD }, `partition ${next.p} offset ${next.b}`);
              most = Math.max(most, segmentFds(logs));
            }
          }),
        );
      } finally {
        clearInterval(sampler);
      }
      return most;
    };

    const whileReading = await readAll();
    assert.ok(whileReading <= bound, `while reading, ${whileReading} segment files were open, more than ${bound}`);

    broker = await broker.restart();
    api = rest(broker.url);
    const afterStart = segmentFds(logs);
    assert.ok(afterStart <= bound, `after a restart, ${afterStart} segment files are open, more than ${bound}`);
    const afterRestart = await readAll();
    assert.ok(afterRestart <= bound, `reading after a restart, ${afterRestart} segment files were open, more than ${bound}`);
  } finally {
    await broker.close();
  }
});
