import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '../../src/storage/crc32c.js';

// Bit-at-a-time CRC-32C straight from the definition: slow, but shares nothing with the tables.
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('the check value of "123456789" is 0xE3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
});

test('matches the iSCSI vectors of RFC 3720 B.4', () => {
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(ascending), 0x46dd794e);
  assert.equal(crc32c(descending), 0x113fdb5c);
});

test('an empty range gives 0, or the seed unchanged', () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(Buffer.from('abc'), 1, 1, 0x12345678), 0x12345678);
});

test('returns an unsigned 32-bit integer', () => {
  const crc = crc32c(Buffer.from('123456789', 'ascii')); // 0xE3069283 has the top bit set
  assert.ok(crc > 0x7fffffff && crc <= 0xffffffff && Number.isInteger(crc));
});

test('checksums only the bytes between start and end', () => {
  const buf = Buffer.from('xx123456789yy', 'ascii');
  assert.equal(crc32c(buf, 2, 11), 0xe3069283);
  assert.equal(crc32c(buf.subarray(2, 11)), 0xe3069283);
});

test('agrees with the bit-at-a-time definition for every length and offset', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(7), (data, skip) => {
      const padded = new Uint8Array(skip + data.length);
      padded.set(data, skip);
      assert.equal(crc32c(padded, skip), referenceCrc32c(data));
    }),
    { numRuns: 500 },
  );
});

test('chains: the CRC of a then b continues from the CRC of a', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
      const whole = new Uint8Array(a.length + b.length);
      whole.set(a);
      whole.set(b, a.length);
      assert.equal(crc32c(b, 0, b.length, crc32c(a)), crc32c(whole));
    }),
  );
});

test('the native and the portable CRC-32C agree on every length and offset, chained or not', async () => {
  const { crc32c: either, crc32cPortable } = await import('../../src/storage/crc32c.js');
  const buf = Buffer.alloc(4096);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  for (const [start, end] of [[0, 4096], [3, 4093], [1, 300], [0, 255], [100, 356], [7, 7]]) {
    assert.equal(either(buf, start, end), crc32cPortable(buf, start, end), `range ${start}..${end}`);
    const mid = (start + end) >> 1;
    assert.equal(either(buf, mid, end, either(buf, start, mid)), crc32cPortable(buf, start, end), `chained ${start}..${end}`);
  }
});
