import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { OffsetIndex, TimeIndex } from '../../src/storage/segment-index.js';
import { unboundedFdPool } from '../../src/storage/fd-pool.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-index-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const BASE = 100;

/** Raw offset index entries: [relativeOffset, position] as int32 BE pairs. */
function offsetEntries(entries: Array<[number, number]>): Buffer {
  const buf = Buffer.alloc(entries.length * 8);
  entries.forEach(([rel, pos], i) => {
    buf.writeInt32BE(rel, i * 8);
    buf.writeInt32BE(pos, i * 8 + 4);
  });
  return buf;
}

/** Raw time index entries: [timestamp int64, relativeOffset int32]. */
function timeEntries(entries: Array<[number, number]>): Buffer {
  const buf = Buffer.alloc(entries.length * 12);
  entries.forEach(([ts, rel], i) => {
    buf.writeBigInt64BE(BigInt(ts), i * 12);
    buf.writeInt32BE(rel, i * 12 + 8);
  });
  return buf;
}

function offsetIndex(bytes?: Buffer): OffsetIndex {
  const file = path.join(dir, '00000000000000000100.index');
  if (bytes !== undefined) fs.writeFileSync(file, bytes);
  return new OffsetIndex(nodeFileSystem, unboundedFdPool(), file, BASE);
}

function timeIndex(bytes?: Buffer): TimeIndex {
  const file = path.join(dir, '00000000000000000100.timeindex');
  if (bytes !== undefined) fs.writeFileSync(file, bytes);
  return new TimeIndex(nodeFileSystem, unboundedFdPool(), file, BASE);
}

describe('OffsetIndex', () => {
  test('an empty index sends every lookup to the start of the segment', () => {
    const idx = offsetIndex();
    assert.equal(idx.count, 0);
    assert.equal(idx.lookup(BASE), 0);
    assert.equal(idx.lookup(BASE + 1_000_000), 0);
    idx.close();
  });

  test('lookup finds the last entry at or before the offset: before, exact, between, after', () => {
    const idx = offsetIndex();
    idx.append(110, 200);
    idx.append(120, 400);
    idx.append(130, 600);
    assert.equal(idx.count, 3);
    assert.equal(idx.lookup(BASE), 0, 'before the first entry: the segment start');
    assert.equal(idx.lookup(109), 0);
    assert.equal(idx.lookup(110), 200, 'exact first');
    assert.equal(idx.lookup(119), 200, 'between');
    assert.equal(idx.lookup(120), 400, 'exact middle');
    assert.equal(idx.lookup(130), 600, 'exact last');
    assert.equal(idx.lookup(Number.MAX_SAFE_INTEGER), 600, 'after the last');
    idx.close();
  });

  test('append ignores an entry that does not move both offset and position forward', () => {
    const idx = offsetIndex();
    idx.append(110, 200);
    idx.append(110, 300);
    idx.append(115, 200);
    assert.equal(idx.count, 1);
    assert.equal(fs.statSync(idx.file).size, 8);
    idx.close();
  });

  test('truncateTo drops entries at or past the offset, in memory and in the file', () => {
    const idx = offsetIndex();
    idx.append(110, 200);
    idx.append(120, 400);
    idx.append(130, 600);
    idx.truncateTo(131);
    assert.equal(idx.count, 3, 'nothing at or past 131');
    idx.truncateTo(120);
    assert.equal(idx.count, 1);
    assert.equal(fs.statSync(idx.file).size, 8);
    assert.equal(idx.lookup(130), 200);
    idx.append(125, 500);
    assert.equal(idx.lookup(130), 500, 'appends continue after the cut');
    idx.truncateTo(BASE);
    assert.equal(idx.count, 0);
    assert.equal(fs.statSync(idx.file).size, 0);
    assert.equal(idx.lookup(130), 0);
    idx.close();
  });

  test('load reads back what append wrote', () => {
    const w = offsetIndex();
    w.append(110, 200);
    w.append(120, 400);
    w.close();
    const r = offsetIndex();
    assert.equal(r.load(1000), true);
    assert.equal(r.count, 2);
    assert.equal(r.lookup(115), 200);
    assert.equal(r.lookup(125), 400);
    r.append(130, 600);
    assert.equal(r.lookup(130), 600, 'appends after load go after the loaded entries');
    r.close();
    assert.deepEqual(fs.readFileSync(r.file), offsetEntries([[10, 200], [20, 400], [30, 600]]));
  });

  test('load of an empty file succeeds with no entries', () => {
    const idx = offsetIndex(Buffer.alloc(0));
    assert.equal(idx.load(0), true);
    assert.equal(idx.count, 0);
    idx.close();
  });

  const rejected: Array<[string, Buffer, number]> = [
    ['a torn last entry', Buffer.concat([offsetEntries([[10, 200], [20, 400]]), Buffer.from([0, 0, 0])]), 1000],
    ['a position at the end of the log', offsetEntries([[10, 200], [20, 400]]), 400],
    ['a position past the end of the log', offsetEntries([[10, 200], [20, 4000]]), 1000],
    ['offsets that do not increase', offsetEntries([[10, 200], [10, 400]]), 1000],
    ['positions that do not increase', offsetEntries([[10, 400], [20, 400]]), 1000],
    ['a negative relative offset', offsetEntries([[-1, 200]]), 1000],
  ];
  for (const [what, bytes, logSize] of rejected) {
    test(`load rejects an index file with ${what}`, () => {
      const idx = offsetIndex(bytes);
      assert.equal(idx.load(logSize), false);
      idx.close();
    });
  }
});

describe('TimeIndex', () => {
  test('an empty index sends every lookup to the base offset', () => {
    const idx = timeIndex();
    assert.equal(idx.count, 0);
    assert.equal(idx.lastTimestamp, -1);
    assert.equal(idx.lookup(0), BASE);
    assert.equal(idx.lookup(Number.MAX_SAFE_INTEGER), BASE);
    idx.close();
  });

  // (1000, 105): records before 105 are all at or below 1000, and so on.
  function filled(): TimeIndex {
    const idx = timeIndex();
    idx.maybeAppend(1000, 105);
    idx.maybeAppend(2000, 110);
    idx.maybeAppend(2000, 115); // not larger: ignored
    idx.maybeAppend(1500, 116); // smaller: ignored
    idx.maybeAppend(3000, 120);
    return idx;
  }

  test('maybeAppend keeps only entries whose timestamp grew', () => {
    const idx = filled();
    assert.equal(idx.count, 3);
    assert.equal(idx.lastTimestamp, 3000);
    idx.close();
  });

  test('lookup returns an offset before which every record is older than the target', () => {
    const idx = filled();
    assert.equal(idx.lookup(500), BASE, 'before the first entry');
    assert.equal(idx.lookup(1000), BASE, 'equal to the first entry: a record at 1000 may sit before 105');
    assert.equal(idx.lookup(1001), 105, 'between the first and second');
    assert.equal(idx.lookup(2000), 105, 'equal to the second');
    assert.equal(idx.lookup(2500), 110);
    assert.equal(idx.lookup(3000), 110, 'equal to the last');
    assert.equal(idx.lookup(3001), 120, 'after the last');
    idx.close();
  });

  test('truncateTo keeps entries whose offset is at or below the new end', () => {
    const idx = filled();
    idx.truncateTo(110);
    assert.equal(idx.count, 2, 'the entry (2000, 110) still describes records below 110');
    assert.equal(idx.lastTimestamp, 2000);
    assert.equal(fs.statSync(idx.file).size, 24);
    idx.truncateTo(104);
    assert.equal(idx.count, 0);
    assert.equal(idx.lookup(5000), BASE);
    idx.close();
  });

  test('load reads back what maybeAppend wrote', () => {
    filled().close();
    const r = timeIndex();
    assert.equal(r.load(120), true);
    assert.equal(r.count, 3);
    assert.equal(r.lastTimestamp, 3000);
    assert.equal(r.lookup(2500), 110);
    r.close();
    assert.deepEqual(fs.readFileSync(r.file), timeEntries([[1000, 5], [2000, 10], [3000, 20]]));
  });

  const rejected: Array<[string, Buffer, number]> = [
    ['a torn last entry', Buffer.concat([timeEntries([[1000, 5]]), Buffer.alloc(7)]), 120],
    ['an offset past the log end', timeEntries([[1000, 5], [2000, 21]]), 120],
    ['timestamps that do not increase', timeEntries([[1000, 5], [1000, 10]]), 120],
    ['offsets that go back', timeEntries([[1000, 10], [2000, 5]]), 120],
    ['a negative relative offset', timeEntries([[1000, -3]]), 120],
  ];
  for (const [what, bytes, nextOffset] of rejected) {
    test(`load rejects a time index file with ${what}`, () => {
      const idx = timeIndex(bytes);
      assert.equal(idx.load(nextOffset), false);
      idx.close();
    });
  }
});
