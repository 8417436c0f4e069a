import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../src/varint.js';

// Encodings from Kafka's ByteUtilsTest (testVarintSerde / testVarlongSerde), restricted for
// varlongs to |n| < 2^53, the range Webka's JS numbers carry exactly.
const VARINTS: Array<[number, number[]]> = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [63, [0x7e]],
  [-64, [0x7f]],
  [64, [0x80, 0x01]],
  [-65, [0x81, 0x01]],
  [8191, [0xfe, 0x7f]],
  [-8192, [0xff, 0x7f]],
  [8192, [0x80, 0x80, 0x01]],
  [-8193, [0x81, 0x80, 0x01]],
  [1048575, [0xfe, 0xff, 0x7f]],
  [-1048576, [0xff, 0xff, 0x7f]],
  [1048576, [0x80, 0x80, 0x80, 0x01]],
  [-1048577, [0x81, 0x80, 0x80, 0x01]],
  [134217727, [0xfe, 0xff, 0xff, 0x7f]],
  [-134217728, [0xff, 0xff, 0xff, 0x7f]],
  [134217728, [0x80, 0x80, 0x80, 0x80, 0x01]],
  [-134217729, [0x81, 0x80, 0x80, 0x80, 0x01]],
  [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
];

const VARLONGS: Array<[number, number[]]> = [
  ...VARINTS,
  [17179869183, [0xfe, 0xff, 0xff, 0xff, 0x7f]],
  [-17179869184, [0xff, 0xff, 0xff, 0xff, 0x7f]],
  [17179869184, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-17179869185, [0x81, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [2199023255551, [0xfe, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-2199023255552, [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [2199023255552, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-2199023255553, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [281474976710655, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [-281474976710656, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  [281474976710656, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [-281474976710657, [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
];

// Zigzag varlong by the definition, in BigInt: the independent oracle for random values.
function referenceVarlong(n: number): number[] {
  const x = BigInt(n);
  let z = BigInt.asUintN(64, (x << 1n) ^ (x >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

function encode(write: typeof writeVarint, value: number): number[] {
  const buf = Buffer.alloc(16);
  const end = write(buf, value, 0);
  return [...buf.subarray(0, end)];
}

test('writes varints as Kafka does', () => {
  for (const [value, bytes] of VARINTS) {
    assert.deepEqual(encode(writeVarint, value), bytes, `varint ${value}`);
    assert.equal(sizeOfVarint(value), bytes.length, `sizeOfVarint ${value}`);
  }
});

test('reads Kafka varints back and advances the cursor past them', () => {
  for (const [value, bytes] of VARINTS) {
    const cursor: Cursor = { pos: 1 };
    assert.equal(readVarint(Buffer.from([0xaa, ...bytes, 0xbb]), cursor), value, `varint ${value}`);
    assert.equal(cursor.pos, 1 + bytes.length);
  }
});

test('writes and reads varlongs as Kafka does', () => {
  for (const [value, bytes] of VARLONGS) {
    assert.deepEqual(encode(writeVarlong, value), bytes, `varlong ${value}`);
    assert.equal(sizeOfVarlong(value), bytes.length, `sizeOfVarlong ${value}`);
    const cursor: Cursor = { pos: 0 };
    assert.equal(readVarlong(Buffer.from(bytes), cursor), value, `varlong ${value}`);
    assert.equal(cursor.pos, bytes.length);
  }
});

test('varlongs are exact up to ±(2^53 - 1)', () => {
  for (const value of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 52, -(2 ** 52), 2 ** 32, -(2 ** 32) - 1]) {
    const bytes = encode(writeVarlong, value);
    assert.deepEqual(bytes, referenceVarlong(value), `varlong ${value}`);
    assert.equal(sizeOfVarlong(value), bytes.length);
    assert.equal(readVarlong(Buffer.from(bytes), { pos: 0 }), value);
  }
});

test('any safe integer round-trips through a varlong encoded by the definition', () => {
  fc.assert(
    fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer()), (value) => {
      const bytes = encode(writeVarlong, value);
      assert.deepEqual(bytes, referenceVarlong(value));
      assert.equal(sizeOfVarlong(value), bytes.length);
      assert.equal(readVarlong(Buffer.from(bytes), { pos: 0 }), value);
    }),
    { numRuns: 2000 },
  );
});

test('any int32 round-trips through a varint', () => {
  fc.assert(
    fc.property(fc.integer(), (value) => {
      const bytes = encode(writeVarint, value);
      assert.deepEqual(bytes, referenceVarlong(value));
      assert.equal(sizeOfVarint(value), bytes.length);
      assert.equal(readVarint(Buffer.from(bytes), { pos: 0 }), value);
    }),
    { numRuns: 2000 },
  );
});

test('rejects a varint longer than 5 bytes and a varlong longer than 10, as Kafka does', () => {
  assert.throws(() => readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), { pos: 0 }), RangeError);
  const eleven = Buffer.from([...new Array(10).fill(0xff), 0x01]);
  assert.throws(() => readVarlong(eleven, { pos: 0 }), RangeError);
});

test('rejects a varint cut off by the end of the buffer and leaves the cursor alone', () => {
  const cursor: Cursor = { pos: 0 };
  assert.throws(() => readVarint(Buffer.from([0x80, 0x80]), cursor), RangeError);
  assert.throws(() => readVarlong(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]), cursor), RangeError);
  assert.throws(() => readVarint(Buffer.alloc(0), cursor), RangeError);
  assert.equal(cursor.pos, 0);
});
