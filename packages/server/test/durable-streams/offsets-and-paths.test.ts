/** Offsets sort as strings the way they sort as numbers; any path maps to a valid, private topic name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkName } from '@webka/protocol';
import { encodeOffset, parseOffset, parseForkOffset, nextCursor, ZERO_OFFSET } from '../../src/durable-streams/offsets.js';
import { topicNameFor, streamPathOfUrl } from '../../src/durable-streams/stream-path.js';
import { StreamError } from '../../src/durable-streams/stream-error.js';

test('encoded offsets compare as strings exactly as the offsets compare as numbers', () => {
  assert.equal(encodeOffset(0), ZERO_OFFSET);
  fc.assert(
    fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
      const [x, y] = [encodeOffset(a), encodeOffset(b)];
      assert.equal(x < y, a < b);
      assert.deepEqual(parseOffset(x), { kind: 'at', offset: a });
    }),
  );
});

test('offsets other than the handed-out form and the sentinels are refused', () => {
  for (const bad of ['', ' ', '0', '-2', 'NOW', '0_0', '0000000000000000_000000000000000', '../x', '0000000000000000_0000000000000001\n']) {
    assert.equal(parseOffset(bad), null, JSON.stringify(bad));
  }
  assert.deepEqual(parseOffset('-1'), { kind: 'start' });
  assert.deepEqual(parseOffset('now'), { kind: 'now' });
  // beyond what a number holds: after everything, never a wrong small number
  assert.deepEqual(parseOffset('9999999999999999_9999999999999999'), { kind: 'at', offset: Number.POSITIVE_INFINITY });
  assert.equal(parseForkOffset('9999999999999999_9999999999999999'), Number.POSITIVE_INFINITY);
  assert.equal(parseForkOffset('abc'), null);
});

test('a cursor echoed back is always answered with a greater one', () => {
  const now = Date.UTC(2026, 0, 1);
  const current = nextCursor(undefined, now);
  assert.match(current, /^\d+$/);
  assert.ok(Number(nextCursor(current, now)) > Number(current));
  assert.equal(nextCursor('1', now), current);
});

test('every path maps deterministically to a distinct topic name that follows Kafka\'s rule', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), (a, b) => {
      const name = topicNameFor(a);
      assert.equal(checkName('topic', name), null, name);
      assert.ok(!name.startsWith('__'));
      assert.equal(topicNameFor(a), name);
      if (a !== b) assert.notEqual(topicNameFor(b), name);
    }),
  );
  assert.match(topicNameFor('chat/room 1'), /^chat_room_1\.[0-9a-f]{24}$/);
  assert.notEqual(topicNameFor('a b'), topicNameFor('a_b'));
});

test('stream paths are decoded once; control characters and bad escapes are refused', () => {
  assert.equal(streamPathOfUrl('/v1/stream/a/b%20c?offset=-1'), 'a/b c');
  assert.equal(streamPathOfUrl('/v1/stream/..%2F..%2Fetc'), '../../etc'); // only a name: never a file path
  for (const bad of ['/v1/stream/', '/v1/stream/%ZZ', '/v1/stream/a%00b', '/v1/stream/a%0Ab']) {
    assert.throws(() => streamPathOfUrl(bad), (e: unknown) => e instanceof StreamError && e.status === 400, bad);
  }
});
