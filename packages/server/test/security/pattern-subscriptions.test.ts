/**
 * A pattern can match topics its subscriber may not read: those are never assigned to it (a
 * list of topics is refused up front instead). The admin's pattern member is the control: the
 * same pattern assigns every topic when the caller may read them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSecureBroker } from './secure-broker.js';

test('a pattern subscription is assigned only the topics its member may read', async () => {
  const cast = await startSecureBroker();
  try {
    const admin = (method: string, path: string, body?: unknown) => cast.call(method, path, { key: cast.admin, body });
    assert.equal((await admin('POST', '/v1/clusters/default/topics', { name: 'secret', partitions: 2 })).status, 201);
    assert.equal((await admin('POST', '/v1/acls', { principal: 'alice', effect: 'allow', operations: ['read'], resource: { type: 'group', name: 'readers', cluster: 'default' } })).status, 201);

    const joined = await cast.call('POST', '/v1/clusters/default/groups/readers/members', { key: cast.alice, body: { pattern: '.*', autoOffsetReset: 'earliest' } });
    assert.equal(joined.status, 201, joined.text);
    const topics = new Set(joined.body.assignment.map((tp: { topic: string }) => tp.topic));
    assert.deepEqual([...topics], ['scores'], 'alice reads scores only: secret is never hers');

    // a topic created later that she may not read stays out as well
    assert.equal((await admin('POST', '/v1/clusters/default/topics', { name: 'later', partitions: 1 })).status, 201);
    const hb = await cast.call('POST', `/v1/clusters/default/groups/readers/members/${joined.body.memberId}/heartbeat`, { key: cast.alice });
    assert.equal(hb.status, 200, hb.text);
    assert.deepEqual([...new Set(hb.body.assignment.map((tp: { topic: string }) => tp.topic))], ['scores']);

    const control = await admin('POST', '/v1/clusters/default/groups/admins/members', { pattern: '.*' });
    assert.equal(control.status, 201, control.text);
    assert.deepEqual([...new Set(control.body.assignment.map((tp: { topic: string }) => tp.topic))].sort(), ['later', 'scores', 'secret']);
  } finally {
    await cast.broker.close();
  }
});
