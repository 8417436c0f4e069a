/**
 * Replication's metrics on GET /metrics of real broker processes (three `webka start` brokers on a
 * private etcd): the leader of a partition reports it under-replicated and counts an ISR shrink
 * when a follower is paused past replica.lag.time.max.ms, and an expand when it has caught up;
 * it reports each follower's lag in records; exactly one broker says it is controller; every
 * broker says how long ago etcd answered it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping replication metrics tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster;

before(async () => {
  if (missing !== null) return;
  cluster = await startCluster('/replmetrics', { WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000' });
  await Promise.all([1, 2, 3].map((n) => cluster.start(n)));
});
after(async () => {
  await cluster?.stop();
});

const url = (n: number): string => cluster.brokers.get(n)!.url;

/** The samples of a metric on node n, as {labels text -> value}. */
async function metric(n: number, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url(n)}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
  return out;
}
const one = async (n: number, name: string): Promise<number> => {
  const v = (await metric(n, name)).get('');
  assert.notEqual(v, undefined, `${name} on broker ${n}`);
  return v!;
};

test('under-replicated partitions, ISR shrinks and expands, follower lag, controller and coordinator contact', opts, async () => {
  const controller = await untilBrokers(cluster.brokers.get(1)!, 3);
  const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name: 'watched', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const leader = await until(async () => {
    const r = await getJson(`${url(1)}/v1/clusters/default/topics/watched`);
    const p = r.body?.partitionInfo?.[0];
    return p !== undefined && p.leader > 0 && p.isr.length === 3 ? (p.leader as number) : undefined;
  }, 'the partition has a leader and a full ISR');
  const [f1, f2] = [1, 2, 3].filter((n) => n !== leader);

  // one controller; each broker heard from etcd within its lease
  const active = await Promise.all([1, 2, 3].map((n) => one(n, 'webka_controller_active')));
  assert.deepEqual(active, [1, 2, 3].map((n) => (n === controller ? 1 : 0)));
  assert.ok((await one(controller, 'webka_controller_changes_total')) >= 1);
  for (const n of [1, 2, 3]) {
    const s = await one(n, 'webka_coordinator_last_contact_seconds');
    assert.ok(s >= 0 && s < 10, `broker ${n} heard from etcd ${s} s ago`);
  }
  assert.equal(await one(controller, 'webka_offline_partitions'), 0);

  // all in sync: nothing under-replicated, no shrink
  assert.equal((await postJson(`${url(leader)}/v1/clusters/default/topics/watched/records?acks=all`, { records: [{ value: 'a' }, { value: 'b' }] })).status, 200);
  await until(async () => {
    const lag = await metric(leader, 'webka_replica_lag_records');
    const series = [...lag.entries()].filter(([k]) => k.includes('topic="watched"'));
    return series.length === 2 && series.every(([, v]) => v === 0) ? true : undefined;
  }, 'both followers reported with no lag');
  assert.equal(await one(leader, 'webka_under_replicated_partitions'), 0);
  assert.equal(await one(leader, 'webka_isr_shrinks_total'), 0);

  // a paused follower: the leader's lag for it grows, it leaves the ISR, the partition is under-replicated
  const paused = cluster.brokers.get(f1)!;
  paused.child.kill('SIGSTOP');
  try {
    assert.equal((await postJson(`${url(leader)}/v1/clusters/default/topics/watched/records?acks=1`, { records: [{ value: 'c' }, { value: 'd' }, { value: 'e' }] })).status, 200);
    await until(async () => ((await one(leader, 'webka_under_replicated_partitions')) === 1 ? true : undefined), 'the partition is under-replicated');
    assert.ok((await one(leader, 'webka_isr_shrinks_total')) >= 1);
    const lag = await metric(leader, 'webka_replica_lag_records');
    const of = (r: number): number | undefined => [...lag.entries()].find(([k]) => k.includes('topic="watched"') && k.includes(`replica="${r}"`))?.[1];
    assert.equal(of(f1), 3, 'the paused follower is 3 records behind');
    assert.equal(await one(f2, 'webka_under_replicated_partitions'), 0, 'only the leader counts the partition');
  } finally {
    paused.child.kill('SIGCONT');
  }
  // caught up: it rejoins, counted as an expand
  await until(async () => ((await one(leader, 'webka_under_replicated_partitions')) === 0 ? true : undefined), 'the follower rejoins the ISR');
  assert.ok((await one(leader, 'webka_isr_expands_total')) >= 1);
});
