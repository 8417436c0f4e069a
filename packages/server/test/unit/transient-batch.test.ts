/**
 * encodeTransientBatch (Partition.append's encoder, into a reused buffer) writes the same bytes
 * as encodeBatch, and a partition that appends through it keeps every batch intact: each append
 * overwrites the encoder's buffer, so a batch still referenced after its append would change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeBatch, encodeTransientBatch, type RecordInput } from '../../src/storage/record-batch.js';
import { Partition } from '../../src/partitions/partition.js';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';
import type { FileSystem } from '../../src/storage/file-system.js';

const T0 = 1_700_000_000_000;

function records(n: number, size: number, tag: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`k${tag}-${i}`),
    value: i % 5 === 4 ? null : Buffer.alloc(size, 97 + ((tag + i) % 26)),
    headers: i % 2 === 0 ? [] : [{ key: 'h', value: Buffer.from(String(tag)) }],
    timestamp: T0 + tag * 1000 + i,
  }));
}

test('encodeTransientBatch writes the bytes encodeBatch writes, with and without gzip', () => {
  const meta = { producerId: 7, producerEpoch: 1, baseSequence: 40, timestampType: 0 as const };
  // small, growing, and one past the reused buffer's 2 MiB cap (a buffer of its own)
  for (const [n, size] of [[1, 10], [50, 100], [1000, 1024], [3, 1 << 20]] as const) {
    for (const compression of ['none', 'gzip'] as const) {
      const recs = records(n, size, n);
      assert.deepEqual(encodeTransientBatch(recs, 0, meta, compression), encodeBatch(recs, 0, meta, compression));
    }
  }
});

test('the reused buffer is overwritten by the next call (why only Partition.append uses it)', () => {
  const a = encodeTransientBatch(records(10, 50, 1), 0);
  const copy = Buffer.from(a);
  encodeTransientBatch(records(10, 50, 2), 0);
  assert.notDeepEqual(a, copy);
});

for (const [name, make] of [['node', (): FileSystem => nodeFileSystem], ['in-memory', (): FileSystem => new FaultyFileSystem()]] as const) {
  test(`a partition on the ${name} file system reads back every batch appended through the reused buffer`, async () => {
    const fsys = make();
    const root = name === 'node' ? fs.mkdtempSync(path.join(os.tmpdir(), 'webka-transient-')) : '/data';
    if (name !== 'node') fsys.mkdirp(root);
    const config = { segmentBytes: 1 << 20, segmentMs: 3_600_000, indexIntervalBytes: 4096, retentionMs: -1, retentionBytes: -1, maxBatchBytes: 4 << 20 };
    const p = Partition.open(fsys, path.join(root, 't-0'), 't', 0, config, { clean: true });
    try {
      const appended: RecordInput[] = [];
      for (let tag = 0; tag < 12; tag++) {
        const batch = records(1 + tag * 7, 40 + tag * 90, tag);
        p.append(batch.map((r) => ({ ...r, headers: r.headers ?? [] })), { compression: tag % 4 === 3 ? 'gzip' : 'none', logAppendTime: false });
        appended.push(...batch);
      }
      await p.flush(p.log.nextOffset);
      const read = p.read(0, { maxRecords: 100_000, maxBytes: 64 << 20 });
      assert.equal(read.records.length, appended.length);
      read.records.forEach((r, i) => {
        assert.equal(r.offset, i);
        assert.deepEqual(r.key, appended[i].key);
        assert.deepEqual(r.value, appended[i].value);
        assert.equal(r.timestamp, appended[i].timestamp);
      });
    } finally {
      void p.close();
      if (name === 'node') fs.rmSync(root, { recursive: true, force: true });
    }
  });
}
