/**
 * The group consumer against a real broker, over SSE and long polls: every record once, commits
 * (automatic and manual) that a later member resumes from, and a broker restart in the middle
 * of consuming (the member is forgotten; the consumer joins again and carries on, repeating and
 * losing nothing); across rebalances, a commit() made after the group moved on is not an error,
 * and a slow member stops getting records of partitions it lost within about one heartbeat.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError, type Consumer, type TopicPartition } from '../src/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

let broker: TestBroker;
let webka: Webka;
before(async () => {
  broker = await startTestBroker();
  webka = new Webka({ url: broker.url });
});
after(async () => {
  await broker.close();
});

async function produce(topic: string, from: number, to: number): Promise<void> {
  const p = webka.producer({ lingerMs: 1 });
  await p.send(topic, Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: from + i })));
  await p.close();
}

const fast = { retryBackoffMs: 20, retryBackoffMaxMs: 200, maxWaitMs: 1_000, autoCommitIntervalMs: 100 };

/** Takes n records from a consumer (then leaves the loop without closing it). */
async function take(consumer: Consumer, n: number, each?: (v: number, count: number) => void): Promise<number[]> {
  const out: number[] = [];
  if (n === 0) return out;
  for await (const r of consumer) {
    out.push(r.value as number);
    each?.(r.value as number, out.length);
    if (out.length === n) break;
  }
  return out;
}

const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const partitions = (tps: TopicPartition[]): number[] => sorted(tps.map((tp) => tp.partition));

describe('group consumer', () => {
  for (const transport of ['sse', 'long-poll'] as const) {
    test(`consumes every record once and commits on close (${transport})`, async () => {
      const topic = `all-${transport}`;
      await webka.admin().createTopic({ name: topic, partitions: 3 });
      await produce(topic, 0, 300);
      const consumer = webka.consumer({ groupId: `g-${transport}`, topics: topic, transport, autoOffsetReset: 'earliest', ...fast });
      const got = await take(consumer, 300);
      assert.equal(consumer.assignment?.length, 3);
      await consumer.close();
      assert.deepEqual(sorted(got), range(0, 300));
      const g = await webka.admin().describeGroup(`g-${transport}`);
      assert.equal(g.totalLag, 0, JSON.stringify(g.offsets));
      assert.equal(g.members.length, 0, 'close left the group');
      // A new member of the group has nothing left to read; a new record reaches it.
      const next = webka.consumer({ groupId: `g-${transport}`, topics: topic, transport, ...fast });
      const later = take(next, 1);
      await new Promise((r) => setTimeout(r, 300));
      await produce(topic, 300, 301);
      assert.deepEqual(await later, [300]);
      await next.close();
    });

    test(`resumes after a broker restart without losing or repeating a record (${transport})`, async () => {
      const topic = `restart-${transport}`;
      await webka.admin().createTopic({ name: topic, partitions: 2 });
      await produce(topic, 0, 100);
      const consumer = webka.consumer({ groupId: `r-${transport}`, topics: topic, transport, autoOffsetReset: 'earliest', ...fast });
      let restarting: Promise<void> | undefined;
      const got = await take(consumer, 200, (_v, count) => {
        if (count === 100) {
          restarting = (async () => {
            await new Promise((r) => setTimeout(r, 150));
            await broker.restart();
            await produce(topic, 100, 200);
          })();
        }
      });
      await restarting;
      await consumer.close();
      assert.equal(got.length, 200);
      assert.deepEqual(sorted(got), range(0, 200), 'each record exactly once');
      assert.equal((await webka.admin().describeGroup(`r-${transport}`)).totalLag, 0);
    });

    test(`commit() after the group rebalanced commits what is still owned and calls the callbacks (${transport})`, async () => {
      const topic = `stale-${transport}`;
      await webka.admin().createTopic({ name: topic, partitions: 4 });
      await produce(topic, 0, 200);
      const assigned: number[][] = [];
      const revoked: number[][] = [];
      const a = webka.consumer({
        groupId: topic, topics: topic, transport, autoCommit: false, autoOffsetReset: 'earliest', ...fast,
        onPartitionsAssigned: (tps) => void assigned.push(partitions(tps)),
        onPartitionsRevoked: (tps) => void revoked.push(partitions(tps)),
      });
      await take(a, 200); // every partition read to its end, nothing committed
      assert.deepEqual(assigned, [[0, 1, 2, 3]]);
      // A second member joins: the group moves to a new generation and two partitions move to it.
      const b = webka.consumer({ groupId: topic, topics: topic, transport, autoCommit: false, autoOffsetReset: 'earliest', ...fast });
      await take(b, 1);
      const moved = partitions(b.assignment ?? []);
      assert.equal(moved.length, 2);
      // a has not heard of the rebalance: its commit names the old generation.
      await a.commit();
      const kept = range(0, 4).filter((p) => !moved.includes(p));
      assert.deepEqual(partitions(a.assignment ?? []), kept);
      assert.deepEqual(revoked, [moved]);
      const offsets = await webka.admin().groupOffsets(topic);
      assert.deepEqual(
        offsets.filter((o) => o.committed !== null).map((o) => [o.partition, o.lag]).sort((x, y) => x[0] - y[0]),
        kept.map((p) => [p, 0]),
        'a committed what it still owns (to the end), nothing of what moved',
      );
      // Given offsets of a partition that moved are dropped, not thrown.
      await a.commit([{ topic, partition: moved[0], offset: 10 }]);
      await Promise.all([a.close(), b.close()]);
    });

    test(`a slow member stops getting records of revoked partitions within about one heartbeat (${transport})`, async () => {
      const topic = `slow-${transport}`;
      const hb = 300;
      await webka.admin().createTopic({ name: topic, partitions: 4 });
      const p = webka.producer({ lingerMs: 5 });
      await p.send(topic, Array.from({ length: 6_000 }, (_, i) => ({ partition: i % 4, value: i, headers: { pad: 'x'.repeat(200) } })));
      await p.close();
      // No auto commit: a refused commit would tell the member of the rebalance too; here only the heartbeat may.
      const opts = { groupId: topic, topics: topic, transport, autoOffsetReset: 'earliest' as const, heartbeatIntervalMs: hb, ...fast, autoCommit: false };
      const members = [webka.consumer(opts), webka.consumer(opts)];
      const handed = members.map(() => [] as { at: number; partition: number }[]);
      const loops = members.map(async (c, i) => {
        for await (const r of c) {
          handed[i].push({ at: Date.now(), partition: r.partition });
          await new Promise((res) => setTimeout(res, 2)); // slow processing
        }
      });
      while (!members.every((c) => c.assignment?.length === 2 && handed[members.indexOf(c)].length > 0)) await new Promise((r) => setTimeout(r, 20));
      // A third member joins: the broker revokes partitions from the others at once.
      const third = webka.consumer(opts);
      const thirdLoop = take(third, 1);
      while (third.assignment === undefined) await new Promise((r) => setTimeout(r, 10));
      const known = Date.now();
      // Watch the window in which the old members may still be handed revoked records, and past it.
      const bound = known + 2 * hb + 1_500;
      while (Date.now() < bound + 1_000) await new Promise((r) => setTimeout(r, 50));
      const owned = new Set((third.assignment ?? []).map((tp) => tp.partition));
      await thirdLoop;
      await Promise.all([...members, third].map((c) => c.close()));
      await Promise.all(loops);
      for (const [i, c] of members.entries()) {
        const mine = new Set((c.assignment ?? []).map((tp) => tp.partition));
        const late = handed[i].filter((h) => h.at > bound && (owned.has(h.partition) || !mine.has(h.partition)));
        assert.equal(late.length, 0, `member ${i} was handed ${late.length} records of partitions it lost, up to ${Math.max(0, ...late.map((h) => h.at - known))} ms after the revocation`);
      }
    });
  }

  test('manual commit: a later member starts after what was committed, not after what was read', async () => {
    await webka.admin().createTopic({ name: 'manual', partitions: 1 });
    await produce('manual', 0, 20);
    const a = webka.consumer({ groupId: 'm', topics: 'manual', autoCommit: false, autoOffsetReset: 'earliest', ...fast });
    assert.deepEqual(await take(a, 5), range(0, 5));
    await a.commit(); // processed: 0..4
    assert.deepEqual(await take(a, 5), range(5, 10));
    await a.close(); // no auto commit: 5..9 stay uncommitted
    const b = webka.consumer({ groupId: 'm', topics: 'manual', autoCommit: false, ...fast });
    assert.deepEqual(await take(b, 15), range(5, 20));
    await b.commit([{ topic: 'manual', partition: 0, offset: 20 }]);
    await b.close();
    const d = await webka.admin().describeGroup('m');
    assert.equal(d.offsets[0].committed, 20);
    // An admin moves the empty group's offset back without joining it.
    await webka.admin().commitGroupOffsets('m', [{ topic: 'manual', partition: 0, offset: 10 }]);
    assert.deepEqual((await webka.admin().groupOffsets('m')).map((o) => [o.committed, o.lag]), [[10, 10]]);
  });

  test('two members split the partitions and together read each record once', async () => {
    await webka.admin().createTopic({ name: 'split', partitions: 4 });
    const a = webka.consumer({ groupId: 's', topics: 'split', transport: 'long-poll', autoOffsetReset: 'earliest', ...fast });
    const b = webka.consumer({ groupId: 's', topics: 'split', transport: 'sse', autoOffsetReset: 'earliest', ...fast });
    const seen: number[] = [];
    const run = async (c: Consumer): Promise<void> => {
      for await (const r of c) seen.push(r.value as number);
    };
    const ra = run(a);
    const rb = run(b);
    // Wait until the group has settled on two members with two partitions each.
    for (let i = 0; i < 100 && !(a.assignment?.length === 2 && b.assignment?.length === 2); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.assignment?.length, 2);
    assert.equal(b.assignment?.length, 2);
    await produce('split', 0, 400);
    for (let i = 0; i < 200 && seen.length < 400; i++) await new Promise((r) => setTimeout(r, 25));
    await Promise.all([a.close(), b.close()]);
    await Promise.all([ra, rb]);
    assert.deepEqual(sorted(seen), range(0, 400));
  });

  test('a failure that repeats past the retry budget is reported, naming the likely cause', async () => {
    // Nothing listens on a closed broker's port.
    const gone = await startTestBroker();
    await gone.close();
    const dead = new Webka({ url: gone.url });
    const thrown = dead.consumer({ groupId: 'nobody', topics: 't', ...fast, retryBudgetMs: 300 });
    await assert.rejects(take(thrown, 1), (e: unknown) => e instanceof WebkaError && e.code === 'NETWORK_ERROR' && /retryBudgetMs/.test(e.message) && /is the broker running/.test(e.message) && e.message.includes(gone.url));
    await thrown.close();
    // With onError the consumer reports and goes on retrying.
    const errors: WebkaError[] = [];
    const reporting = dead.consumer({ groupId: 'nobody', topics: 't', ...fast, retryBudgetMs: 300, onError: (e) => errors.push(e) });
    const loop = take(reporting, 1);
    while (errors.length < 2) await new Promise((r) => setTimeout(r, 50));
    await reporting.close();
    await loop;
    assert.equal(errors[0].code, 'NETWORK_ERROR');
  });

  test('errors are typed: an empty topic list, a group that does not exist', async () => {
    assert.throws(() => webka.consumer({ groupId: 'x', topics: [] }), (e: unknown) => e instanceof WebkaError && e.code === 'INVALID_REQUEST');
    await assert.rejects(webka.admin().describeGroup('never-joined'), (e: unknown) => e instanceof WebkaError && e.code === 'GROUP_NOT_FOUND' && e.status === 404);
  });
});
