import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { crc32c } from '../../src/storage/crc32c.js';
import {
  BATCH_HEADER_SIZE,
  type DecodedRecord,
  type RecordInput,
  batchSizeAt,
  decodeRecords,
  encodeBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatch,
} from '../../src/storage/record-batch.js';

const T0 = 1_700_000_000_000; // 0x0000018b_cfe56800

// One record, key "k", value "v", header h=x, timestamp T0, no producer: every byte spelled out
// from the v2 layout of Kafka's DefaultRecordBatch / DefaultRecord.
const GOLDEN: Array<[string, number[]]> = [
  ['baseOffset', [0, 0, 0, 0, 0, 0, 0, 0]],
  ['batchLength = 74 - 12', [0, 0, 0, 62]],
  ['partitionLeaderEpoch -1', [0xff, 0xff, 0xff, 0xff]],
  ['magic', [2]],
  // CRC-32C of bytes 21..73, computed independently with a bit-at-a-time CRC (Python).
  ['crc', [0x5e, 0x93, 0x53, 0x8d]],
  ['attributes: none, CreateTime', [0, 0]],
  ['lastOffsetDelta', [0, 0, 0, 0]],
  ['baseTimestamp', [0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]],
  ['maxTimestamp', [0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]],
  ['producerId -1', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ['producerEpoch -1', [0xff, 0xff]],
  ['baseSequence -1', [0xff, 0xff, 0xff, 0xff]],
  ['recordsCount', [0, 0, 0, 1]],
  ['record length 12 (zigzag 24)', [0x18]],
  ['record attributes', [0]],
  ['timestampDelta 0', [0]],
  ['offsetDelta 0', [0]],
  ['keyLength 1, "k"', [0x02, 0x6b]],
  ['valueLength 1, "v"', [0x02, 0x76]],
  ['headerCount 1', [0x02]],
  ['header key length 1, "h"', [0x02, 0x68]],
  ['header value length 1, "x"', [0x02, 0x78]],
];

const goldenRecord = (): RecordInput => ({
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: [{ key: 'h', value: Buffer.from('x') }],
  timestamp: T0,
});

// A gzip batch captured from a real Kafka broker (kafkajs, src/protocol/recordBatch/fixtures/
// v0_recordbatch.json): one record, key "key-0", LogAppendTime, partitionLeaderEpoch 0.
const KAFKA_GZIP_BATCH = Buffer.from([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 113, 0, 0, 0, 0, 2, 228, 195, 36, 165, 0, 9, 0, 0, 0, 0, 0, 0, 1, 115, 237, 245,
  255, 167, 0, 0, 1, 115, 237, 245, 255, 201, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  31, 139, 8, 0, 0, 0, 0, 0, 0, 19, 11, 99, 96, 96, 224, 202, 78, 173, 212, 53, 112, 40, 75, 204, 41, 77, 213, 53,
  208, 53, 50, 48, 50, 208, 53, 176, 208, 53, 52, 9, 49, 52, 183, 50, 52, 182, 50, 176, 208, 51, 179, 48, 138, 98,
  0, 0, 181, 227, 241, 167, 44, 0, 0, 0,
]);

function decodeAll(batch: Buffer, pos = 0, fromOffset?: number): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  decodeRecords(batch, pos, out, fromOffset);
  return out;
}

function sampleRecords(n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: i % 5 === 0 ? null : Buffer.alloc(i * 7, i),
    headers: i % 2 === 0 ? undefined : [{ key: `h${i}`, value: Buffer.from('é') }, { key: 'ünïcode', value: null }],
    timestamp: T0 + (i % 4 === 0 ? -i : i * 1000),
  }));
}

test('encodes a one-record batch byte for byte as Kafka lays it out', () => {
  const expected = Buffer.from(GOLDEN.flatMap(([, bytes]) => bytes));
  assert.equal(expected.length, 74);
  assert.deepEqual(encodeBatch([goldenRecord()], 0), expected);
});

test('the golden CRC is CRC-32C of attributes through the end', () => {
  const batch = encodeBatch([goldenRecord()], 0);
  assert.equal(crc32c(batch, 21, batch.length), 0x5e93538d);
});

test('reads back every header field of the golden batch', () => {
  const header = readBatchHeader(encodeBatch([goldenRecord()], 0, { partitionLeaderEpoch: 3 }), 0);
  assert.deepEqual(header, {
    baseOffset: 0, batchLength: 62, partitionLeaderEpoch: 3, magic: 2, crc: 0x5e93538d, attributes: 0,
    lastOffsetDelta: 0, baseTimestamp: T0, maxTimestamp: T0, producerId: -1, producerEpoch: -1,
    baseSequence: -1, recordCount: 1, compression: 0, isTransactional: false, isControl: false, timestampType: 0,
  });
});

test('writes producer fields, flags and a large baseOffset into the header', () => {
  const batch = encodeBatch(sampleRecords(3), 2 ** 40 + 5, {
    producerId: 2 ** 45 + 1, producerEpoch: 7, baseSequence: 99, isTransactional: true, isControl: true,
    timestampType: 1,
  });
  const h = readBatchHeader(batch, 0);
  assert.equal(h.baseOffset, 2 ** 40 + 5);
  assert.equal(h.producerId, 2 ** 45 + 1);
  assert.equal(h.producerEpoch, 7);
  assert.equal(h.baseSequence, 99);
  assert.equal(h.attributes, 0x10 | 0x20 | 0x08);
  assert.deepEqual([h.isTransactional, h.isControl, h.timestampType], [true, true, 1]);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.recordCount, 3);
  assert.equal(validateBatch(batch, 0, batch.length), null);
});

test('baseTimestamp is the first record\'s, maxTimestamp the largest', () => {
  const batch = encodeBatch(
    [5, 9, 2].map((d) => ({ key: null, value: null, timestamp: T0 + d })),
    0,
  );
  const h = readBatchHeader(batch, 0);
  assert.equal(h.baseTimestamp, T0 + 5);
  assert.equal(h.maxTimestamp, T0 + 9);
  assert.deepEqual(decodeAll(batch).map((r) => r.timestamp), [T0 + 5, T0 + 9, T0 + 2]);
});

test('round-trips keys, values, nulls, headers and timestamps through decodeRecords', () => {
  const records = sampleRecords(40);
  const batch = encodeBatch(records, 1000);
  assert.equal(validateBatch(batch, 0, batch.length), null);
  const decoded = decodeAll(batch);
  assert.equal(decoded.length, 40);
  decoded.forEach((r, i) => {
    assert.equal(r.offset, 1000 + i);
    assert.equal(r.timestamp, records[i].timestamp);
    assert.deepEqual(r.key, records[i].key);
    assert.deepEqual(r.value, records[i].value);
    assert.deepEqual(r.headers, records[i].headers ?? []);
  });
});

test('decoded keys and values are views into the batch, not copies', () => {
  const batch = encodeBatch([goldenRecord()], 0);
  const [r] = decodeAll(batch);
  assert.equal(r.key!.buffer, batch.buffer);
  assert.equal(r.value!.buffer, batch.buffer);
});

test('decodeRecords skips records below fromOffset and appends to what out holds', () => {
  const batch = encodeBatch(sampleRecords(10), 100);
  const out: DecodedRecord[] = [];
  decodeRecords(batch, 0, out, 107);
  decodeRecords(batch, 0, out, 109);
  assert.deepEqual(out.map((r) => r.offset), [107, 108, 109, 109]);
  assert.deepEqual(decodeAll(batch, 0, 110), []);
});

test('decodes a batch at a position inside a larger buffer', () => {
  const a = encodeBatch(sampleRecords(2), 0);
  const b = encodeBatch([goldenRecord()], 2);
  const log = Buffer.concat([a, b]);
  assert.equal(batchSizeAt(log, 0), a.length);
  assert.equal(batchSizeAt(log, a.length), b.length);
  assert.equal(validateBatch(log, a.length, b.length), null);
  const [r] = decodeAll(log, a.length);
  assert.equal(r.offset, 2);
  assert.equal(r.key!.toString(), 'k');
});

test('batchSizeAt is -1 with fewer than 12 bytes left', () => {
  const batch = encodeBatch([goldenRecord()], 0);
  assert.equal(batchSizeAt(batch, 0), 74);
  assert.equal(batchSizeAt(batch.subarray(0, 12), 0), 74);
  assert.equal(batchSizeAt(batch.subarray(0, 11), 0), -1);
  assert.equal(batchSizeAt(batch, 63), -1);
});

test('validation catches any flipped bit after the CRC field', () => {
  const batch = encodeBatch(sampleRecords(5), 0);
  for (let i = 21; i < batch.length; i += 7) {
    const torn = Buffer.from(batch);
    torn[i] ^= 0x10;
    assert.match(validateBatch(torn, 0, torn.length) ?? 'passed', /CRC mismatch/, `byte ${i}`);
  }
});

test('validation rejects a wrong magic, a short or overlong batchLength, and a truncated batch', () => {
  const batch = encodeBatch([goldenRecord()], 0);
  const badMagic = Buffer.from(batch);
  badMagic[16] = 1;
  assert.match(validateBatch(badMagic, 0, 74)!, /magic 1/);
  const short = Buffer.from(batch);
  short.writeInt32BE(48, 8);
  assert.match(validateBatch(short, 0, 74)!, /below the minimum 49/);
  const long = Buffer.from(batch);
  long.writeInt32BE(63, 8);
  assert.match(validateBatch(long, 0, 74)!, /past the 74 bytes/);
  assert.match(validateBatch(batch, 0, 73)!, /past the 73 bytes/);
  assert.match(validateBatch(batch.subarray(0, 40), 0, 74)!, /truncated/);
});

test('setBaseOffset and setPartitionLeaderEpoch rewrite the header and keep the CRC valid', () => {
  const batch = encodeBatch(sampleRecords(4), 0);
  const crc = batch.readUInt32BE(17);
  setBaseOffset(batch, 2 ** 50 + 3);
  setPartitionLeaderEpoch(batch, 12);
  assert.equal(batch.readUInt32BE(17), crc);
  assert.equal(validateBatch(batch, 0, batch.length), null);
  const h = readBatchHeader(batch, 0);
  assert.equal(h.baseOffset, 2 ** 50 + 3);
  assert.equal(h.partitionLeaderEpoch, 12);
  assert.deepEqual(decodeAll(batch).map((r) => r.offset), [0, 1, 2, 3].map((d) => 2 ** 50 + 3 + d));
});

test('gzip batches keep the header readable and round-trip the records', () => {
  const records = sampleRecords(30);
  const batch = encodeBatch(records, 7, {}, 'gzip');
  const h = readBatchHeader(batch, 0);
  assert.equal(h.compression, 1);
  assert.equal(h.recordCount, 30);
  assert.equal(batch[BATCH_HEADER_SIZE], 0x1f); // gzip magic starts the records region
  assert.equal(validateBatch(batch, 0, batch.length), null);
  const plain = decodeAll(encodeBatch(records, 7));
  assert.deepEqual(decodeAll(batch), plain);
});

test('decodes a gzip batch written by a Kafka broker, with LogAppendTime', () => {
  assert.equal(validateBatch(KAFKA_GZIP_BATCH, 0, KAFKA_GZIP_BATCH.length), null);
  const h = readBatchHeader(KAFKA_GZIP_BATCH, 0);
  assert.deepEqual([h.compression, h.timestampType, h.baseTimestamp, h.maxTimestamp], [1, 1, 1597425188775, 1597425188809]);
  const [r, ...rest] = decodeAll(KAFKA_GZIP_BATCH);
  assert.equal(rest.length, 0);
  assert.equal(r.offset, 0);
  assert.equal(r.timestamp, 1597425188809); // LogAppendTime: every record takes maxTimestamp
  assert.equal(r.key!.toString(), 'key-0');
  assert.equal(r.value!.toString(), 'value-0-2020-08-14T17:13:08.682Z');
  assert.deepEqual(r.headers, []);
});

test('decoding records that their codec cannot decompress throws and names the codec; codecs 5-7 do not exist', () => {
  for (const [codec, name] of [[1, 'gzip'], [2, 'snappy'], [3, 'lz4'], [4, 'zstd']] as const) {
    const batch = encodeBatch([goldenRecord()], 0);
    batch.writeInt16BE(codec, 21);
    assert.throws(() => decodeAll(batch), new RegExp(`${name} \\(codec ${codec}\\) batch cannot be decompressed`));
  }
  const batch = encodeBatch([goldenRecord()], 0);
  batch.writeInt16BE(5, 21);
  assert.throws(() => decodeAll(batch), /unknown compression codec 5/);
});

test('decoding throws on a record whose length disagrees with its fields', () => {
  const batch = encodeBatch([goldenRecord()], 0);
  batch[61] = 0x16; // record length 11 instead of 12
  assert.throws(() => decodeAll(batch), /corrupt record 0/);
  const gz = encodeBatch([goldenRecord()], 0);
  const records = gzipSync(Buffer.from([0x18, 0, 0, 0, 0x02, 0x6b])); // record cut short
  const torn = Buffer.concat([gz.subarray(0, BATCH_HEADER_SIZE), records]);
  torn.writeInt32BE(torn.length - 12, 8);
  torn.writeInt16BE(1, 21);
  assert.throws(() => decodeAll(torn), /corrupt record 0/);
});

test('refuses to encode an empty batch', () => {
  assert.throws(() => encodeBatch([], 0), RangeError);
});

test('encodes values larger than a varint byte and timestamps far from the base', () => {
  const big = Buffer.alloc(70_000, 0xab);
  const records: RecordInput[] = [
    { key: Buffer.alloc(0), value: big, timestamp: T0 },
    { key: null, value: Buffer.alloc(0), timestamp: T0 + 2 ** 40 },
    { key: null, value: null, timestamp: T0 - 2 ** 35 },
  ];
  const batch = encodeBatch(records, 0);
  assert.equal(validateBatch(batch, 0, batch.length), null);
  const decoded = decodeAll(batch);
  assert.deepEqual(decoded[0].value, big);
  assert.deepEqual(decoded[0].key, Buffer.alloc(0));
  assert.deepEqual(decoded[1].value, Buffer.alloc(0));
  assert.deepEqual(decoded.map((r) => r.timestamp), records.map((r) => r.timestamp));
});
