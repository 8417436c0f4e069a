/**
 * Batches compressed by Kafka clients: each codec's record region decompresses to the records
 * (snappy both raw, as librdkafka writes it, and in xerial's framing, as Kafka's Java clients
 * do), and the Kafka produce check refuses what cannot be read: data its codec cannot decompress
 * (CORRUPT_MESSAGE), codec ids Kafka does not define (UNSUPPORTED_COMPRESSION_TYPE), and
 * batches that would decompress to more than MAX_DECOMPRESSED_BYTES (MESSAGE_TOO_LARGE), found
 * before the memory is taken. zstd batches from a real compressor are exercised with kcat
 * (test/kafka/kcat.test.ts): no zstd compressor is installed here, so zstd frames are built by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { encodeBatch, decodeRecords, BATCH_HEADER_SIZE, type DecodedRecord } from '../../src/storage/record-batch.js';
import { crc32c } from '../../src/storage/crc32c.js';
import { checkedBatches } from '../../src/kafka/apis/produce.js';
import { MAX_DECOMPRESSED_BYTES, decompress } from '../../src/storage/codecs.js';
import { KafkaError, KafkaErrors } from '../../src/kafka/error-codes.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Buffer): Buffer };
const lz4 = require('lz4-napi') as { compressFrameSync(b: Buffer): Buffer };

const records = Array.from({ length: 20 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}-${'x'.repeat(i * 10)}`), headers: [{ key: 'h', value: Buffer.from(String(i)) }], timestamp: 1_700_000_000_000 + i }));

/** The batch with its record region replaced by `region` under codec `codec`, CRC recomputed. */
function compressed(codec: number, compress: (plain: Buffer) => Buffer): Buffer {
  const plain = encodeBatch(records, 0);
  const region = compress(plain.subarray(BATCH_HEADER_SIZE));
  const out = Buffer.concat([plain.subarray(0, BATCH_HEADER_SIZE), region]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE((out.readInt16BE(21) & ~7) | codec, 21);
  out.writeUInt32BE(crc32c(out, 21, out.length), 17);
  return out;
}

function xerial(plain: Buffer): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const half = Math.floor(plain.length / 2);
  const blocks = [plain.subarray(0, half), plain.subarray(half)].map((b) => {
    const c = snappy.compress(b);
    const len = Buffer.alloc(4);
    len.writeInt32BE(c.length);
    return Buffer.concat([len, c]);
  });
  return Buffer.concat([header, ...blocks]);
}

const cases: Array<[string, number, (b: Buffer) => Buffer]> = [
  ['gzip', 1, (b) => gzipSync(b)],
  ['snappy (raw, librdkafka)', 2, (b) => snappy.compress(b)],
  ['snappy (xerial framing, Java clients)', 2, xerial],
  ['lz4 (frame)', 3, (b) => lz4.compressFrameSync(b)],
];

for (const [name, codec, compress] of cases) {
  test(`${name}: the records decode as they were encoded, and the produce check accepts the batch`, () => {
    const batch = compressed(codec, compress);
    const out: DecodedRecord[] = [];
    decodeRecords(batch, 0, out);
    assert.deepEqual(out.map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString(), r.headers.map((h) => `${h.key}=${h.value}`)]), records.map((r, i) => [i, r.timestamp, r.key.toString(), r.value.toString(), [`h=${i}`]]));
    const skipped: DecodedRecord[] = [];
    decodeRecords(batch, 0, skipped, 15);
    assert.deepEqual(skipped.map((r) => r.offset), [15, 16, 17, 18, 19]);
    assert.equal(checkedBatches(batch)[0].count, 20);
  });
}

function refusal(batch: Buffer): number {
  try {
    checkedBatches(batch);
  } catch (err) {
    assert.ok(err instanceof KafkaError, String(err));
    return err.code;
  }
  return 0;
}

test('data its codec cannot decompress is CORRUPT_MESSAGE; codecs 5-7 are UNSUPPORTED_COMPRESSION_TYPE', () => {
  const garbage = (): Buffer => Buffer.from('this is not compressed data at all, whatever its codec says'.repeat(3));
  for (const codec of [1, 2, 3, 4]) assert.equal(refusal(compressed(codec, garbage)), KafkaErrors.CORRUPT_MESSAGE, `codec ${codec}`);
  // well-formed compression of records that lie about their lengths
  const lying = compressed(2, (b) => snappy.compress(Buffer.concat([b, Buffer.from([1, 2, 3])])));
  assert.equal(refusal(lying), KafkaErrors.CORRUPT_MESSAGE);
  for (const codec of [5, 6, 7]) assert.equal(refusal(compressed(codec, (b) => b)), KafkaErrors.UNSUPPORTED_COMPRESSION_TYPE, `codec ${codec}`);
});

/** A zstd frame of `blocks` RLE blocks of 128 KiB each ('x'), with a 128 KiB window and no content size, or one declaring `contentSize`. */
function zstdFrame(blocks: number, contentSize?: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];
  if (contentSize === undefined) parts.push(Buffer.from([0x00, 7 << 3])); // no content size; window 2^(10+7)
  else {
    const fcs = Buffer.alloc(8);
    fcs.writeUInt32LE(contentSize % 2 ** 32, 0);
    fcs.writeUInt32LE(Math.floor(contentSize / 2 ** 32), 4);
    parts.push(Buffer.from([0xe0]), fcs); // 8-byte content size, single segment
  }
  for (let i = 0; i < blocks; i++) {
    const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0); // RLE
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x78]));
  }
  return Buffer.concat(parts);
}

test('a zstd frame built by hand decompresses (the control for the bombs below)', () => {
  const out = decompress(4, zstdFrame(8));
  assert.equal(out.length, 8 * 128 * 1024);
  assert.ok(out.every((b) => b === 0x78));
  const code = refusal(compressed(4, () => zstdFrame(8)));
  assert.ok(code !== 0 && code !== KafkaErrors.MESSAGE_TOO_LARGE, `within the bound: refused (${code}) only because x... are no records`);
});

test('batches that would decompress past the bound are MESSAGE_TOO_LARGE, found before the memory is taken', () => {
  const over = MAX_DECOMPRESSED_BYTES + 1024 * 1024;
  const bombs: Array<[string, number, () => Buffer]> = [
    ['gzip of zeros', 1, () => gzipSync(Buffer.alloc(over))],
    ['lz4 of zeros', 3, () => lz4.compressFrameSync(Buffer.alloc(over))],
    // a preamble that claims more than the bound: refused before snappy allocates it
    ['snappy claiming 1 GiB', 2, () => Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00])],
    ['zstd declaring 1 TiB', 4, () => zstdFrame(1, 2 ** 40)],
    ['zstd of RLE blocks past the bound', 4, () => zstdFrame(Math.ceil(over / (128 * 1024)))],
  ];
  for (const [name, codec, make] of bombs) {
    const batch = compressed(codec, make);
    assert.ok(batch.length < over / 100, `${name}: the batch is small (${batch.length} bytes)`);
    assert.equal(refusal(batch), KafkaErrors.MESSAGE_TOO_LARGE, name);
  }
});
