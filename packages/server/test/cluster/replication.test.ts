/**
 * Replication across real broker processes: three `webka start` brokers on a private etcd.
 * Topic creation sent to any broker goes through the controller (replica assignment, partition
 * state in etcd), and every broker creates its copy of the topic. Followers copy the leader's
 * batches byte for byte; the high watermark is the least durable end over the ISR; acks=all
 * needs min.insync.replicas in sync; a follower that stops fetching leaves the ISR and rejoins
 * once caught up. Any broker serves any produce and fetch, forwarding to the partition's leader.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping replication tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster;

before(async () => {
  if (missing !== null) return;
  // followers that stop fetching leave the ISR after 3 s
  cluster = await startCluster('/repl', { WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000' });
  await Promise.all([1, 2, 3].map((n) => cluster.start(n)));
});
after(async () => {
  await cluster?.stop();
});

const url = (n: number): string => cluster.brokers.get(n)!.url;

interface PartitionView {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  highWatermark: number;
  logEndOffset: number;
}

test('a topic created on any broker is defined by the controller and created on every broker', opts, async () => {
  const controller = await untilBrokers(cluster.brokers.get(1)!, 3);
  const other = [1, 2, 3].find((n) => n !== controller)!;

  // a replication factor above the live brokers: 422 naming how many are alive, nothing created
  const tooMany = await postJson(`${url(other)}/v1/clusters/default/topics`, { name: 'wide', partitions: 1, replicationFactor: 4 });
  assert.equal(tooMany.status, 422);
  assert.equal(tooMany.body.error.code, 'INVALID_REPLICATION_FACTOR');
  assert.match(tooMany.body.error.message, /3 live brokers/);
  for (const n of [1, 2, 3]) assert.equal((await getJson(`${url(n)}/v1/clusters/default/topics/wide`)).status, 404);

  // sent to a broker that is not the controller: forwarded, and answered with the assignment
  const created = await postJson(`${url(other)}/v1/clusters/default/topics`, { name: 'orders', partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.replicationFactor, 3);
  const parts = created.body.partitionInfo as PartitionView[];
  assert.equal(parts.length, 3);
  for (const p of parts) {
    assert.equal(p.replicas.length, 3);
    assert.deepEqual([...p.replicas].sort(), [1, 2, 3]);
    assert.equal(p.leader, p.replicas[0]);
    assert.equal(p.leaderEpoch, 0);
    assert.deepEqual(p.isr, p.replicas);
    assert.equal(p.highWatermark, 0);
    assert.equal(p.logEndOffset, 0);
  }
  // preferred leaders spread over the brokers
  assert.deepEqual(parts.map((p) => p.leader).sort(), [1, 2, 3]);

  // every broker has its copy, with the same id and the same partition states
  for (const n of [1, 2, 3]) {
    const d = await until(async () => {
      const r = await getJson(`${url(n)}/v1/clusters/default/topics/orders`);
      return r.status === 200 && (r.body.partitionInfo as PartitionView[]).every((p) => p.leader > 0) ? r.body : undefined;
    }, `broker ${n} has topic orders`);
    assert.deepEqual((d.partitionInfo as PartitionView[]).map((p) => [p.leader, p.replicas, p.isr]), parts.map((p) => [p.leader, p.replicas, p.isr]));
    assert.equal(d.configs['min.insync.replicas'], 2);
  }

  // the same name again, on any broker: 409
  const again = await postJson(`${url(controller)}/v1/clusters/default/topics`, { name: 'orders', partitions: 1 });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'TOPIC_EXISTS');
});

async function describe(n: number, topic: string): Promise<PartitionView[]> {
  const r = await getJson(`${url(n)}/v1/clusters/default/topics/${topic}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.partitionInfo as PartitionView[];
}

async function produce(n: number, topic: string, values: string[], acks: '1' | 'all'): Promise<{ status: number; body: any }> {
  return postJson(`${url(n)}/v1/clusters/default/topics/${topic}/records?acks=${acks}`, { records: values.map((value) => ({ value, partition: 0 })) });
}

/** The bytes of a partition's copy on node n (every segment, in order). */
function copyOf(n: number, topicId: string): Buffer {
  const dir = path.join(cluster.dirs.get(n)!, 'logs', `${topicId}-0`);
  return Buffer.concat(fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort().map((f) => fs.readFileSync(path.join(dir, f))));
}

test('followers copy the leader byte for byte; the high watermark waits for the ISR; acks=all needs min.insync.replicas', opts, async () => {
  await untilBrokers(cluster.brokers.get(1)!, 3);
  const before = new Set(fs.readdirSync(path.join(cluster.dirs.get(1)!, 'logs')));
  const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name: 'copies', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const [p0] = created.body.partitionInfo as PartitionView[];
  const leader = p0.leader;
  const [f1, f2] = p0.replicas.filter((n) => n !== leader);
  const topicId = await until(async () => {
    // (the id is not in the API: find the directory every broker made for it)
    const dirs = fs.readdirSync(path.join(cluster.dirs.get(leader)!, 'logs')).filter((d) => d.endsWith('-0') && !before.has(d));
    for (const d of dirs) if ([f1, f2].every((n) => fs.existsSync(path.join(cluster.dirs.get(n)!, 'logs', d)))) return d.slice(0, -2);
    return undefined;
  }, 'the topic directory on every replica');

  // acks=all answers once both followers hold the batch durably: the high watermark is past it
  const first = await produce(leader, 'copies', ['a', 'b', 'c'], 'all');
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal((await describe(leader, 'copies'))[0].highWatermark, 3);
  for (const n of [f1, f2]) {
    await until(async () => ((await describe(n, 'copies'))[0].highWatermark === 3 ? true : undefined), `follower ${n} sees the high watermark`);
  }

  // more batches, then the copies are the same bytes (same offsets, same CRCs)
  for (let i = 0; i < 5; i++) assert.equal((await produce(leader, 'copies', [`v${i}`, `w${i}`], 'all')).status, 200);
  await until(async () => ((await describe(f1, 'copies'))[0].logEndOffset === 13 && (await describe(f2, 'copies'))[0].logEndOffset === 13 ? true : undefined), 'followers hold 13 records');
  const bytes = copyOf(leader, topicId);
  assert.ok(bytes.length > 0);
  assert.ok(copyOf(f1, topicId).equals(bytes), 'follower 1 holds the same bytes');
  assert.ok(copyOf(f2, topicId).equals(bytes), 'follower 2 holds the same bytes');

  // a paused follower holds the high watermark back while it is in the ISR; it leaves the ISR
  // after replica.lag.time.max.ms, and the high watermark then follows the remaining follower
  const paused = cluster.brokers.get(f1)!;
  paused.child.kill('SIGSTOP');
  try {
    assert.equal((await produce(leader, 'copies', ['p', 'q'], '1')).status, 200);
    const shrunk = await until(async () => {
      const [s] = await describe(leader, 'copies');
      assert.equal(s.logEndOffset, 15);
      if (s.isr.includes(f1)) {
        assert.equal(s.highWatermark, 13, 'no record above what the paused in-sync follower holds is visible');
        return undefined;
      }
      return s;
    }, 'the paused follower leaves the ISR');
    assert.deepEqual([...shrunk.isr].sort(), [leader, f2].sort());
    await until(async () => ((await describe(leader, 'copies'))[0].highWatermark === 15 ? true : undefined), 'the high watermark follows the ISR');
  } finally {
    paused.child.kill('SIGCONT');
  }
  // caught up, it rejoins
  await until(async () => ((await describe(leader, 'copies'))[0].isr.includes(f1) ? true : undefined), 'the follower rejoins the ISR');

  // with both followers stopped the ISR falls to the leader: acks=all is refused, nothing written
  for (const n of [f1, f2]) {
    const b = cluster.brokers.get(n)!;
    b.child.kill('SIGTERM');
    await b.exited;
    cluster.brokers.delete(n);
  }
  await until(async () => ((await describe(leader, 'copies'))[0].isr.length === 1 ? true : undefined), 'the ISR shrinks to the leader');
  const refused = await produce(leader, 'copies', ['lost?'], 'all');
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error.code, 'NOT_ENOUGH_REPLICAS');
  assert.match(refused.body.error.message, /min\.insync\.replicas 2/);
  assert.equal((await describe(leader, 'copies'))[0].logEndOffset, 15, 'nothing was written');
  assert.equal((await produce(leader, 'copies', ['one'], '1')).status, 200, 'acks=1 still answers');

  // back again: they catch up, rejoin, and acks=all answers once more
  await Promise.all([f1, f2].map((n) => cluster.start(n)));
  await until(async () => ((await describe(leader, 'copies'))[0].isr.length === 3 ? true : undefined), 'both followers rejoin the ISR');
  assert.equal((await produce(leader, 'copies', ['back'], 'all')).status, 200);
  const [s] = await describe(leader, 'copies');
  assert.equal(s.highWatermark, 17);
  await until(async () => (copyOf(f1, topicId).equals(copyOf(leader, topicId)) && copyOf(f2, topicId).equals(copyOf(leader, topicId)) ? true : undefined), 'the copies are the same bytes again');
});

test('a follower of many partitions on one leader fetches them all on one channel: each acks=all write is answered, and no broker warns of listeners piling up', opts, async () => {
  // 24 partitions over 3 brokers: each broker follows some 8 on each other one, all parked at once
  const created = await postJson(`${url(2)}/v1/clusters/default/topics`, { name: 'many', partitions: 24, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until(async () => {
    const r = await getJson(`${url(1)}/v1/clusters/default/topics/many`);
    return r.status === 200 && (r.body.partitionInfo as PartitionView[]).every((p) => p.leader > 0 && p.isr.length === 3) ? true : undefined;
  }, 'every partition with 3 in sync');
  // every follower fetch is parked on its leader now; an acks=all write to each partition needs both followers
  await new Promise((r) => setTimeout(r, 300));
  const writes = await Promise.all(Array.from({ length: 24 }, (_, p) => postJson(`${url(1 + (p % 3))}/v1/clusters/default/topics/many/records?acks=all`, { records: [{ value: `v${p}`, partition: p }] })));
  for (const w of writes) assert.equal(w.status, 200, JSON.stringify(w.body));
  for (const p of [0, 11, 23]) {
    const r = await getJson(`${url(3)}/v1/clusters/default/topics/many/partitions/${p}/records?offset=0`);
    assert.deepEqual(r.body.records.map((x: { value: string }) => x.value), [`v${p}`]);
  }
  for (const n of [1, 2, 3]) assert.doesNotMatch(cluster.brokers.get(n)!.stderr(), /MaxListenersExceededWarning/, `broker ${n}`);
});

test('any broker serves any produce and fetch: a broker that does not lead the partition forwards to its leader', opts, async () => {
  // (the previous test stopped and restarted two brokers: wait until all three are back)
  await untilBrokers(cluster.brokers.get(1)!, 3);
  const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name: 'routed', partitions: 3, replicationFactor: 2 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const parts = created.body.partitionInfo as PartitionView[];
  for (const n of [1, 2, 3]) await until(async () => ((await getJson(`${url(n)}/v1/clusters/default/topics/routed`)).status === 200 ? true : undefined), `broker ${n} has topic routed`);
  // each broker is sent a record for every partition: two of three are led elsewhere, and one
  // partition of three has no replica on it at all
  for (const n of [1, 2, 3]) {
    for (const p of parts) {
      const r = await postJson(`${url(n)}/v1/clusters/default/topics/routed/records?acks=all`, { records: [{ value: `from-${n}-to-${p.partition}`, partition: p.partition }] });
      assert.equal(r.status, 200, `broker ${n}, partition ${p.partition} (leader ${p.leader}): ${JSON.stringify(r.body)}`);
    }
  }
  // keyless records sent to any broker are written too
  for (const n of [1, 2, 3]) assert.equal((await postJson(`${url(n)}/v1/clusters/default/topics/routed/records`, { records: [{ value: `keyless-${n}` }] })).status, 200);
  // every broker answers a fetch of every partition with the leader's records
  for (const p of parts) {
    const fromLeader = await getJson(`${url(p.leader)}/v1/clusters/default/topics/routed/partitions/${p.partition}/records?offset=0`);
    assert.equal(fromLeader.status, 200);
    const values = (fromLeader.body.records as { value: string }[]).map((r) => r.value);
    for (const n of [1, 2, 3]) assert.ok(values.includes(`from-${n}-to-${p.partition}`), `partition ${p.partition} holds the record sent to broker ${n}: ${JSON.stringify(values)}`);
    for (const n of [1, 2, 3]) {
      const r = await getJson(`${url(n)}/v1/clusters/default/topics/routed/partitions/${p.partition}/records?offset=0`);
      assert.equal(r.status, 200);
      assert.deepEqual((r.body.records as { value: string }[]).map((x) => x.value), values, `broker ${n} answers partition ${p.partition} as its leader does`);
    }
  }
  let keyless = 0;
  for (const p of parts) keyless += ((await getJson(`${url(p.leader)}/v1/clusters/default/topics/routed/partitions/${p.partition}/records?offset=0`)).body.records as { value: string }[]).filter((r) => r.value.startsWith('keyless-')).length;
  assert.equal(keyless, 3);
});

/** The ids of topic `name` in node n's catalog (on disk), and the partition directories of id there. */
function onDisk(n: number, id: string): string[] {
  const logs = path.join(cluster.dirs.get(n)!, 'logs');
  return fs.existsSync(logs) ? fs.readdirSync(logs).filter((d) => d.startsWith(`${id}-`)) : [];
}

function catalogId(n: number, name: string): string | undefined {
  const catalog = JSON.parse(fs.readFileSync(path.join(cluster.dirs.get(n)!, 'catalog.json'), 'utf8')) as { topics: Record<string, { name: string; cluster: string }> };
  return Object.entries(catalog.topics).find(([, t]) => t.name === name && t.cluster === 'default')?.[0];
}

test('a topic changed or deleted through any broker changes on every broker: configs, added partitions (replicated), deletion (data gone, the name free again), a broker away meanwhile included', opts, async () => {
  const controller = await untilBrokers(cluster.brokers.get(1)!, 3);
  const [other, away] = [1, 2, 3].filter((n) => n !== controller);
  const created = await postJson(`${url(other)}/v1/clusters/default/topics`, { name: 'shifting', partitions: 1, replicationFactor: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await produce(other, 'shifting', ['before'], 'all')).status, 200);

  // configs and two more partitions, sent to a broker that is not the controller
  const altered = await fetch(`${url(other)}/v1/clusters/default/topics/shifting`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partitions: 3, configs: { 'retention.ms': '60000' } }) });
  const body = (await altered.json()) as any;
  assert.equal(altered.status, 200, JSON.stringify(body));
  assert.equal(body.partitions, 3);
  for (const n of [1, 2, 3]) {
    await until(async () => {
      const r = await getJson(`${url(n)}/v1/clusters/default/topics/shifting`);
      const parts = r.body.partitionInfo as PartitionView[];
      return r.body.configs['retention.ms'] === 60000 && parts.length === 3 && parts.every((p) => p.leader > 0 && p.isr.length === 3) ? true : undefined;
    }, `broker ${n} sees the new configs and three replicated partitions`);
  }
  const grown = await postJson(`${url(other)}/v1/clusters/default/topics/shifting/records?acks=all`, { records: [{ value: 'in a new partition', partition: 2 }] });
  assert.equal(grown.status, 200, JSON.stringify(grown.body));
  // a bad change is refused, and changes nothing
  const bad = await fetch(`${url(other)}/v1/clusters/default/topics/shifting`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partitions: 2 }) });
  assert.equal(bad.status, 422);
  assert.equal(((await bad.json()) as any).error.code, 'INVALID_PARTITIONS');

  // one broker stops; the topic is deleted meanwhile, through another
  const id = catalogId(away, 'shifting')!;
  assert.equal(onDisk(away, id).length, 3);
  const b = cluster.brokers.get(away)!;
  b.child.kill('SIGTERM');
  await b.exited;
  cluster.brokers.delete(away);
  const deleted = await fetch(`${url(other)}/v1/clusters/default/topics/shifting`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  for (const n of [controller, other]) {
    await until(async () => ((await getJson(`${url(n)}/v1/clusters/default/topics/shifting`)).status === 404 && onDisk(n, id).length === 0 ? true : undefined), `broker ${n} has deleted its copy`);
  }
  // the broker that was away deletes its copy when it returns
  await cluster.start(away);
  await until(async () => ((await getJson(`${url(away)}/v1/clusters/default/topics/shifting`)).status === 404 && onDisk(away, id).length === 0 ? true : undefined), 'the returning broker has deleted its copy');

  // the name is free again: a new, empty topic
  const again = await postJson(`${url(away)}/v1/clusters/default/topics`, { name: 'shifting', partitions: 1, replicationFactor: 3 });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  for (const n of [1, 2, 3]) {
    await until(async () => {
      const r = await getJson(`${url(n)}/v1/clusters/default/topics/shifting`);
      return r.status === 200 && (r.body.partitionInfo as PartitionView[])[0].highWatermark === 0 && (r.body.partitionInfo as PartitionView[])[0].leader > 0 ? true : undefined;
    }, `broker ${n} has the new, empty topic`);
  }
  assert.equal((await produce(away, 'shifting', ['after'], 'all')).status, 200);
});
