/**
 * The fetch-session cache's bounds: sessions belong to their owner, a full cache makes room only
 * by evicting a session idle long enough (least recently used first), else opens none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchSessionCache, nextEpoch } from '../../src/kafka/fetch-sessions.js';

test('another owner cannot use or close a session', () => {
  const cache = new FetchSessionCache(10, 1000);
  const s = cache.open('alice', [], 0)!;
  assert.equal(cache.get(s.id, 'bob', 1), undefined);
  cache.remove(s.id, 'bob');
  assert.equal(cache.get(s.id, 'alice', 2), s);
  cache.remove(s.id, 'alice');
  assert.equal(cache.get(s.id, 'alice', 3), undefined);
});

test('a full cache evicts the least recently used session once it is idle long enough, else opens none', () => {
  const cache = new FetchSessionCache(2, 1000);
  const a = cache.open('o', [], 0)!;
  const b = cache.open('o', [], 10)!;
  assert.equal(cache.open('o', [], 500), null, 'no session idle for 1000 ms yet');
  cache.get(a.id, 'o', 600); // a used again: b is now the least recently used
  const c = cache.open('o', [], 1200)!;
  assert.notEqual(c, null);
  assert.equal(cache.size, 2);
  assert.equal(cache.get(b.id, 'o', 1201), undefined, 'b was evicted');
  assert.equal(cache.get(a.id, 'o', 1202), a);
});

test('epochs wrap from the int32 maximum to 1', () => {
  assert.equal(nextEpoch(1), 2);
  assert.equal(nextEpoch(0x7fffffff), 1);
});
