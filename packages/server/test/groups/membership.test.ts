/**
 * Consumer groups with real members over HTTP against a real broker: ownership, session expiry,
 * generation fencing, pattern subscriptions and a random membership run.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, type Rest } from '../support/rest.js';
import { join, produce, createTopic, owners, type Member } from './group-client.js';

describe('consumer group membership', () => {
  let broker: TestBroker;
  let api: Rest;
  before(async () => {
    broker = await startBroker();
    api = rest(broker.url);
  });
  after(async () => broker.close());

  test('once stable, every partition has exactly one owner and each member sees its own share', async () => {
    await createTopic(api, 'stable-t', 6);
    const members: Member[] = [];
    for (let i = 0; i < 3; i++) members.push(await join(api, 'stable', { topics: ['stable-t'], clientId: `c${i}` }));
    for (const m of members) assert.equal((await m.heartbeat()).status, 200);
    const d = await api.get('/v1/clusters/default/groups/stable');
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.state, 'Stable');
    assert.equal(d.body.assignmentStrategy, 'sticky');
    const own = owners(d.body);
    assert.equal(own.size, 6);
    for (const m of members) {
      assert.equal(m.generation, d.body.generation);
      assert.equal(m.assignment.length, 2, 'the sticky assignor balances 6 partitions over 3 members');
      for (const tp of m.assignment) assert.equal(own.get(`${tp.topic}/${tp.partition}`), m.id);
    }
    const c0 = d.body.members.find((m: { clientId: string }) => m.clientId === 'c0');
    assert.equal(c0.clientHost, '127.0.0.1');
    assert.equal(c0.subscription.topics[0], 'stable-t');
  });

  test('a join answers at once with its assignment; the others learn the new generation on their next call', async () => {
    await createTopic(api, 'learn-t', 4);
    const a = await join(api, 'learn', { topics: ['learn-t'] });
    assert.equal(a.assignment.length, 4);
    const b = await join(api, 'learn', { topics: ['learn-t'] });
    assert.equal(b.generation, a.generation + 1);
    assert.equal(b.assignment.length, 2);
    const d = await api.get('/v1/clusters/default/groups/learn');
    assert.equal(d.body.state, 'CompletingRebalance', 'a has not yet heard of the new generation');
    await a.heartbeat();
    assert.equal(a.generation, b.generation);
    assert.equal(a.assignment.length, 2);
    assert.equal((await api.get('/v1/clusters/default/groups/learn')).body.state, 'Stable');
  });

  test('a silent member\'s partitions move to a member waiting in a long poll', async () => {
    await createTopic(api, 'expire-t', 2);
    // session timeouts leave room for a loaded machine: only b's silence may end a session here
    const a = await join(api, 'expire', { topics: ['expire-t'], sessionTimeoutMs: 2_000, autoOffsetReset: 'earliest' });
    const b = await join(api, 'expire', { topics: ['expire-t'], sessionTimeoutMs: 2_000, autoOffsetReset: 'earliest' });
    await a.heartbeat();
    const bPartition = b.assignment[0].partition;
    await produce(api, 'expire-t', [{ value: 'for b', partition: bPartition }]);
    // negative control: while b keeps calling, its partition stays with it
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await b.heartbeat();
      await a.heartbeat();
    }
    assert.deepEqual(a.assignment.map((tp) => tp.partition), [1 - bPartition]);
    // b goes silent; a long poll (10 s) ends as soon as b's partition and its record reach a
    const polled = await a.poll({ maxWaitMs: 10_000 });
    assert.equal(polled.status, 200, polled.text);
    assert.deepEqual(polled.body.records.map((r: { value: string; partition: number }) => [r.partition, r.value]), [[bPartition, 'for b']]);
    assert.equal(a.assignment.length, 2);
    assertError(await b.heartbeat(), 404, 'MEMBER_NOT_FOUND');
  });

  test('a member of an old generation cannot fetch with it nor commit a partition that moved', async () => {
    await createTopic(api, 'fence-t', 4);
    const a = await join(api, 'fence', { topics: ['fence-t'], autoOffsetReset: 'earliest', autoCommit: false });
    await produce(api, 'fence-t', [0, 1, 2, 3].map((p) => ({ value: p, partition: p })));
    const first = await a.poll({ maxWaitMs: 1000 });
    assert.equal(first.body.records.length, 4);
    const oldGeneration = a.generation;
    const b = await join(api, 'fence', { topics: ['fence-t'], autoOffsetReset: 'earliest', autoCommit: false });
    const moved = b.assignment[0];
    // a still believes in the old generation
    const stalePoll = await a.poll({ generation: oldGeneration });
    assertError(stalePoll, 409, 'STALE_GENERATION');
    assert.equal(stalePoll.body.error.generation, b.generation);
    const staleCommit = await a.commit({ generation: oldGeneration, offsets: [{ topic: 'fence-t', partition: moved.partition, offset: 1 }] });
    assert.match(assertError(staleCommit, 409, 'STALE_GENERATION'), /has moved/);
    // the partitions a kept without a break can still be committed from the old generation
    const kept = [0, 1, 2, 3].filter((p) => p !== moved.partition && !b.assignment.some((tp) => tp.partition === p));
    assert.equal(kept.length, 2);
    const keptCommit = await a.commit({ generation: oldGeneration, offsets: kept.map((p) => ({ topic: 'fence-t', partition: p, offset: 1 })) });
    assert.equal(keptCommit.status, 200, keptCommit.text);
    // the new owner reads the moved partition from the last committed offset: nothing was committed
    const bRead = await b.poll({ maxWaitMs: 1000 });
    assert.deepEqual(
      bRead.body.records.map((r: { partition: number; offset: number }) => [r.partition, r.offset]).sort(),
      b.assignment.map((tp) => [tp.partition, 0]).sort(),
    );
    // a learns the new generation and no longer reads what moved
    const again = await a.poll();
    assert.equal(again.status, 200);
    assert.equal(a.generation, b.generation);
    assert.ok(!a.assignment.some((tp) => tp.partition === moved.partition));
    assertError(await a.commit({ offsets: [{ topic: 'fence-t', partition: moved.partition, offset: 1 }] }), 409, 'NOT_ASSIGNED');
  });

  test('a pattern subscription picks up a topic created later, within a waiting first poll', async () => {
    const m = await join(api, 'pattern', { pattern: 'orders\\..*', autoOffsetReset: 'earliest' });
    assert.deepEqual(m.assignment, []);
    const poll = m.poll({ maxWaitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await createTopic(api, 'orders.eu', 2);
    await createTopic(api, 'ordersXeu', 1); // does not match: the dot is escaped
    await produce(api, 'orders.eu', [{ key: 'k', value: { id: 1 } }]);
    const r = await poll;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.records.length, 1);
    assert.equal(r.body.records[0].topic, 'orders.eu');
    assert.deepEqual(r.body.records[0].value, { id: 1 });
    assert.deepEqual(m.assignment.map((tp) => tp.topic), ['orders.eu', 'orders.eu']);
    // growing the topic rebalances too
    assert.equal((await api.patch('/v1/clusters/default/topics/orders.eu', { partitions: 3 })).status, 200);
    await m.heartbeat();
    assert.equal(m.assignment.length, 3);
    // and so does a changed subscription
    const changed = await api.call('PUT', `/v1/clusters/default/groups/pattern/members/${m.id}/subscription`, { topics: ['ordersXeu'] });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.body.assignment, [{ topic: 'ordersXeu', partition: 0 }]);
  });

  test('a poll shares maxRecords fairly among the member\'s partitions', async () => {
    await createTopic(api, 'fair-t', 3);
    await produce(api, 'fair-t', Array.from({ length: 300 }, (_, i) => ({ value: i, partition: 0 })));
    await produce(api, 'fair-t', [1, 2].flatMap((p) => Array.from({ length: 5 }, (_, i) => ({ value: i, partition: p }))));
    const m = await join(api, 'fair', { topics: ['fair-t'], autoOffsetReset: 'earliest' });
    const r = await m.poll({ maxRecords: 30 });
    const per = [0, 1, 2].map((p) => r.body.records.filter((x: { partition: number }) => x.partition === p).length);
    assert.deepEqual(per, [20, 5, 5], 'the busy partition does not crowd out the others; their unused share goes to it');
    // offsets run on per partition from poll to poll (records decoded beyond a share are not lost)
    const next = await m.poll({ maxRecords: 100 });
    assert.deepEqual(next.body.records.map((x: { offset: number }) => x.offset), Array.from({ length: 100 }, (_, i) => 20 + i));
  });

  test('refuses bad joins with clear errors', async () => {
    assertError(await api.post('/v1/clusters/default/groups/bad/members', { topics: ['a'], pattern: 'b' }), 400, 'INVALID_REQUEST');
    assertError(await api.post('/v1/clusters/default/groups/bad/members', { pattern: '(' }), 400, 'INVALID_REQUEST');
    assertError(await api.post('/v1/clusters/nope/groups/bad/members', { topics: ['a'] }), 404, 'CLUSTER_NOT_FOUND');
    await join(api, 'proto', { topics: ['a'], assignmentStrategy: 'range' });
    assertError(await api.post('/v1/clusters/default/groups/proto/members', { topics: ['a'], assignmentStrategy: 'roundrobin' }), 409, 'INCONSISTENT_GROUP_PROTOCOL');
    assertError(await api.get('/v1/clusters/default/groups/proto/members/nobody/records'), 404, 'MEMBER_NOT_FOUND');
  });

  test('random joins, leaves and expiries over HTTP never leave a partition with two owners', async () => {
    await createTopic(api, 'random-t', 5);
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const live: Member[] = [];
    let events = 0;
    while (events < 30) {
      const r = rand();
      if (r < 0.45 || live.length === 0) {
        // long enough that a loaded machine does not end sessions the test means to keep
        live.push(await join(api, 'random', { topics: ['random-t'], sessionTimeoutMs: 1_200 + Math.floor(rand() * 400) }));
        events++;
      } else if (r < 0.75) {
        const [m] = live.splice(Math.floor(rand() * live.length), 1);
        assert.equal((await m.leave()).status, 204);
        events++;
      } else {
        // a quiet spell: some members keep their lease, the others' sessions run out
        const keep = live.filter(() => rand() < 0.6);
        for (let i = 0; i < 80; i++) {
          await new Promise((res) => setTimeout(res, 100));
          for (const m of keep) await m.heartbeat();
          if ((await api.get('/v1/clusters/default/groups/random')).body.members.length === keep.length) break;
        }
        const gone = live.filter((m) => !keep.includes(m));
        for (const m of gone) assertError(await m.heartbeat(), 404, 'MEMBER_NOT_FOUND');
        live.splice(0, live.length, ...keep);
        events += gone.length;
      }
      for (const m of live) await m.heartbeat();
      const d = await api.get('/v1/clusters/default/groups/random');
      const own = owners(d.body);
      assert.equal(d.body.members.length, live.length);
      if (live.length > 0) {
        assert.equal(d.body.state, 'Stable');
        assert.equal(own.size, 5, 'every partition is owned');
        for (const m of live) assert.equal(m.generation, d.body.generation);
      }
    }
  });
});
