/**
 * The log cleaner on a real Log in a temporary directory: it keeps the latest record per key,
 * drops expired tombstones, never changes an offset, leaves the active segment and young records
 * alone, and its segment swap survives a crash at any step.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Log, type LogConfig } from '../../src/storage/log.js';
import { LogCleaner } from '../../src/storage/log-cleaner.js';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { createRequire } from 'node:module';
import { encodeBatch, decodeRecords, readBatchHeader, BATCH_HEADER_SIZE, type DecodedRecord } from '../../src/storage/record-batch.js';
import { LOG_OVERHEAD } from '../../src/storage/batch-fields.js';
import { crc32c } from '../../src/storage/crc32c.js';

const require = createRequire(import.meta.url);

const config: LogConfig = { segmentBytes: 400, segmentMs: 1e12, indexIntervalBytes: 100, retentionMs: -1, retentionBytes: -1, maxBatchBytes: 1 << 20 };
const DAY = 86_400_000;

interface Rec {
  key: string | null;
  value: string | null;
  timestamp?: number;
  attributes?: number;
}

function withLog(fn: (log: Log, dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-cleaner-'));
    const log = Log.open(nodeFileSystem, path.join(dir, 'p'), config, { clean: true });
    try {
      await fn(log, path.join(dir, 'p'));
    } finally {
      await log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

function append(log: Log, records: Rec[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): number {
  const now = Date.now();
  const input = records.map((r) => ({ key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value), headers: [], timestamp: r.timestamp ?? now - 10 * DAY, attributes: r.attributes }));
  return log.append(encodeBatch(input, 0, producer ?? {}), input.length, Math.max(...input.map((r) => r.timestamp)));
}

/** Every record of the log, in order, as [offset, key, value]. */
function contents(log: Log): Array<[number, string | null, string | null]> {
  return decoded(log).map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null]);
}

function decoded(log: Log): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.nextOffset) {
    const data = log.read(offset, 1 << 20);
    if (data.length === 0) break;
    let pos = 0;
    while (pos < data.length) {
      decodeRecords(data, pos, out, offset);
      const h = readBatchHeader(data, pos);
      offset = h.baseOffset + h.lastOffsetDelta + 1;
      pos += LOG_OVERHEAD + h.batchLength;
    }
  }
  return out;
}

/** The codec of each batch of the log, with the keys of its records. */
function codecs(log: Log): Array<[number, string[]]> {
  const out: Array<[number, string[]]> = [];
  let offset = log.logStartOffset;
  while (offset < log.nextOffset) {
    const data = log.read(offset, 1 << 20);
    if (data.length === 0) break;
    for (let pos = 0; pos < data.length; ) {
      const h = readBatchHeader(data, pos);
      const recs: DecodedRecord[] = [];
      decodeRecords(data, pos, recs);
      out.push([h.compression, recs.map((r) => r.key!.toString())]);
      offset = h.baseOffset + h.lastOffsetDelta + 1;
      pos += LOG_OVERHEAD + h.batchLength;
    }
  }
  return out;
}

/** A batch of `records` whose record region is compressed by `compress` under `codec`, as a Kafka client sends one. */
function compressedBatch(records: Rec[], codec: number, compress: (plain: Buffer) => Buffer): Buffer {
  const plain = encodeBatch(records.map((r) => ({ key: Buffer.from(r.key!), value: Buffer.from(r.value!), headers: [], timestamp: Date.now() - 10 * DAY })), 0);
  const out = Buffer.concat([plain.subarray(0, BATCH_HEADER_SIZE), compress(plain.subarray(BATCH_HEADER_SIZE))]);
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
  out.writeInt16BE((out.readInt16BE(21) & ~7) | codec, 21);
  out.writeUInt32BE(crc32c(out, 21, out.length), 17);
  return out;
}

/** A zstd frame holding `plain` in one raw block (no zstd compressor is installed here). */
function zstdRaw(plain: Buffer): Buffer {
  const header = (plain.length << 3) | 1; // raw, last block
  return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3, header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), plain]);
}

const opts = (over: Partial<{ now: number; deleteRetentionMs: number; minCompactionLagMs: number }> = {}) => ({ now: Date.now(), deleteRetentionMs: DAY, minCompactionLagMs: 0, ...over });

describe('log cleaner', () => {
  test('a re-encoded batch keeps each survivor\'s attributes (how its value was produced)', withLog(async (log) => {
    append(log, [{ key: 'a', value: 'old', attributes: 2 }, { key: 'b', value: '10001', attributes: 2 }, { key: 'c', value: '"j"', attributes: 1 }, { key: 'a', value: 'AAE=', attributes: 3 }]);
    for (let i = 0; i < 12; i++) append(log, [{ key: `other${i % 3}`, value: `v${i}` }]);
    await log.flush();
    await new LogCleaner().clean(log, opts());
    const kept = decoded(log).filter((r) => ['a', 'b', 'c'].includes(r.key!.toString()));
    assert.deepEqual(kept.map((r) => [r.key!.toString(), r.value!.toString(), r.attributes]), [['b', '10001', 2], ['c', '"j"', 1], ['a', 'AAE=', 3]]);
  }));

  test('a rewritten batch keeps its snappy or lz4 codec; zstd, with no compressor here, becomes gzip', async () => {
    const snappy = require('snappyjs') as { compress(b: Buffer): Buffer };
    const lz4 = require('lz4-napi') as { compressFrameSync(b: Buffer): Buffer };
    for (const [codec, fn, kept] of [[2, (b: Buffer) => Buffer.from(snappy.compress(b)), 2], [3, (b: Buffer) => lz4.compressFrameSync(b), 3], [4, zstdRaw, 1], [1, (b: Buffer) => gzipSync(b), 1]] as const) {
      await withLog(async (log) => {
        const batch = compressedBatch([{ key: 'a', value: 'old' }, { key: 'b', value: 'kept' }], codec, fn);
        log.append(batch, 2, Date.now() - 10 * DAY);
        for (let i = 0; i < 12; i++) append(log, [{ key: i === 0 ? 'a' : `other${i % 3}`, value: `v${i}` }]);
        await log.flush();
        await new LogCleaner().clean(log, opts());
        assert.deepEqual(codecs(log)[0], [kept, ['b']], `codec ${codec}`);
        assert.deepEqual(contents(log)[0], [1, 'b', 'kept']);
      })();
    }
  });

  test('keeps the latest record per key, offsets unchanged, the active segment untouched', withLog(async (log) => {
    // a batch holding several keys, so that a batch is re-encoded with gaps in its offsets
    append(log, [{ key: 'a', value: 'a1' }, { key: 'b', value: 'b1' }, { key: 'c', value: 'c1' }, { key: 'a', value: 'a2' }]);
    for (let i = 0; i < 12; i++) append(log, [{ key: ['a', 'b', 'd'][i % 3], value: `v${i}` }, { key: null, value: `keyless${i}` }]);
    append(log, [{ key: 'a', value: 'active-a' }]); // ends in the active segment with the later ones
    await log.flush();
    assert.ok(log.segmentCount >= 3, `needs closed segments, has ${log.segmentCount}`);
    const before = contents(log);
    const activeBase = log.segments[log.segments.length - 1].baseOffset;
    const nextOffset = log.nextOffset;
    const result = await new LogCleaner().clean(log, opts());
    assert.ok(result.recordsRemoved > 0);
    assert.ok(result.bytesAfter < result.bytesBefore, `cleaned segments shrink: ${result.bytesBefore} -> ${result.bytesAfter} bytes`);
    const after = contents(log);
    assert.equal(log.nextOffset, nextOffset);
    assert.equal(log.logStartOffset, 0);
    // every surviving record is the one that was at that offset
    const byOffset = new Map(before.map((r) => [r[0], r]));
    for (const r of after) assert.deepEqual(r, byOffset.get(r[0]));
    // the active segment is as it was
    assert.deepEqual(after.filter((r) => r[0] >= activeBase), before.filter((r) => r[0] >= activeBase));
    // in the cleaned part, each key appears once, as its latest value there; keyless records all stay
    const cleaned = after.filter((r) => r[0] < activeBase);
    const keyed = cleaned.filter((r) => r[1] !== null);
    assert.equal(new Set(keyed.map((r) => r[1])).size, keyed.length);
    for (const [offset, key] of keyed) {
      const latestBefore = before.filter((r) => r[1] === key && r[0] < activeBase).at(-1)!;
      assert.equal(offset, latestBefore[0]);
    }
    assert.equal(cleaned.filter((r) => r[1] === null).length, before.filter((r) => r[1] === null && r[0] < activeBase).length);
    assert.ok(!after.some((r) => r[2] === 'a1' || r[2] === 'b1'));
    assert.ok(after.some((r) => r[2] === 'c1'), 'a key written once survives');
    // a second run finds nothing more to do
    assert.equal((await new LogCleaner().clean(log, opts())).recordsRemoved, 0);
  }));

  test('a tombstone removes its key\'s older records and goes itself after delete.retention.ms', withLog(async (log) => {
    const now = Date.now();
    append(log, [{ key: 'x', value: 'x1', timestamp: now - 1000 }, { key: 'y', value: 'y1', timestamp: now - 1000 }]);
    append(log, [{ key: 'x', value: null, timestamp: now - 500 }]);
    for (let i = 0; i < 10; i++) append(log, [{ key: `filler${i}`, value: 'f'.repeat(40), timestamp: now - 500 }]);
    await log.flush();
    const cleaner = new LogCleaner();
    await cleaner.clean(log, opts({ now, deleteRetentionMs: 60_000 }));
    let after = contents(log);
    assert.deepEqual(after.filter((r) => r[1] === 'x'), [[2, 'x', null]], 'the tombstone stays while young');
    assert.deepEqual(after.filter((r) => r[1] === 'y'), [[1, 'y', 'y1']]);
    await cleaner.clean(log, opts({ now: now + 61_000, deleteRetentionMs: 60_000 }));
    after = contents(log);
    assert.deepEqual(after.filter((r) => r[1] === 'x'), [], 'then it goes');
    assert.deepEqual(after.filter((r) => r[1] === 'y'), [[1, 'y', 'y1']]);
  }));

  test('records younger than min.compaction.lag.ms are not compacted', withLog(async (log) => {
    const now = Date.now();
    for (let i = 0; i < 12; i++) append(log, [{ key: 'k', value: `v${i}-${'p'.repeat(40)}`, timestamp: now - 1000 }]);
    await log.flush();
    const before = contents(log);
    assert.equal((await new LogCleaner().clean(log, opts({ now, minCompactionLagMs: 5000 }))).recordsRemoved, 0);
    assert.deepEqual(contents(log), before);
    assert.ok((await new LogCleaner().clean(log, opts({ now, minCompactionLagMs: 500 }))).recordsRemoved > 0);
  }));

  test('an idempotent producer\'s last batch stays as an empty batch, so its sequence survives', withLog(async (log) => {
    append(log, [{ key: 'k', value: 'v0' }], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
    append(log, [{ key: 'k', value: 'v1' }], { producerId: 7, producerEpoch: 0, baseSequence: 1 });
    for (let i = 0; i < 10; i++) append(log, [{ key: 'k', value: `later-${i}-${'p'.repeat(40)}` }]);
    await log.flush();
    await new LogCleaner().clean(log, opts());
    const headers: Array<[number, number, number]> = [];
    log.scanBatches(0, (buf, pos) => {
      const h = readBatchHeader(buf, pos);
      if (h.producerId === 7) headers.push([h.baseOffset, h.baseSequence, h.recordCount]);
    });
    assert.deepEqual(headers, [[1, 1, 0]], 'batch 0 went; batch 1 stays, empty, with its sequence');
  }));

  test('a cleaned log reopens after an unclean stop with the same records', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-cleaner-'));
    const logDir = path.join(dir, 'p');
    try {
      let log = Log.open(nodeFileSystem, logDir, config, { clean: true });
      for (let i = 0; i < 20; i++) append(log, [{ key: `k${i % 4}`, value: `v${i}-${'p'.repeat(20)}` }]);
      await log.flush();
      await new LogCleaner().clean(log, opts());
      const expected = contents(log);
      const next = log.nextOffset;
      await log.close();
      log = Log.open(nodeFileSystem, logDir, config, { clean: false });
      assert.equal(log.offlineReason, null);
      assert.equal(log.nextOffset, next);
      assert.deepEqual(contents(log), expected);
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('recovery deletes an unfinished .cleaned copy and completes a decided .swap', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-cleaner-'));
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    try {
      let log = Log.open(nodeFileSystem, a, config, { clean: true });
      for (let i = 0; i < 20; i++) append(log, [{ key: `k${i % 4}`, value: `v${i}-${'p'.repeat(20)}` }]);
      await log.close();
      fs.cpSync(a, b, { recursive: true });
      log = Log.open(nodeFileSystem, a, config, { clean: true });
      const original = contents(log);
      await new LogCleaner().clean(log, opts());
      const cleaned = contents(log);
      assert.notDeepEqual(cleaned, original);
      await log.close();
      const first = '00000000000000000000.log';
      // a crash during step 1: the copy is garbage and must not be used
      fs.writeFileSync(path.join(b, `${first}.cleaned`), 'half a copy');
      log = Log.open(nodeFileSystem, b, config, { clean: false });
      assert.deepEqual(contents(log), original);
      assert.ok(!fs.existsSync(path.join(b, `${first}.cleaned`)));
      await log.close();
      // a crash after step 2: the swap is decided, recovery finishes it
      fs.copyFileSync(path.join(a, first), path.join(b, `${first}.swap`));
      log = Log.open(nodeFileSystem, b, config, { clean: false });
      assert.ok(!fs.existsSync(path.join(b, `${first}.swap`)));
      const recovered = contents(log);
      assert.deepEqual(recovered.filter((r) => r[0] < log.segments[1].baseOffset), cleaned.filter((r) => r[0] < log.segments[1].baseOffset));
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
