/**
 * Partition.appendGroup: several requests' shares of a partition, each its own batch, written
 * with one write (ProducePath gathers the appends of one event-loop turn). Each batch keeps its
 * own offsets, producer and options; duplicates write nothing; a failed write leaves the log,
 * the producer table and the offsets as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partition, type AppendRecord, type GroupAppend } from '../../src/partitions/partition.js';
import { ProducePath, type ProduceInput } from '../../src/partitions/produce-path.js';
import { WebkaError } from '../../src/errors.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';
import { T0, countingFs, logConfig } from '../support/log-fixtures.js';

function records(tag: string, n: number): AppendRecord[] {
  return Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}`), headers: [], timestamp: T0 + i }));
}

const plain = { compression: 'none' as const, logAppendTime: false };

function open(fsys: FaultyFileSystem): Partition {
  fsys.mkdirp('/data');
  return Partition.open(fsys, '/data/t-0', 't', 0, logConfig(), { clean: true });
}

/** What a reader sees once the appends are durable (readers stop at the high watermark). */
async function readValues(p: Partition): Promise<string[]> {
  await p.flush(p.log.nextOffset);
  return p.read(0, { maxRecords: 10_000, maxBytes: 1 << 20 }).records.map((r) => r.value!.toString());
}

test('a group is one write of one batch per item, at consecutive offsets, each with its own producer and options', async () => {
  const faulty = new FaultyFileSystem();
  const { fs: counting, counts } = countingFs(faulty);
  faulty.mkdirp('/data');
  // an index entry per batch (indexIntervalBytes 1), as if the batches were appended one by one
  const p = Partition.open(counting, '/data/t-0', 't', 0, logConfig({ indexIntervalBytes: 1 }), { clean: true });
  p.append(records('seed', 2), plain);
  const segment = p.log.segments[0];
  const entriesBefore = segment.offsetIndex.entries;
  const timeEntriesBefore = segment.timeIndex.entries;
  const writesBefore = counts.write ?? 0;
  const items: GroupAppend[] = [
    { records: records('a', 3), options: plain },
    { records: records('b', 1), options: plain, producer: { producerId: 9, producerEpoch: 0, sequence: 0 } },
    { records: records('c', 4), options: { compression: 'gzip', logAppendTime: false } },
    { records: records('d', 2), options: { compression: 'none', logAppendTime: true } },
  ];
  const results = p.appendGroup(items);
  assert.equal(
    (counts.write ?? 0) - writesBefore - (segment.offsetIndex.entries - entriesBefore) - (segment.timeIndex.entries - timeEntriesBefore),
    1,
    'the four batches went out in one write (beside the index entries, one write each)',
  );
  assert.equal(segment.offsetIndex.entries - entriesBefore, 4, 'each batch of the group is indexed');
  await p.flush(p.log.nextOffset);
  assert.deepEqual(p.read(6, { maxRecords: 1, maxBytes: 1 }).records.map((r) => r.value!.toString()), ['c-0'], 'a read from inside the group starts at its batch');
  assert.deepEqual(results.map((r) => r.baseOffset), [2, 5, 6, 10]);
  assert.deepEqual(results.map((r) => r.duplicate), [false, false, false, false]);
  assert.ok(results[3].logAppendTime >= T0, 'LogAppendTime stamps its own batch only');
  assert.equal(results[0].logAppendTime, -1);
  assert.equal(p.log.nextOffset, 12);

  const read = p.read(0, { maxRecords: 100, maxBytes: 1 << 20 }).records;
  assert.deepEqual(read.map((r) => r.value!.toString()), ['seed-0', 'seed-1', 'a-0', 'a-1', 'a-2', 'b-0', 'c-0', 'c-1', 'c-2', 'c-3', 'd-0', 'd-1']);
  assert.deepEqual(read.map((r) => r.offset), [...Array(12).keys()]);
  assert.equal(read[10].timestamp, results[3].logAppendTime);
  assert.equal(read[2].timestamp, T0);

  // the idempotent item's producer state points at its own batch: a retry is a duplicate
  const again = p.appendGroup([{ records: records('b', 1), options: plain, producer: { producerId: 9, producerEpoch: 0, sequence: 0 } }, { records: records('e', 1), options: plain }]);
  assert.deepEqual(again.map((r) => [r.baseOffset, r.duplicate]), [[5, true], [12, false]]);
  assert.deepEqual((await readValues(p)).slice(12), ['e-0'], 'the duplicate wrote nothing');
  void p.close();
});

test('a group whose write fails leaves no batch, no producer state and no offset behind; the next group takes the same offsets', async () => {
  const faulty = new FaultyFileSystem();
  const p = open(faulty);
  p.append(records('seed', 1), plain);
  const group = (): GroupAppend[] => [
    { records: records('x', 2), options: plain },
    { records: records('y', 1), options: plain, producer: { producerId: 4, producerEpoch: 0, sequence: 0 } },
  ];
  faulty.failNext({ kind: 'write', code: 'ENOSPC' });
  assert.throws(() => p.appendGroup(group()), (e: unknown) => e instanceof WebkaError && e.code === 'STORAGE_ERROR');
  assert.equal(p.log.nextOffset, 1);
  assert.deepEqual((await readValues(p)), ['seed-0'], 'nothing of the failed group is readable');
  assert.equal(p.producers.find(4, 0, 0), undefined, 'the failed idempotent batch is not remembered as written');

  // control: the same group, once the disk has room, is written, readable and remembered
  const results = p.appendGroup(group());
  assert.deepEqual(results.map((r) => [r.baseOffset, r.duplicate]), [[1, false], [3, false]]);
  assert.deepEqual((await readValues(p)), ['seed-0', 'x-0', 'x-1', 'y-0']);
  assert.equal(p.producers.find(4, 0, 0)?.baseOffset, 3);
  void p.close();
});

test('ProducePath gathers one turn\'s appends per partition; a large share goes at once unless appends to its partition wait', async () => {
  const faulty = new FaultyFileSystem();
  const p = open(faulty);
  const path = new ProducePath({ checkEpoch: () => undefined });
  const target = { id: 't', name: 't', partitions: [p], sticky: 0 };
  const settings = { maxRecordBytes: 1 << 20, compression: 'none' as const, logAppendTime: false };
  const input = (text: string): ProduceInput[] => [{ key: null, value: Buffer.from(text), headers: [] }];
  const big = 'B'.repeat(40 * 1024);

  // small shares wait for the end of the turn, then go out together in arrival order
  const small1 = path.produce(target, settings, input('s1'), { acks: 1 });
  const small2 = path.produce(target, settings, input('s2'), { acks: 'all' });
  assert.equal(p.log.nextOffset, 0, 'nothing is written before the turn ends');
  // a large share behind them in the same turn joins their group, keeping the order
  const bigBehind = path.produce(target, settings, input(big), { acks: 1 });
  assert.equal(p.log.nextOffset, 0);
  const answers = await Promise.all([small1, small2, bigBehind]);
  assert.deepEqual(answers.map((a) => a[0].offset), [0, 1, 2]);

  // alone, a large share is written before produce() yields
  const bigAlone = path.produce(target, settings, input(big), { acks: 1 });
  assert.equal(p.log.nextOffset, 4, 'written at once');
  assert.equal((await bigAlone)[0].offset, 3);
  assert.deepEqual((await readValues(p)).map((v) => (v.length > 10 ? `big:${v.length}` : v)), ['s1', 's2', `big:${big.length}`, `big:${big.length}`]);
  void p.close();
});
