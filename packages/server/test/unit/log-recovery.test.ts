import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { Log, type LogConfig } from '../../src/storage/log.js';
import { LogSegment } from '../../src/storage/log-segment.js';
import { validateBatch } from '../../src/storage/record-batch.js';
import { WebkaError } from '../../src/errors.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';
import { T0, appendSpec, batchBounds, logConfig, readAll, tempDir, values, type BatchSpec } from '../support/log-fixtures.js';

let tmp: ReturnType<typeof tempDir>;
let dir: string;
beforeEach(() => {
  tmp = tempDir();
  dir = path.join(tmp.dir, 'topic-0');
});
afterEach(() => tmp.remove());

const CONFIG: Partial<LogConfig> = { indexIntervalBytes: 1 };
const SPECS: BatchSpec[] = [
  { values: ['alpha'], timestamp: T0 },
  { values: ['bravo', 'charlie'], timestamp: T0 + 10 },
  { values: ['delta'], timestamp: T0 + 20 },
  { values: ['echo', 'foxtrot', 'golf'], timestamp: T0 + 30 },
  { values: ['hotel'], timestamp: T0 + 40 },
  { values: ['india', 'juliett'], timestamp: T0 + 50 },
];
const ALL = SPECS.flatMap((s) => s.values);
const LEADER_EPOCH_BYTES = [12, 13, 14, 15]; // outside the CRC, and not part of the data

interface Recovered {
  truncatedBytes: number;
  reason: string | null;
}

function openLog(clean: boolean, config: Partial<LogConfig> = CONFIG): { log: Log; recovered: Recovered[] } {
  const recovered: Recovered[] = [];
  const log = Log.open(nodeFileSystem, dir, logConfig(config), { clean, probe: { recovered: (_d, r) => recovered.push(r) } });
  return { log, recovered };
}

/** Writes SPECS into a fresh log, closes it cleanly; returns every file of the directory. */
async function writeLog(specs = SPECS, config: Partial<LogConfig> = CONFIG): Promise<Map<string, Buffer>> {
  const { log } = openLog(false, config);
  for (const s of specs) appendSpec(log, s);
  await log.close();
  return snapshot();
}

function snapshot(): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

function restore(files: Map<string, Buffer>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  for (const [f, bytes] of files) fs.writeFileSync(path.join(dir, f), bytes);
}

const SEGMENT = '00000000000000000000.log';

/** The files with a checkpoint that says every offset below `flushed` was fsynced (recovery point 0). */
function checkpointAt(files: Map<string, Buffer>, flushed: number): Map<string, Buffer> {
  return new Map(files).set('recovery-point', Buffer.from(`0 ${flushed}`));
}

function expectOffline(log: Log): void {
  const offline = (err: unknown): boolean => err instanceof WebkaError && err.code === 'PARTITION_OFFLINE';
  assert.throws(() => log.read(0, 100), offline);
  assert.throws(() => appendSpec(log, { values: ['x'], timestamp: T0 }), offline);
}

describe('a torn last batch', () => {
  test('cut at every byte: the log reopens with exactly the complete batches before it and appends continue', async () => {
    const files = await writeLog();
    const seg = files.get(SEGMENT) as Buffer;
    const bounds = batchBounds(seg);
    assert.equal(bounds.length, SPECS.length);
    const [lastStart, lastSize] = bounds[bounds.length - 1];
    const before = ALL.slice(0, ALL.length - SPECS[SPECS.length - 1].values.length);
    let cases = 0;
    for (const clean of [false, true]) {
      for (let cut = 0; cut < lastSize; cut++) {
        // the last batch was appended after the last checkpoint
        const torn = checkpointAt(files, before.length);
        torn.set(SEGMENT, seg.subarray(0, lastStart + cut));
        restore(torn);
        const { log, recovered } = openLog(clean);
        const label = `clean=${clean} cut=${cut}`;
        assert.equal(log.offlineReason, null, label);
        assert.equal(log.nextOffset, before.length, label);
        assert.deepEqual(values(readAll(log)), before, label);
        if (cut > 0) assert.deepEqual(recovered.map((r) => r.truncatedBytes), [cut], label);
        assert.equal(fs.statSync(path.join(dir, SEGMENT)).size, lastStart, `${label}: the torn bytes are cut from the file`);
        assert.equal(appendSpec(log, { values: ['after'], timestamp: T0 + 100 }), before.length, label);
        assert.deepEqual(values(readAll(log)), [...before, 'after'], label);
        await log.close();
        const again = openLog(true).log;
        assert.deepEqual(values(readAll(again)), [...before, 'after'], `${label}, reopened`);
        await again.close();
        cases++;
      }
    }
    assert.equal(cases, 2 * lastSize);
  });

  test('a flipped bit anywhere in the last batch, past the flushed offset, truncates it (the leader epoch is not data and is kept)', async () => {
    const files = await writeLog();
    const seg = files.get(SEGMENT) as Buffer;
    const [lastStart, lastSize] = batchBounds(seg)[SPECS.length - 1];
    const before = ALL.slice(0, ALL.length - SPECS[SPECS.length - 1].values.length);
    for (let i = 0; i < lastSize; i++) {
      const flipped = Buffer.from(seg);
      flipped[lastStart + i] ^= 1 << (i % 8);
      restore(checkpointAt(files, before.length).set(SEGMENT, flipped));
      const { log } = openLog(false);
      const label = `byte ${i} bit ${i % 8}`;
      assert.equal(log.offlineReason, null, label);
      if (LEADER_EPOCH_BYTES.includes(i)) {
        assert.deepEqual(values(readAll(log)), ALL, label);
      } else {
        assert.equal(log.nextOffset, before.length, label);
        assert.deepEqual(values(readAll(log)), before, label);
      }
      await log.close();
    }
  });
});

describe('damage below the flushed offset', () => {
  for (const [which, index] of [['the third batch, valid batches after it', 2], ['the last batch', SPECS.length - 1]] as const) {
    test(`a flipped bit anywhere in ${which}, fsynced and checkpointed, takes the log offline and keeps the file as it is`, async () => {
      const files = await writeLog(); // a clean stop checkpoints the whole log as flushed
      assert.equal(files.get('recovery-point')?.toString(), `${ALL.length} ${ALL.length}`);
      const seg = files.get(SEGMENT) as Buffer;
      const [start, size] = batchBounds(seg)[index];
      let cases = 0;
      for (let i = 0; i < size; i++) {
        if (LEADER_EPOCH_BYTES.includes(i)) continue;
        const flipped = Buffer.from(seg);
        flipped[start + i] ^= 1 << (i % 8);
        restore(new Map(files).set(SEGMENT, flipped));
        const { log, recovered } = openLog(false);
        const label = `byte ${i} of ${which}`;
        assert.match(log.offlineReason ?? '', /corruption below the recovery point/, label);
        assert.deepEqual(recovered.map((r) => r.truncatedBytes), [0], label);
        expectOffline(log);
        await log.close();
        assert.deepEqual(fs.readFileSync(path.join(dir, SEGMENT)), flipped, `${label}: the segment is unchanged`);
        cases++;
      }
      assert.equal(cases, size - LEADER_EPOCH_BYTES.length);
    });
  }

  test('a log shorter than its flushed offset (whole batches gone) is offline, not reopened at the shorter end', async () => {
    const files = await writeLog();
    const seg = files.get(SEGMENT) as Buffer;
    const [lastStart] = batchBounds(seg)[SPECS.length - 1];
    restore(new Map(files).set(SEGMENT, seg.subarray(0, lastStart)));
    const { log } = openLog(false);
    assert.match(log.offlineReason ?? '', /recovery point/);
    await log.close();
  });
});

describe('a hole past the flushed offset', () => {
  for (const [what, damage] of [
    ['a flipped bit', (b: Buffer, start: number) => void (b[start + 70] ^= 0x10)],
    ['a hole of zeros (a lost write before writes that survived)', (b: Buffer, start: number, size: number) => void b.fill(0, start, start + size)],
  ] as const) {
    test(`${what} followed by valid batches is a torn tail: cut at the first bad byte, offsets re-used by new appends`, async () => {
      const files = await writeLog();
      const seg = files.get(SEGMENT) as Buffer;
      const [start, size] = batchBounds(seg)[2];
      const damaged = Buffer.from(seg);
      damage(damaged, start, size);
      const kept = ALL.slice(0, SPECS[0].values.length + SPECS[1].values.length);
      restore(checkpointAt(files, kept.length).set(SEGMENT, damaged));
      const { log, recovered } = openLog(false);
      assert.equal(log.offlineReason, null);
      assert.deepEqual(values(readAll(log)), kept);
      assert.deepEqual(recovered.map((r) => r.truncatedBytes), [seg.length - start]);
      assert.equal(fs.statSync(path.join(dir, SEGMENT)).size, start, 'cut at the first bad byte');
      assert.equal(appendSpec(log, { values: ['after'], timestamp: T0 + 100 }), kept.length);
      await log.close();
      assert.deepEqual(values(readAll(openLog(true).log)), [...kept, 'after']);
    });
  }
});

describe('corruption in the middle of the log', () => {
  test('negative control: truncating at the first bad batch would silently lose the valid batches after it', async () => {
    const files = await writeLog();
    const seg = files.get(SEGMENT) as Buffer;
    const bounds = batchBounds(seg);
    const [start] = bounds[2];
    const flipped = Buffer.from(seg);
    flipped[start + 70] ^= 0x10; // inside the first record: only the CRC can tell
    restore(new Map(files).set(SEGMENT, flipped));

    // what recovery sees: valid bytes end at the bad batch, valid batches follow it
    const segment = LogSegment.open(nodeFileSystem, dir, 0);
    const result = segment.recover(1);
    segment.close();
    assert.equal(result.validBytes, start);
    const after = bounds.slice(3).filter(([p, s]) => validateBatch(flipped, p, s) === null);
    assert.equal(after.length, 3, 'three valid batches follow the bad one');
    const lostRecords = SPECS.slice(3).reduce((n, s) => n + s.values.length, 0);

    // the naive policy, done by hand: cut at the first bad batch and reopen
    const naiveCut = new Map(files).set(SEGMENT, flipped.subarray(0, result.validBytes));
    naiveCut.delete('recovery-point'); // (which would tell that flushed batches are missing)
    restore(naiveCut);
    const { log: naive } = openLog(false);
    assert.equal(naive.offlineReason, null, 'the naive cut opens without complaint...');
    assert.equal(readAll(naive).length, ALL.length - SPECS[2].values.length - lostRecords, '...and has silently lost the batches after it');
    await naive.close();

    // the real policy on the same bytes (all of them below the flushed offset): nothing is lost,
    // the log refuses to serve instead
    restore(new Map(files).set(SEGMENT, flipped));
    const { log } = openLog(false);
    assert.notEqual(log.offlineReason, null);
    await log.close();
    assert.equal(fs.readFileSync(path.join(dir, SEGMENT)).length, seg.length);
  });

  for (const pastFlushed of [false, true]) {
    test(`a torn older segment with data in later segments: ${pastFlushed ? 'all past the flushed offset, cut with the later segments' : 'below the flushed offset, offline'}`, async () => {
      const config = { ...CONFIG, segmentBytes: 200 };
      const files = await writeLog(SPECS, config);
      const segs = [...files.keys()].filter((f) => f.endsWith('.log')).sort();
      assert.ok(segs.length >= 3, `segments: ${segs.join(', ')}`);
      const first = files.get(segs[0]) as Buffer;
      const bounds = batchBounds(first);
      const [lastStart, lastSize] = bounds.at(-1) as [number, number];
      // torn, not flipped: the tail of the first segment is missing but later segments hold data
      const flushed = pastFlushed ? bounds.length - 1 : ALL.length;
      restore(checkpointAt(files, flushed).set(segs[0], first.subarray(0, lastStart + lastSize - 1)));
      const { log } = openLog(false, config);
      if (pastFlushed) {
        assert.equal(log.offlineReason, null);
        assert.equal(log.segmentCount, 1);
        assert.equal(readAll(log).length, log.nextOffset);
        assert.ok(log.nextOffset >= flushed);
        for (const f of segs.slice(1)) assert.equal(fs.existsSync(path.join(dir, f)), false, `${f} is deleted`);
      } else {
        assert.match(log.offlineReason ?? '', /corruption below the recovery point/);
        expectOffline(log);
      }
      await log.close();
      if (!pastFlushed) for (const f of segs.slice(1)) assert.deepEqual(fs.readFileSync(path.join(dir, f)), files.get(f));
    });
  }
});

describe('index files', () => {
  for (const suffix of ['.index', '.timeindex']) {
    for (const clean of [true, false]) {
      test(`a garbage ${suffix} file is rebuilt (clean=${clean})`, async () => {
        const files = await writeLog();
        const name = SEGMENT.replace('.log', suffix);
        const good = files.get(name) as Buffer;
        assert.ok(good.length > 0);
        for (const garbage of [Buffer.alloc(good.length, 0xff), Buffer.alloc(good.length + 3, 0x41), Buffer.from(good.subarray(0, good.length - 1))]) {
          restore(new Map(files).set(name, garbage));
          const { log } = openLog(clean);
          assert.equal(log.offlineReason, null);
          assert.deepEqual(values(readAll(log, 1)), ALL);
          assert.equal(log.offsetForTimestamp(T0 + 30), 4);
          await log.close();
          assert.deepEqual(fs.readFileSync(path.join(dir, name)), good, 'the rebuilt index is the original one');
        }
      });
    }
  }
});

describe('a lost tail followed by an empty rolled segment', () => {
  for (const [what, extra] of [['a torn batch', 20], ['a tail lost at a batch boundary', 0]] as const) {
  test(`${what}: recovers without a gap, the empty segment goes and appends continue at the lost offset`, async () => {
    const config = { ...CONFIG, segmentBytes: 250 };
    const files = await writeLog(SPECS, config);
    const segs = [...files.keys()].filter((f) => f.endsWith('.log')).sort();
    const lastSeg = segs.at(-1) as string;
    const prevSeg = segs.at(-2) as string;
    const prev = files.get(prevSeg) as Buffer;
    const [tornStart] = batchBounds(prev).at(-1) as [number, number];
    // power cut after the roll: the new segment's data never reached the disk, the previous one is torn
    const broken = new Map(files);
    broken.set(lastSeg, Buffer.alloc(0));
    broken.set(lastSeg.replace('.log', '.index'), Buffer.alloc(0));
    broken.set(lastSeg.replace('.log', '.timeindex'), Buffer.alloc(0));
    broken.set(prevSeg, prev.subarray(0, tornStart + extra));
    broken.delete('recovery-point');
    restore(broken);

    const { log } = openLog(false, config);
    assert.equal(log.offlineReason, null);
    const tornBase = Number(prevSeg.slice(0, 20)) + batchBounds(prev).length - 1;
    const survivors = readAll(log);
    const next = survivors.length;
    assert.equal(log.nextOffset, next);
    assert.equal(fs.existsSync(path.join(dir, lastSeg)), false, 'the empty segment is deleted');
    assert.equal(log.segments.at(-1)?.nextOffset, next);
    let expectedNext = 0;
    for (const s of log.segments) {
      assert.equal(s.baseOffset, expectedNext, 'no gap between segments');
      expectedNext = s.nextOffset;
    }
    assert.ok(tornBase >= 0);
    assert.equal(appendSpec(log, { values: ['after'], timestamp: T0 + 100 }), next);
    assert.deepEqual(values(readAll(log)), [...values(survivors), 'after']);
    assert.deepEqual(readAll(log).map((r) => r.offset), Array.from({ length: next + 1 }, (_, i) => i));
    await log.close();
  });
  }
});

describe('damage that recovery does not scan', () => {
  test('a damaged baseOffset (outside the CRC) in a trusted segment is caught on read, not served', async () => {
    const files = await writeLog();
    const seg = files.get(SEGMENT) as Buffer;
    const [start] = batchBounds(seg)[2];
    const flipped = Buffer.from(seg);
    flipped[start + 3] ^= 0x01; // baseOffset += 2^32
    for (const [bytes, damaged] of [[seg, false], [flipped, true]] as const) {
      restore(new Map(files).set(SEGMENT, bytes));
      const { log } = openLog(true); // a clean start trusts the indexes and scans only the last batch
      assert.equal(log.offlineReason, null);
      if (!damaged) {
        assert.deepEqual(values(readAll(log, 1)), ALL, 'negative control: the same reads serve the intact file');
      } else {
        assert.throws(() => readAll(log, 1), (err: unknown) => err instanceof WebkaError && err.code === 'CORRUPT_RECORD');
        assert.match(log.offlineReason ?? '', /corrupt batch header/);
        expectOffline(log);
      }
      await log.close();
    }
  });
});

describe('after the process dies (the machine keeps running)', () => {
  const DIR = '/data/topic-0';
  const open = (ffs: FaultyFileSystem, config: Partial<LogConfig> = {}): Log => Log.open(ffs, DIR, logConfig(config), { clean: false });

  test('what the reopened log finds is not acknowledged until it is fsynced', async () => {
    for (const flushAfterRestart of [true, false]) {
      const ffs = new FaultyFileSystem();
      const log = open(ffs);
      appendSpec(log, { values: ['durable'], timestamp: T0 });
      await log.flush();
      appendSpec(log, { values: ['page-cache-only'], timestamp: T0 }); // acks=1: never flushed
      ffs.crash('process');
      const again = open(ffs);
      assert.deepEqual(values(readAll(again)), ['durable', 'page-cache-only']);
      assert.ok(again.durableOffset < 2, `durableOffset ${again.durableOffset}`);
      if (flushAfterRestart) await again.flush(2); // an idempotent retry asks for this before answering
      ffs.crash('drop'); // then the power fails
      const last = open(ffs);
      // negative control: without the fsync the record is gone, so the test can see a missing one
      assert.deepEqual(values(readAll(last)), flushAfterRestart ? ['durable', 'page-cache-only'] : ['durable']);
      await last.close();
    }
  });

  test('a cut made by recovery is fsynced before later segments are, so the torn bytes never come back', async () => {
    // every cut point of the final power failure: its first random draw picks how many unsynced writes survive
    for (let k = 0; k < 20; k++) {
    let draws = 0;
    const ffs = new FaultyFileSystem(() => (draws++ === 0 ? k / 20 : 0.5));
    const config = { segmentBytes: 300 };
    const log = open(ffs, config);
    appendSpec(log, { values: ['a'.repeat(60)], timestamp: T0 });
    await log.flush();
    ffs.failNext({ kind: 'write', code: 'ENOSPC', partialBytes: 30 });
    assert.throws(() => appendSpec(log, { values: ['b'.repeat(60)], timestamp: T0 }));
    assert.equal(log.segmentCount, 1, 'the failed write went to segment 0');
    ffs.crash('process'); // the partial write and its cut-back are both in the page cache only
    const again = open(ffs, config);
    appendSpec(again, { values: ['c'.repeat(150)], timestamp: T0 }); // rolls: a new segment
    assert.equal(again.segmentCount, 2);
    await again.flush();
    draws = 0;
    ffs.crash('torn'); // a prefix of the unsynced writes survives
    const last = open(ffs, config);
    assert.equal(last.offlineReason, null, `cut ${k}/20`);
    assert.deepEqual(values(readAll(last)), ['a'.repeat(60), 'c'.repeat(150)]);
    await last.close();
    }
  });
});

describe('the recovery point', () => {
  test('never covers a segment whose indexes or data are not yet fsynced', async () => {
    const ffs = new FaultyFileSystem();
    const dir = '/data/topic-0';
    const point = (): string => ffs.readFile(`${dir}/recovery-point`).toString();
    const log = Log.open(ffs, dir, logConfig({ segmentBytes: 200, indexIntervalBytes: 1 }), { clean: false });
    appendSpec(log, { values: ['a'.repeat(100)], timestamp: T0 });
    await log.flush();
    appendSpec(log, { values: ['b'.repeat(100)], timestamp: T0 }); // rolls; segment 0's indexes are not fsynced
    log.checkpoint();
    assert.equal(point(), '0 1', 'offset 0 is flushed, but segment 0 is not covered');
    await log.flush(); // fsyncs segment 1 and the indexes of the rolled segment 0
    log.checkpoint();
    assert.equal(point(), '1 2', 'segment 0 is covered; the active one is always scanned');
    await log.close();
    assert.equal(point(), '2 2');
  });
});
