/**
 * Subscription patterns run on every join, rebalance and topic change, so a pattern must not be
 * able to hold the event loop: they are matched in linear time (RE2 semantics). A pattern that
 * backtracks exponentially in JavaScript's engine (`(.*.*)*x`) joins at once here and /health
 * keeps answering; RE2-only syntax is enforced (a back-reference or look-ahead is refused with
 * 400); and the length limit holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../support/start-broker.js';
import { rest, assertError } from '../support/rest.js';
import { createTopic, join } from '../groups/group-client.js';

test('subscription patterns are matched in linear time, in RE2 syntax, within a length limit', async () => {
  const broker = await startBroker();
  const api = rest(broker.url);
  try {
    // syntax only JavaScript's backtracking engine knows is refused, with what to fix
    for (const pattern of ['(a)\\1', '(?=orders).*', '(?<!x)y']) {
      const msg = assertError(await api.post('/v1/clusters/default/groups/re2/members', { pattern }), 400, 'INVALID_REQUEST');
      assert.match(msg, /RE2/);
    }
    assertError(await api.post('/v1/clusters/default/groups/re2/members', { pattern: 'a'.repeat(1001) }), 400, 'INVALID_REQUEST');

    // a 40-character name: JavaScript's engine would need about 2^40 steps for this pattern
    await createTopic(api, 'a'.repeat(40), 1);
    await createTopic(api, 'orders.eu', 2);
    const evil = await join(api, 'evil', { pattern: '(.*.*)*x' });
    assert.deepEqual(evil.assignment, []);
    const health = await api.get('/health');
    assert.equal(health.status, 200);
    // a topic created later is matched again, still without blocking
    await createTopic(api, `${'a'.repeat(39)}x`, 1);
    await evil.heartbeat();
    assert.deepEqual(evil.assignment.map((tp) => tp.topic), [`${'a'.repeat(39)}x`]);

    // the same engine still matches whole names, as Kafka does
    const orders = await join(api, 'orders', { pattern: 'orders\\..*' });
    assert.equal(orders.assignment.length, 2);
    const partial = await join(api, 'partial', { pattern: 'orders' });
    assert.deepEqual(partial.assignment, [], 'a pattern matches the whole name, not a part of it');
  } finally {
    await broker.close();
  }
});
