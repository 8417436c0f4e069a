/**
 * Committed offsets over HTTP against a real broker: delivery semantics when a member dies,
 * auto-commit, standalone commits, the admin calls, and offsets surviving a restart.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, type Rest } from '../support/rest.js';
import { join, produce, createTopic } from './group-client.js';

const values = (a: { body: { records: Array<{ value: unknown }> } }): unknown[] => a.body.records.map((r) => r.value);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('committed offsets', () => {
  let broker: TestBroker;
  let api: Rest;
  before(async () => {
    broker = await startBroker();
    api = rest(broker.url);
  });
  after(async () => broker.close());

  test('at-least-once: what a dead member did not commit is delivered again to the next owner', async () => {
    await createTopic(api, 'alo', 1);
    await produce(api, 'alo', range(0, 10).map((v) => ({ value: v })));
    const a = await join(api, 'alo-g', { topics: ['alo'], autoCommit: false, autoOffsetReset: 'earliest', sessionTimeoutMs: 300 });
    assert.deepEqual(values(await a.poll({ maxRecords: 10 })), range(0, 10));
    const c = await a.commit({ offsets: [{ topic: 'alo', partition: 0, offset: 4, metadata: 'processed 0-3' }] });
    assert.equal(c.status, 200, c.text);
    // a dies without a word; b joins and waits for the partition
    const b = await join(api, 'alo-g', { topics: ['alo'], autoCommit: false, autoOffsetReset: 'earliest', sessionTimeoutMs: 5000 });
    assert.deepEqual(b.assignment, [], 'a still holds the only partition until its session ends');
    const r = await b.poll({ maxWaitMs: 10_000, maxRecords: 100 });
    assert.deepEqual(values(r), range(4, 10));
  });

  test('at-most-once: records are committed as they are delivered, so a dead member\'s are not delivered again', async () => {
    await createTopic(api, 'amo', 1);
    await produce(api, 'amo', range(0, 10).map((v) => ({ value: v })));
    const a = await join(api, 'amo-g', { topics: ['amo'], delivery: 'at-most-once', autoCommit: false, autoOffsetReset: 'earliest', sessionTimeoutMs: 300 });
    assert.deepEqual(values(await a.poll({ maxRecords: 4 })), range(0, 4));
    const b = await join(api, 'amo-g', { topics: ['amo'], autoOffsetReset: 'earliest', sessionTimeoutMs: 5000 });
    assert.deepEqual(values(await b.poll({ maxWaitMs: 10_000, maxRecords: 100 })), range(4, 10));
  });

  test('an empty commit commits everything delivered; auto-commit commits at the next poll', async () => {
    await createTopic(api, 'auto', 2);
    await produce(api, 'auto', range(0, 6).map((v) => ({ value: v, partition: v % 2 })));
    const m = await join(api, 'auto-g', { topics: ['auto'], autoCommit: false, autoOffsetReset: 'earliest' });
    assert.equal((await m.poll({ maxRecords: 100 })).body.records.length, 6);
    const c = await m.commit();
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.body.offsets.map((o: { partition: number; offset: number }) => [o.partition, o.offset]).sort(), [[0, 3], [1, 3]]);
    assert.equal((await m.leave()).status, 204);

    await createTopic(api, 'auto2', 1);
    await produce(api, 'auto2', range(0, 3).map((v) => ({ value: v })));
    const n = await join(api, 'auto2-g', { topics: ['auto2'], autoCommit: true, autoCommitIntervalMs: 0, autoOffsetReset: 'earliest' });
    assert.equal((await n.poll()).body.records.length, 3);
    let d = await api.get('/v1/clusters/default/groups/auto2-g');
    assert.equal(d.body.offsets[0].committed, null, 'not committed until the client asks for more');
    await n.poll();
    d = await api.get('/v1/clusters/default/groups/auto2-g');
    assert.equal(d.body.offsets[0].committed, 3);
  });

  test('standalone commits are refused while the group has members, and allowed without', async () => {
    await createTopic(api, 'solo', 2);
    await produce(api, 'solo', [{ value: 1, partition: 0 }, { value: 2, partition: 0 }]);
    const m = await join(api, 'solo-g', { topics: ['solo'] });
    const body = { offsets: [{ topic: 'solo', partition: 0, offset: 2, metadata: 'by hand' }] };
    assertError(await api.post('/v1/clusters/default/groups/solo-g/offsets', body), 409, 'GROUP_NOT_EMPTY');
    await m.leave();
    const ok = await api.post('/v1/clusters/default/groups/solo-g/offsets', body);
    assert.equal(ok.status, 200, ok.text);
    const read = await api.get('/v1/clusters/default/groups/solo-g/offsets');
    assert.deepEqual(read.body.offsets, [{ topic: 'solo', partition: 0, committed: 2, metadata: 'by hand', highWatermark: 2, lag: 0 }]);
    assertError(await api.post('/v1/clusters/default/groups/solo-g/offsets', { offsets: [{ topic: 'solo', partition: 0, offset: 3 }] }), 400, 'INVALID_OFFSET');
    assertError(await api.post('/v1/clusters/default/groups/solo-g/offsets', { offsets: [{ topic: 'nope', partition: 0, offset: 0 }] }), 404, 'TOPIC_NOT_FOUND');
    assert.deepEqual((await api.get('/v1/clusters/default/groups/never-used/offsets')).body.offsets, []);
  });

  test('admin: describe with lag, reset an empty group (dry run first), delete it', async () => {
    await createTopic(api, 'adm', 2);
    await produce(api, 'adm', range(0, 10).map((v) => ({ value: v, partition: v % 2, timestamp: 1_000 + v })));
    const m = await join(api, 'adm-g', { topics: ['adm'], autoCommit: false, autoOffsetReset: 'earliest' });
    await m.commit({ offsets: [{ topic: 'adm', partition: 0, offset: 2 }] });
    let d = await api.get('/v1/clusters/default/groups/adm-g');
    assert.deepEqual(d.body.offsets.map((o: { committed: number | null; lag: number | null; highWatermark: number }) => [o.committed, o.highWatermark, o.lag]), [[2, 5, 3], [null, 5, null]]);
    assert.equal(d.body.totalLag, 3);
    const listed = await api.get('/v1/clusters/default/groups');
    assert.ok(listed.body.groups.some((g: { group: string; members: number }) => g.group === 'adm-g' && g.members === 1));
    assertError(await api.post('/v1/clusters/default/groups/adm-g/offsets/reset', { to: 'earliest' }), 409, 'GROUP_NOT_EMPTY');
    assertError(await api.del('/v1/clusters/default/groups/adm-g'), 409, 'GROUP_NOT_EMPTY');
    await m.leave();

    const dry = await api.post('/v1/clusters/default/groups/adm-g/offsets/reset', { to: 'latest', topics: ['adm'], dryRun: true });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual(dry.body, { dryRun: true, offsets: [{ topic: 'adm', partition: 0, previous: 2, offset: 5 }, { topic: 'adm', partition: 1, previous: null, offset: 5 }] });
    assert.equal((await api.get('/v1/clusters/default/groups/adm-g')).body.offsets[0].committed, 2, 'a dry run changes nothing');
    // timestamps 1000..1009: partition 0 holds even values, partition 1 odd; the first at or after 1006
    const byTime = await api.post('/v1/clusters/default/groups/adm-g/offsets/reset', { to: 'timestamp', timestamp: 1_006, topics: ['adm'] });
    assert.deepEqual(byTime.body.offsets.map((o: { offset: number }) => o.offset), [3, 3]);
    const given = await api.post('/v1/clusters/default/groups/adm-g/offsets/reset', { to: 'offsets', offsets: [{ topic: 'adm', partition: 1, offset: 1 }] });
    assert.equal(given.status, 200, given.text);
    const early = await api.post('/v1/clusters/default/groups/adm-g/offsets/reset', { to: 'earliest' });
    assert.deepEqual(early.body.offsets.map((o: { offset: number }) => o.offset), [0, 0]);
    d = await api.get('/v1/clusters/default/groups/adm-g');
    assert.equal(d.body.state, 'Empty');
    assert.equal(d.body.totalLag, 10);

    assert.equal((await api.del('/v1/clusters/default/groups/adm-g')).status, 204);
    assertError(await api.get('/v1/clusters/default/groups/adm-g'), 404, 'GROUP_NOT_FOUND');
    assert.deepEqual((await api.get('/v1/clusters/default/groups/adm-g/offsets')).body.offsets, []);
  });

  test('autoOffsetReset none refuses to guess; latest starts at the end', async () => {
    await createTopic(api, 'reset-t', 1);
    await produce(api, 'reset-t', [{ value: 1 }]);
    const none = await join(api, 'none-g', { topics: ['reset-t'], autoOffsetReset: 'none' });
    assertError(await none.poll(), 409, 'NO_OFFSET_FOR_PARTITION');
    const latest = await join(api, 'latest-g', { topics: ['reset-t'], autoOffsetReset: 'latest' });
    assert.deepEqual(values(await latest.poll()), []);
    await produce(api, 'reset-t', [{ value: 2 }]);
    assert.deepEqual(values(await latest.poll({ maxWaitMs: 5000 })), [2]);
  });

  test('committed offsets survive a broker restart and are where a new member starts', async () => {
    await createTopic(api, 'durable', 3);
    await produce(api, 'durable', range(0, 9).map((v) => ({ value: v, partition: v % 3 })));
    const m = await join(api, 'durable-g', { topics: ['durable'], autoCommit: false, autoOffsetReset: 'earliest' });
    await m.commit({ offsets: [{ topic: 'durable', partition: 0, offset: 1, metadata: 'm0' }, { topic: 'durable', partition: 2, offset: 3 }] });
    await m.commit({ offsets: [{ topic: 'durable', partition: 0, offset: 2 }] });
    await m.leave();
    broker = await broker.restart();
    api = rest(broker.url);
    const read = await api.get('/v1/clusters/default/groups/durable-g/offsets');
    assert.deepEqual(
      read.body.offsets.map((o: { partition: number; committed: number; metadata: string | null }) => [o.partition, o.committed, o.metadata]),
      [[0, 2, null], [2, 3, null]],
    );
    assertError(await api.get(`/v1/clusters/default/groups/durable-g/members/${m.id}/records`), 404, 'MEMBER_NOT_FOUND');
    const n = await join(api, 'durable-g', { topics: ['durable'], autoOffsetReset: 'latest' });
    const r = await n.poll({ maxRecords: 100 });
    assert.deepEqual(r.body.records.map((x: { partition: number; value: number }) => [x.partition, x.value]).sort(), [[0, 6]], 'p0 from 2, p1 from latest, p2 from 3 (its end)');
  });
});
