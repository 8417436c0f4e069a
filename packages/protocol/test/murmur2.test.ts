import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur2, partitionForKey } from '../src/murmur2.js';

// Kafka's UtilsTest.testMurmur2: input bytes -> the signed int Java's Utils.murmur2 returns.
// Between them they end on every remainder length (0-3 trailing bytes).
const KAFKA_VECTORS: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

test('matches the hashes in Kafka UtilsTest.testMurmur2', () => {
  for (const [input, expected] of KAFKA_VECTORS) {
    assert.equal(murmur2(Buffer.from(input, 'utf8')), expected, input);
  }
});

test('returns a signed 32-bit integer, as Java does', () => {
  const h = murmur2(Buffer.from('21'));
  assert.ok(h < 0 && h === (h | 0));
});

test('hashes a plain Uint8Array the same as a Buffer', () => {
  const bytes = new TextEncoder().encode('foobar');
  assert.equal(murmur2(bytes), -790332482);
});

test('places a key on toPositive(hash) % numPartitions, as Kafka\'s default partitioner does', () => {
  // toPositive clears the sign bit; it is not Math.abs.
  for (const [input, hash] of KAFKA_VECTORS) {
    for (const n of [1, 3, 12, 50]) {
      assert.equal(partitionForKey(Buffer.from(input), n), (hash & 0x7fffffff) % n, `${input} / ${n}`);
    }
  }
  // -973932308 & 0x7fffffff = 1173551340, and 1173551340 % 12 = 0.
  assert.equal(partitionForKey(Buffer.from('21'), 12), 0);
});

test('places every key within range', () => {
  for (let i = 0; i < 1000; i++) {
    const p = partitionForKey(Buffer.from(`key-${i}`), 7);
    assert.ok(p >= 0 && p < 7 && Number.isInteger(p));
  }
});
