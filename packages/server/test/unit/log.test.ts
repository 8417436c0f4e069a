import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { nodeFileSystem, type FileSystem } from '../../src/storage/file-system.js';
import { Log, type LogConfig } from '../../src/storage/log.js';
import { baseOffsetAt, lastOffsetAt } from '../../src/storage/batch-fields.js';
import { WebkaError } from '../../src/errors.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';
import { T0, appendSpec, batchOf, countingFs, decodeChecked, logConfig, readAll, tempDir, values, type BatchSpec } from '../support/log-fixtures.js';

let tmp: ReturnType<typeof tempDir>;
let dir: string;
const open: Log[] = [];

beforeEach(() => {
  tmp = tempDir();
  dir = path.join(tmp.dir, 'topic-0');
});
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
  tmp.remove();
});

function openLog(config: Partial<LogConfig> = {}, clean = false, fsys = nodeFileSystem): Log {
  const log = Log.open(fsys, dir, logConfig(config), { clean });
  open.push(log);
  return log;
}

/** n batches; batch i holds (i % 3) + 1 records "b<i>r<j>" stamped T0 + 1000 * i. */
function specs(n: number, from = 0): BatchSpec[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { values: Array.from({ length: (i % 3) + 1 }, (_, j) => `b${i}r${j}`), timestamp: T0 + 1000 * i };
  });
}

function expectedValues(list: BatchSpec[]): string[] {
  return list.flatMap((s) => s.values);
}

function rejectsWith(code: string, pattern?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof WebkaError, `expected a WebkaError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('append and read', () => {
  test('offsets are dense from 0 and every offset reads back the batch that holds it', () => {
    const log = openLog({ indexIntervalBytes: 200 });
    const list = specs(40);
    let expected = 0;
    for (const s of list) {
      assert.equal(appendSpec(log, s), expected);
      expected += s.values.length;
    }
    assert.equal(log.logStartOffset, 0);
    assert.equal(log.nextOffset, expected);
    const all = expectedValues(list);
    for (let offset = 0; offset < expected; offset++) {
      // maxBytes 1: exactly the one batch that holds offset
      const data = log.read(offset, 1);
      assert.ok(baseOffsetAt(data, 0) <= offset && offset <= lastOffsetAt(data, 0), `batch for ${offset}`);
      const records = decodeChecked(data, offset);
      assert.equal(records[0].offset, offset);
      assert.equal(records[0].value?.toString(), all[offset]);
    }
    assert.deepEqual(values(readAll(log)), all);
    assert.deepEqual(values(readAll(log, 1)), all);
  });

  test('a read returns whole batches, at least one even when it is larger than maxBytes', () => {
    const log = openLog();
    const big = { values: ['x'.repeat(5000)], timestamp: T0 };
    appendSpec(log, big);
    appendSpec(log, { values: ['small'], timestamp: T0 });
    const data = log.read(0, 10);
    assert.equal(data.length, batchOf(big).length);
    const both = log.read(0, 1 << 20);
    assert.deepEqual(values(decodeChecked(both)), ['x'.repeat(5000), 'small']);
  });

  test('a read bounded by maxRecords reads about that many records\' bytes, and reads on to maxBytes when later batches are larger', () => {
    let bytesRead = 0;
    const counting: FileSystem = new Proxy(nodeFileSystem, {
      get: (target, prop, receiver) =>
        prop === 'read'
          ? (fd: number, buf: Uint8Array, off: number, len: number, pos: number) => {
              bytesRead += len;
              return target.read(fd, buf, off, len, pos);
            }
          : Reflect.get(target, prop, receiver),
    });
    const log = openLog({}, false, counting);
    const small = Array.from({ length: 200 }, (_, i) => ({ values: Array.from({ length: 10 }, (_, j) => `s${i}-${j}`.padEnd(100, '.')), timestamp: T0 }));
    for (const s of small) appendSpec(log, s);
    const big = Array.from({ length: 4 }, (_, i) => ({ values: [`big${i}`.padEnd(40_000, '#')], timestamp: T0 }));
    for (const s of big) appendSpec(log, s);
    const all = expectedValues([...small, ...big]);

    // 25 records: the three batches that hold offsets 0 to 29; from 30 (where the first read
    // left the segment a hint of the position), read in far less than 1 MiB
    assert.deepEqual(values(decodeChecked(log.read(0, 1 << 20, log.nextOffset, 25))), all.slice(0, 30));
    bytesRead = 0;
    assert.deepEqual(values(decodeChecked(log.read(30, 1 << 20, log.nextOffset, 25))), all.slice(30, 60));
    assert.ok(bytesRead < 64 * 1024, `read ${bytesRead} bytes for 25 records`);
    // from the middle of a batch: whole batches up to the one that reaches offset + maxRecords
    assert.deepEqual(values(decodeChecked(log.read(15, 1 << 20, log.nextOffset, 10))), all.slice(10, 30));

    // the segment's average says ~1 KB for 3 records; the batches are 40 KB each: it reads on
    const at = 2000;
    const three = log.read(at, 1 << 20, log.nextOffset, 3);
    assert.deepEqual(values(decodeChecked(three)), all.slice(at, at + 3));
    // maxBytes still bounds it (at least one batch), and without maxRecords nothing changes
    assert.deepEqual(values(decodeChecked(log.read(at, 50_000, log.nextOffset, 3))), all.slice(at, at + 1));
    assert.deepEqual(values(decodeChecked(log.read(1990, 1 << 20))), all.slice(1990));
  });

  test('reading at nextOffset returns nothing; outside [logStartOffset, nextOffset] is OFFSET_OUT_OF_RANGE naming the range', () => {
    const log = openLog();
    for (const s of specs(3)) appendSpec(log, s);
    assert.equal(log.nextOffset, 6);
    assert.equal(log.read(6, 1000).length, 0);
    assert.throws(() => log.read(7, 1000), rejectsWith('OFFSET_OUT_OF_RANGE', /offset 7 .* 0 to 6/));
    assert.throws(() => log.read(-1, 1000), rejectsWith('OFFSET_OUT_OF_RANGE', /offset -1 .* 0 to 6/));
    try {
      log.read(100, 1000);
    } catch (err) {
      assert.deepEqual((err as WebkaError).details, { logStartOffset: 0, highWatermark: 6 });
    }
  });
});

describe('segment roll', () => {
  test('rolls by size: no segment grows past segment.bytes, and bases follow each other', () => {
    const batchBytes = batchOf(specs(1, 2)[0]).length; // a 3-record batch
    const log = openLog({ segmentBytes: batchBytes * 3 + 10, indexIntervalBytes: 1 });
    const list = specs(30);
    for (const s of list) appendSpec(log, s);
    assert.ok(log.segmentCount >= 8, `segments: ${log.segmentCount}`);
    let next = 0;
    for (const seg of log.segments) {
      assert.equal(seg.baseOffset, next, 'each segment starts where the previous ends');
      assert.ok(seg.size <= batchBytes * 3 + 10, `segment of ${seg.size} bytes`);
      assert.ok(fs.existsSync(seg.file));
      next = seg.nextOffset;
    }
    assert.equal(next, log.nextOffset);
    assert.deepEqual(values(readAll(log, 1)), expectedValues(list));
  });

  test('a batch larger than segment.bytes gets a segment of its own', () => {
    const log = openLog({ segmentBytes: 200 });
    appendSpec(log, { values: ['a'], timestamp: T0 });
    appendSpec(log, { values: ['y'.repeat(500)], timestamp: T0 });
    appendSpec(log, { values: ['b'], timestamp: T0 });
    assert.equal(log.segmentCount, 3);
    assert.deepEqual(values(readAll(log)), ['a', 'y'.repeat(500), 'b']);
  });

  test('rolls by age once the active segment is older than segment.ms', () => {
    const log = openLog({ segmentMs: 60_000 });
    appendSpec(log, { values: ['a'], timestamp: T0 });
    appendSpec(log, { values: ['b'], timestamp: T0 });
    assert.equal(log.segmentCount, 1, 'young segment: no roll');
    // the segment's age is measured from its first append; make it a minute old
    log.segments[0].createdAt -= 60_000;
    appendSpec(log, { values: ['c'], timestamp: T0 });
    assert.equal(log.segmentCount, 2);
    assert.equal(log.segments[1].baseOffset, 2);
    appendSpec(log, { values: ['d'], timestamp: T0 });
    assert.equal(log.segmentCount, 2, 'the new segment is young');
    assert.deepEqual(values(readAll(log)), ['a', 'b', 'c', 'd']);
  });
});

describe('retention', () => {
  /** Four segments of two 1-record batches; segment k's records are stamped T0 + k * 10_000 (+1). */
  function fourSegments(config: Partial<LogConfig>): Log {
    const one = batchOf({ values: ['v00'], timestamp: T0 }).length;
    const log = openLog({ segmentBytes: one * 2, ...config });
    for (let k = 0; k < 4; k++) {
      for (let j = 0; j < 2; j++) appendSpec(log, { values: [`v${k}${j}`], timestamp: T0 + k * 10_000 + j });
    }
    assert.equal(log.segmentCount, 4);
    return log;
  }

  test('by time: deletes whole segments whose newest record is older than retention.ms, and moves logStartOffset', () => {
    const log = fourSegments({ retentionMs: 15_000 });
    const oldFiles = log.segments.slice(0, 2).map((s) => s.file);
    // now - newest(segment 0) = 30_001 > 15_000; segment 1: 20_000 > 15_000; segment 2: 10_000 is within
    assert.equal(log.applyRetention(T0 + 30_001), 2);
    assert.equal(log.segmentCount, 2);
    assert.equal(log.logStartOffset, 4);
    for (const f of oldFiles) assert.equal(fs.existsSync(f), false);
    assert.throws(() => log.read(3, 100), rejectsWith('OFFSET_OUT_OF_RANGE', /4 to 8/));
    assert.deepEqual(values(readAll(log)), ['v20', 'v21', 'v30', 'v31']);
    assert.equal(log.applyRetention(T0 + 30_001), 0, 'nothing more is due');
  });

  test('by time on a quiet log: the expired active segment is rolled and deleted, leaving one empty segment', () => {
    const log = fourSegments({ retentionMs: 1000 });
    assert.equal(log.applyRetention(T0 + 100_000), 4);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, 8);
    assert.equal(log.nextOffset, 8);
    assert.equal(appendSpec(log, { values: ['after'], timestamp: T0 + 100_000 }), 8);
    assert.deepEqual(values(readAll(log)), ['after']);
  });

  test('by size: deletes the oldest segments while the rest still hold retention.bytes', () => {
    const log = fourSegments({});
    const seg = log.segments[0].size;
    log.config = { ...log.config, retentionBytes: seg * 2 + 1 };
    // 4 segments: drop while total - oldest >= limit: 4s-s=3s >= 2s+1 yes; 3s-s=2s < 2s+1 stop
    assert.equal(log.applyRetention(T0), 1);
    assert.equal(log.logStartOffset, 2);
    log.config = { ...log.config, retentionBytes: seg * 2 };
    assert.equal(log.applyRetention(T0), 1);
    assert.equal(log.logStartOffset, 4);
    assert.equal(log.sizeBytes, seg * 2);
    assert.deepEqual(values(readAll(log)), ['v20', 'v21', 'v30', 'v31']);
  });

  test('never deletes the only segment', () => {
    const log = openLog({ retentionBytes: 0 });
    appendSpec(log, { values: ['a', 'b'], timestamp: T0 });
    assert.equal(log.applyRetention(T0), 0);
    assert.equal(log.segmentCount, 1);
    assert.deepEqual(values(readAll(log)), ['a', 'b']);
  });
});

describe('offsetForTimestamp', () => {
  test('finds the first batch with a record at or after the timestamp, across segments', () => {
    const log = openLog({ segmentBytes: 300, indexIntervalBytes: 1 });
    const list = specs(12); // batch i at T0 + 1000 i, records +0, +1, +2 ms
    const bases: number[] = [];
    for (const s of list) bases.push(appendSpec(log, s));
    assert.ok(log.segmentCount > 2);
    assert.equal(log.offsetForTimestamp(0), 0, 'before everything: the first offset');
    assert.equal(log.offsetForTimestamp(T0), 0);
    assert.equal(log.offsetForTimestamp(T0 + 5000), bases[5], 'exact batch timestamp');
    assert.equal(log.offsetForTimestamp(T0 + 5001), bases[5], 'inside a batch: that batch');
    assert.equal(log.offsetForTimestamp(T0 + 5500), bases[6], 'between batches: the next one');
    assert.equal(log.offsetForTimestamp(T0 + 11_000), bases[11]);
    assert.equal(log.offsetForTimestamp(T0 + 11_003), log.nextOffset, 'after the last record: nextOffset');
    for (let i = 0; i < list.length; i++) assert.equal(log.offsetForTimestamp(T0 + 1000 * i - 1), bases[i]);
  });

  test('after retention never answers below logStartOffset', () => {
    const log = openLog({ segmentBytes: 300, retentionMs: 4500 });
    for (const s of specs(12)) appendSpec(log, s);
    assert.ok(log.applyRetention(T0 + 11_000) > 0);
    assert.ok(log.logStartOffset > 0);
    assert.equal(log.offsetForTimestamp(0), log.logStartOffset);
  });
});

describe('leader epochs', () => {
  test('epochEnd: the largest epoch at or below the one asked that wrote here, and where a later epoch began; unstamped batches count for neither', () => {
    const log = openLog({ segmentBytes: 300, indexIntervalBytes: 100 });
    const stamped = (epoch: number | null, n: number, from: number): void => {
      log.leaderEpoch = epoch;
      for (const s of specs(n, from)) appendSpec(log, s);
    };
    stamped(null, 2, 0); // offsets 0-2, epoch -1
    stamped(1, 3, 2); // from 3
    const epoch3At = log.nextOffset;
    stamped(3, 4, 5);
    const epoch6At = log.nextOffset;
    stamped(6, 2, 9);
    assert.ok(log.segmentCount > 2, 'the epochs span several segments');
    assert.deepEqual(log.epochEnd(0), { epoch: 0, endOffset: 3 }, 'before any stamped epoch: the epoch asked, ending where epoch 1 began');
    assert.deepEqual(log.epochEnd(1), { epoch: 1, endOffset: epoch3At });
    assert.deepEqual(log.epochEnd(2), { epoch: 1, endOffset: epoch3At }, 'epoch 2 never wrote: epoch 1 is the largest below it');
    assert.deepEqual(log.epochEnd(5), { epoch: 3, endOffset: epoch6At });
    assert.deepEqual(log.epochEnd(6), { epoch: 6, endOffset: log.nextOffset });
  });
});

describe('close and reopen', () => {
  test('a clean close keeps everything and reopens from the indexes without rewriting them', async () => {
    const list = specs(60);
    const log = openLog({ segmentBytes: 1000, indexIntervalBytes: 150 });
    for (const s of list) appendSpec(log, s);
    const before = { next: log.nextOffset, segments: log.segmentCount, bases: log.segments.map((s) => s.baseOffset) };
    await log.close();
    const { fs: counted, counts } = countingFs(nodeFileSystem);
    const again = openLog({ segmentBytes: 1000, indexIntervalBytes: 150 }, true, counted);
    assert.equal(again.offlineReason, null);
    assert.equal(counts.truncate ?? 0, 0, 'a clean open rewrites no index');
    assert.equal(again.nextOffset, before.next);
    assert.deepEqual(again.segments.map((s) => s.baseOffset), before.bases);
    assert.deepEqual(values(readAll(again, 1)), expectedValues(list));
    for (let i = 0; i < list.length; i += 7) assert.equal(again.offsetForTimestamp(T0 + 1000 * i), again.offsetForTimestamp(T0 + 1000 * i - 500));
    const more = specs(5, 60);
    for (const s of more) appendSpec(again, s);
    assert.deepEqual(values(readAll(again)), expectedValues([...list, ...more]));
  });

  test('a closed log refuses appends and reads', async () => {
    const log = openLog();
    appendSpec(log, { values: ['a'], timestamp: T0 });
    await log.close();
    assert.throws(() => appendSpec(log, { values: ['b'], timestamp: T0 }), rejectsWith('SHUTTING_DOWN'));
  });
});

describe('group commit', () => {
  test('concurrent flushes share fsyncs and all resolve', async () => {
    const { fs: counted, counts } = countingFs(nodeFileSystem);
    const log = openLog({}, false, counted);
    const ends: number[] = [];
    for (const s of specs(50)) ends.push(appendSpec(log, s) + s.values.length);
    await Promise.all(ends.map((end) => log.flush(end)));
    assert.equal(counts.datasync, 1, '50 flushes of appends made before the fsync started share one');
    assert.equal(log.durableOffset, log.nextOffset);

    // append, flush, append, flush... in one turn: the first flush asks for an fsync, which
    // starts with the next commit round at the end of the turn and so covers all fifty batches
    const flushes: Promise<void>[] = [];
    for (const s of specs(50, 50)) {
      const base = appendSpec(log, s);
      flushes.push(log.flush(base + s.values.length));
    }
    await Promise.all(flushes);
    assert.equal(counts.datasync, 2, 'one more fsync for fifty flushes');
    assert.equal(log.durableOffset, log.nextOffset);

    // an append while the fsync runs waits for it and gets the next one
    const first = specs(1, 100)[0];
    const during = log.flush(appendSpec(log, first) + first.values.length);
    await new Promise((resolve) => setImmediate(resolve));
    const second = specs(1, 101)[0];
    const after = log.flush(appendSpec(log, second) + second.values.length);
    await Promise.all([during, after]);
    assert.equal(counts.datasync, 4, 'the append made while an fsync ran got an fsync of its own');
    assert.equal(log.durableOffset, log.nextOffset);

    await log.flush();
    assert.equal(counts.datasync, 4, 'nothing new to flush: no fsync');
  });
});

describe('commit rounds', () => {
  /** The real file system, whose fdatasyncs (done for real) answer only once the test releases them. */
  function heldSyncs(): { fs: FileSystem; started: Array<{ fd: number; release: () => void }>; releaseAll: () => void } {
    const started: Array<{ fd: number; release: () => void }> = [];
    let holding = true;
    const fsys: FileSystem = {
      ...nodeFileSystem,
      datasync(fd) {
        const real = nodeFileSystem.datasync(fd);
        if (!holding) return real;
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        started.push({ fd, release });
        return Promise.all([real, gate]).then(() => undefined);
      },
    };
    const releaseAll = (): void => {
      holding = false;
      for (const s of started) s.release();
    };
    return { fs: fsys, started, releaseAll };
  }

  async function turns(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  test('the fsyncs of every log with unsynced data run as one round; each log is durable on its own fsync, and starts its next one with the next round', async () => {
    const { fs: held, started, releaseAll } = heldSyncs();
    try {
      const logs = [0, 1, 2, 3].map((i) => {
        const log = Log.open(held, path.join(tmp.dir, `round-${i}`), logConfig(), { clean: false });
        open.push(log);
        return log;
      });
      for (const [i, log] of logs.entries()) appendSpec(log, { values: [`first ${i}`], timestamp: T0 });
      const flushes = logs.map((log) => log.flush());
      await turns(5);
      assert.equal(started.length, 4, 'one fsync per log, issued together');

      // log 0's fsync completes first: its flush answers at once, the others still wait
      started[0].release();
      await flushes[0];
      assert.equal(logs[0].durableOffset, 1);
      assert.equal(logs[0].highWatermark, 1, 'readable once its own file is synced');
      assert.deepEqual(logs.slice(1).map((l) => l.highWatermark), [0, 0, 0], 'the others are not durable before their own fsync');

      // more data for log 0 while the round runs: its fsync waits for the round to end
      appendSpec(logs[0], { values: ['second 0'], timestamp: T0 });
      const again = logs[0].flush();
      await turns(5);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(started.length, 4, 'no fsync starts while a round runs');

      for (const s of started.slice(1)) s.release();
      await Promise.all(flushes);
      await turns(5);
      assert.equal(started.length, 5, 'the next round starts once the last fsync of the previous one is done');
      assert.equal(logs[0].durableOffset, 1, 'the second batch is not durable before its fsync');
      started[4].release();
      await again;
      assert.equal(logs[0].durableOffset, 2);
      assert.equal(started.length, 5);
    } finally {
      releaseAll();
    }
  });
});


describe('write and fsync errors', () => {
  const DIR = '/data/topic-0';
  function faultyLog(ffs: FaultyFileSystem, config: Partial<LogConfig> = {}): Log {
    return Log.open(ffs, DIR, logConfig(config), { clean: false });
  }

  test('a failed segment write fails the append, leaves no partial batch, and the next append takes the same offset', async () => {
    const ffs = new FaultyFileSystem();
    const log = faultyLog(ffs);
    appendSpec(log, { values: ['a'], timestamp: T0 });
    const size = log.sizeBytes;
    ffs.failNext({ kind: 'write', code: 'ENOSPC', match: (f) => f.endsWith('.log') });
    assert.throws(() => appendSpec(log, { values: ['lost', 'lost'], timestamp: T0 }), rejectsWith('STORAGE_ERROR', /ENOSPC/));
    assert.equal(log.nextOffset, 1);
    assert.equal(log.sizeBytes, size);
    assert.equal(ffs.readFile(log.segments[0].file).length, size, 'the partial bytes were cut off');
    assert.equal(appendSpec(log, { values: ['b'], timestamp: T0 }), 1);
    await log.flush();
    assert.deepEqual(values(readAll(log)), ['a', 'b']);
  });

  test('a failed index write fails the append and leaves nothing of it either', async () => {
    const ffs = new FaultyFileSystem();
    const log = faultyLog(ffs, { indexIntervalBytes: 1 });
    appendSpec(log, { values: ['a'], timestamp: T0 });
    const size = log.sizeBytes;
    ffs.failNext({ kind: 'write', code: 'EIO', match: (f) => f.endsWith('.index') });
    assert.throws(() => appendSpec(log, { values: ['lost'], timestamp: T0 + 1 }), rejectsWith('STORAGE_ERROR'));
    assert.equal(log.nextOffset, 1, 'the failed batch took no offset');
    assert.equal(log.sizeBytes, size);
    assert.equal(ffs.readFile(log.segments[0].file).length, size);
    assert.equal(appendSpec(log, { values: ['b'], timestamp: T0 + 2 }), 1);
    assert.deepEqual(values(readAll(log)), ['a', 'b']);
    await log.close();
    const again = faultyLog(ffs, { indexIntervalBytes: 1 });
    assert.deepEqual(values(readAll(again)), ['a', 'b']);
    await again.close();
  });

  test('a failed fsync rejects every pending flush, takes the log offline, and nothing is acknowledged later', async () => {
    const ffs = new FaultyFileSystem();
    const log = faultyLog(ffs);
    appendSpec(log, { values: ['durable'], timestamp: T0 });
    await log.flush();
    assert.equal(log.durableOffset, 1);
    ffs.failNext({ kind: 'fsync', code: 'EIO' });
    const base = appendSpec(log, { values: ['never-acked'], timestamp: T0 });
    const flushes = [log.flush(base + 1), log.flush(base + 1), log.flush()];
    const outcomes = await Promise.allSettled(flushes);
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      rejectsWith('PARTITION_OFFLINE', /fsync/)((o as PromiseRejectedResult).reason);
    }
    assert.match(log.offlineReason ?? '', /fsync .* failed/);
    assert.equal(log.durableOffset, 1, 'the durable point did not move');
    // a retry would now succeed on this file system; the log must still refuse to acknowledge
    await assert.rejects(log.flush(base + 1), rejectsWith('PARTITION_OFFLINE'));
    assert.throws(() => appendSpec(log, { values: ['x'], timestamp: T0 }), rejectsWith('PARTITION_OFFLINE'));
    assert.throws(() => log.read(0, 100), rejectsWith('PARTITION_OFFLINE'));
    assert.equal(await log.flush(1), undefined, 'what was durable before the failure stays acknowledged');
    await log.close();
  });

  test('a failed directory fsync while rolling fails the append and takes the log offline', async () => {
    const ffs = new FaultyFileSystem();
    const log = faultyLog(ffs, { segmentBytes: 200 });
    appendSpec(log, { values: ['a'.repeat(100)], timestamp: T0 });
    await log.flush();
    ffs.failNext({ kind: 'syncDir', code: 'EIO' });
    // the new segment's directory entry may not survive a power cut: nothing may be acknowledged in it
    assert.throws(() => appendSpec(log, { values: ['b'.repeat(100)], timestamp: T0 }), rejectsWith('STORAGE_ERROR', /EIO/));
    assert.equal(log.nextOffset, 1);
    assert.match(log.offlineReason ?? '', /EIO/);
    assert.throws(() => appendSpec(log, { values: ['c'], timestamp: T0 }), rejectsWith('PARTITION_OFFLINE'));
    await log.close();
    ffs.crash('drop');
    const again = faultyLog(ffs, { segmentBytes: 200 });
    assert.equal(again.offlineReason, null);
    assert.deepEqual(values(readAll(again)), ['a'.repeat(100)]);
    await again.close();
  });

  test('a failed file creation while rolling fails the append and leaves the log writable', async () => {
    const ffs = new FaultyFileSystem();
    const log = faultyLog(ffs, { segmentBytes: 200 });
    appendSpec(log, { values: ['a'.repeat(100)], timestamp: T0 });
    ffs.failNext({ kind: 'create', code: 'ENOSPC' });
    assert.throws(() => appendSpec(log, { values: ['b'.repeat(100)], timestamp: T0 }), rejectsWith('STORAGE_ERROR', /ENOSPC/));
    assert.equal(log.offlineReason, null);
    assert.equal(log.segmentCount, 1);
    assert.equal(appendSpec(log, { values: ['c'.repeat(100)], timestamp: T0 }), 1, 'space returned: the roll succeeds');
    await log.flush();
    assert.deepEqual(values(readAll(log)), ['a'.repeat(100), 'c'.repeat(100)]);
    await log.close();
  });

  test('negative control: the same sequence without the injected fault acknowledges', async () => {
    const ffs = new FaultyFileSystem();
    const log = faultyLog(ffs);
    appendSpec(log, { values: ['durable'], timestamp: T0 });
    await log.flush();
    const base = appendSpec(log, { values: ['acked'], timestamp: T0 });
    await log.flush(base + 1);
    assert.equal(log.offlineReason, null);
    assert.equal(log.durableOffset, 2);
    await log.close();
  });
});
