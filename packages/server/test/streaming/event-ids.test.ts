import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeGroupPosition,
  decodePartitionPosition,
  decodeTopicPosition,
  encodeGroupPosition,
  encodePartitionPosition,
  encodeTopicPosition,
} from '@webka/protocol';

const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

test('partition, topic and group ids decode to what was encoded', () => {
  fc.assert(fc.property(offset, (o) => decodePartitionPosition(encodePartitionPosition(o)) === o));
  fc.assert(fc.property(fc.array(offset, { minLength: 1, maxLength: 50 }), (offsets) => {
    assert.deepEqual(decodeTopicPosition(encodeTopicPosition(offsets)), offsets);
  }));
  const entry = fc.record({ topic: fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/), partition: fc.integer({ min: 0, max: 100_000 }), offset });
  fc.assert(fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
    assert.deepEqual(decodeGroupPosition(encodeGroupPosition(entries)), entries.map((e) => ({ ...e })));
  }));
});

test('the documented examples', () => {
  assert.equal(encodeTopicPosition([42, 0, 100]), 't:16.0.2s');
  assert.equal(encodeGroupPosition([{ topic: 'orders', partition: 0, offset: 42 }, { topic: 'orders', partition: 1, offset: 0 }]), 'g:orders:0:16,orders:1:0');
});

test('malformed ids are refused, not misread', () => {
  for (const bad of ['', '-1', '01', '1.5', '1e3', '99999999999999999', 't:1', ' 42']) assert.equal(decodePartitionPosition(bad), null, bad);
  for (const bad of ['', 't:', '42', 't:1..2', 't:1.', 't:A', 't:zzzzzzzzzzzz', 'x:1', `t:${Array(2001).fill('0').join('.')}`]) {
    assert.equal(decodeTopicPosition(bad), null, bad.slice(0, 20));
  }
  for (const bad of ['t:1', 'g:orders', 'g:orders:0', 'g:or/ders:0:1', 'g:orders:0:1,', 'g:orders:0:1:2']) assert.equal(decodeGroupPosition(bad), null, bad);
  assert.deepEqual(decodeGroupPosition('g:'), []);
});
