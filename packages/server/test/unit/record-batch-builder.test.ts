import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordBatchBuilder, produceBody, crc32c as portableCrc, PARTITION_FRAME_SIZE } from '@webka/protocol';
import { encodeBatch, decodeRecords, validateBatch, type DecodedRecord, type RecordInput } from '../../src/storage/record-batch.js';
import { crc32c } from '../../src/storage/crc32c.js';

const T0 = 1_700_000_000_000;
const utf8 = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'utf8'));

interface R { key: string | null; value: string | null; ts: number; headers: Array<[string, string | null]> }

function viaBuilder(records: R[], partition: number, producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Uint8Array {
  const b = new RecordBatchBuilder(256);
  for (const r of records) b.append(r.key, r.value, r.ts, r.headers.length === 0 ? undefined : r.headers);
  return b.finish(partition, producer);
}

function viaStorage(records: R[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Buffer {
  const input: RecordInput[] = records.map((r) => ({
    key: utf8(r.key),
    value: utf8(r.value),
    timestamp: r.ts,
    ...(r.headers.length === 0 ? {} : { headers: r.headers.map(([key, v]) => ({ key, value: utf8(v) })) }),
  }));
  return encodeBatch(input, 0, producer ?? {});
}

test('the SDK builder writes byte for byte the batch the broker encoder writes for the same records', () => {
  const records: R[] = [
    { key: 'k', value: 'v', ts: T0, headers: [['h', 'x']] },
    { key: null, value: 'é ünïcödé ✓ 😀', ts: T0 + 5, headers: [] },
    { key: 'a'.repeat(70), value: 'x'.repeat(300), ts: T0 - 2, headers: [['n', null]] },
    { key: 'tomb', value: null, ts: T0 + 2 ** 33, headers: [] },
  ];
  const frame = viaBuilder(records, 7, { producerId: 12, producerEpoch: 3, baseSequence: 40 });
  assert.equal(Buffer.from(frame).readInt32BE(0), 7);
  assert.deepEqual(Buffer.from(frame.subarray(PARTITION_FRAME_SIZE)), viaStorage(records, { producerId: 12, producerEpoch: 3, baseSequence: 40 }));
});

test('any records give the same bytes from the builder as from the broker encoder, and decode back', () => {
  const str = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constant(null));
  const rec = fc.record({
    key: str,
    value: str,
    ts: fc.integer({ min: 0, max: 8_640_000_000_000_000 }),
    headers: fc.array(fc.tuple(fc.string({ maxLength: 10 }), str), { maxLength: 3 }),
  });
  fc.assert(
    fc.property(fc.array(rec, { minLength: 1, maxLength: 20 }), (records) => {
      const batch = Buffer.from(viaBuilder(records, 0).subarray(PARTITION_FRAME_SIZE));
      assert.deepEqual(batch, viaStorage(records));
      assert.equal(validateBatch(batch, 0, batch.length), null);
      const out: DecodedRecord[] = [];
      decodeRecords(batch, 0, out);
      assert.deepEqual(out.map((r) => r.value), records.map((r) => utf8(r.value)));
    }),
    { numRuns: 200 },
  );
});

test('a builder starts afresh after finish, and an empty batch is refused', () => {
  const b = new RecordBatchBuilder();
  assert.throws(() => b.finish(0), RangeError);
  b.append('k', 'v', T0);
  const first = b.finish(1);
  assert.equal(b.count, 0);
  b.append('k', 'w', T0);
  const second = b.finish(2);
  assert.equal(Buffer.from(first).readInt32BE(0), 1);
  assert.equal(Buffer.from(second).readInt32BE(0), 2);
  const body = Buffer.from(produceBody([first, second]));
  assert.equal(body.length, first.length + second.length);
});

test('the portable CRC-32C of @webka/protocol agrees with the broker\'s on every length', () => {
  const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131) & 0xff));
  for (const n of [0, 1, 7, 8, 9, 255, 256, 257, 3000]) assert.equal(portableCrc(data, 0, n), crc32c(data, 0, n), `length ${n}`);
  assert.equal(portableCrc(new TextEncoder().encode('123456789')), 0xe3069283);
});
