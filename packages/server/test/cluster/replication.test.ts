/**
 * Replication across real broker processes: three `webka start` brokers on a private etcd.
 * Topic creation sent to any broker goes through the controller (replica assignment, partition
 * state in etcd), and every broker creates its copy of the topic.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping replication tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster;

before(async () => {
  if (missing !== null) return;
  cluster = await startCluster('/repl');
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
