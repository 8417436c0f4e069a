/**
 * A cluster in the middle of a rolling upgrade: brokers 1 and 2 of this version, broker 3 as a
 * broker of an earlier version, with no replica channel (WEBKA_DEBUG_NO_REPLICA_CHANNEL=1: it
 * serves and sends replica fetches as HTTP requests alone). Followers of this version find that
 * broker 3 has no channel (404 to the upgrade) and fetch from it over HTTP; broker 3 follows the
 * others over HTTP. Every partition keeps three in-sync replicas and takes acks=all writes that
 * need all three (min.insync.replicas 3), each leader's included, and every copy holds them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping the rolling-upgrade test: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster;
before(async () => {
  if (missing !== null) return;
  cluster = await startCluster('/upgrade');
  await Promise.all([cluster.start(1), cluster.start(2), cluster.start(3, [], { WEBKA_DEBUG_NO_REPLICA_CHANNEL: '1' })]);
});
after(async () => {
  await cluster?.stop();
});

const url = (n: number): string => cluster.brokers.get(n)!.url;

test('brokers with and without the replica channel replicate to each other: every partition in sync, acks=all of all three answered', opts, async () => {
  const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name: 'upgrade', partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const parts = await until(async () => {
    const r = await getJson(`${url(1)}/v1/clusters/default/topics/upgrade`);
    const p = r.body?.partitionInfo as Array<{ partition: number; leader: number; isr: number[] }> | undefined;
    return r.status === 200 && p !== undefined && p.every((x) => x.leader > 0 && x.isr.length === 3) ? p : undefined;
  }, 'every partition with 3 in sync');
  // each broker leads one partition (the first replicas go round the brokers): broker 3 leads one
  assert.deepEqual(parts.map((p) => p.leader).sort(), [1, 2, 3]);
  for (const p of parts) {
    const w = await postJson(`${url(p.leader)}/v1/clusters/default/topics/upgrade/records?acks=all`, { records: [{ value: `to ${p.leader}`, partition: p.partition }] });
    assert.equal(w.status, 200, `partition ${p.partition} led by broker ${p.leader}: ${JSON.stringify(w.body)}`);
  }
  // every broker's copy holds every record (a follower serves reads from its own copy)
  for (const n of [1, 2, 3]) {
    for (const p of parts) {
      const r = await until(async () => {
        const got = await getJson(`${url(n)}/v1/clusters/default/topics/upgrade/partitions/${p.partition}/records?offset=0`);
        return got.status === 200 && got.body.records.length === 1 ? got : undefined;
      }, `broker ${n}'s copy of partition ${p.partition}`);
      assert.equal(r.body.records[0].value, `to ${p.leader}`);
    }
  }
  // broker 3 says what it is
  assert.match(cluster.brokers.get(3)!.stderr() + JSON.stringify(cluster.brokers.get(3)!.lines), /debugNoReplicaChannel/);
});
