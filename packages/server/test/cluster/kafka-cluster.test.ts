/**
 * The Kafka listener in a cluster of three brokers (a private etcd, real broker processes, each
 * with a Kafka listener): kafkajs creates a topic with replication factor 3 through the
 * controller, Metadata names every broker and each partition's leader, replicas, ISR and leader
 * epoch, and a broker that does not lead a partition answers Produce and Fetch with
 * NOT_LEADER_OR_FOLLOWER instead of serving it, and a broker that does not coordinate a group
 * answers its requests with NOT_COORDINATOR; a kafkajs producer bootstrapped from that broker
 * alone writes to the partition through its leader. kafkajs produces with acks=-1 (min.insync.replicas
 * 2), the leader of a partition is killed with kill -9, kafkajs carries on once its metadata
 * names the new leader, and a consumer then reads every acknowledged record; librdkafka
 * (python3-confluent-kafka), reading along from the start through the kill, reads them all too,
 * in order, without resetting its position. The new leader answers OffsetForLeaderEpoch for the
 * old epoch with where the new one began. The coordinator takes a commit up to a leader's high
 * watermark for a partition it only follows (it learns that mark a fetch late). Then kafkajs adds
 * partitions, changes a config and deletes the topic (through the controller), and every broker
 * follows.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import kafkajs, { Kafka, logLevel, type Producer } from 'kafkajs';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';
import { RawKafka } from '../support/raw-kafka.js';
import { Fetch, Metadata, OffsetForLeaderEpoch, Produce } from '../../src/kafka/messages-core.js';
import { FindCoordinator, Heartbeat, OffsetCommit, OffsetFetch } from '../../src/kafka/messages-groups.js';
import { encodeBatch } from '../../src/storage/record-batch.js';
import { needDebianPackages, CONFLUENT_KAFKA } from '../support/debian-packages.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../kafka/confluent-clients.py');

interface Followed {
  event: string;
  partition?: number;
  offset?: number;
  value?: string;
  error?: string;
}

/** librdkafka (Debian's python3-confluent-kafka) reading the topic from the start, without a group, as records come. */
function followWithLibrdkafka(bootstrap: string, topic: string, partitions: number): { events: Followed[]; log: string[]; started: Promise<void>; stop(): Promise<void> } {
  const child = spawn('/usr/bin/python3', [SCRIPT, 'follow', bootstrap, topic, String(partitions), '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Followed[] = [];
  // librdkafka's own log (a broker going away is logged there): kept for a failure's message
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => void (log.push(l) > 40 && log.shift()));
  let onStart = (): void => undefined;
  const started = new Promise<void>((resolve) => (onStart = resolve));
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    const e = JSON.parse(l) as Followed;
    events.push(e);
    if (e.event === 'started') onStart();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    events,
    log,
    started,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const missing = needEtcd();
if (missing !== null) console.log(`# skipping Kafka cluster tests: ${missing}`);
const noLibrdkafka = missing === null ? needDebianPackages(CONFLUENT_KAFKA) : missing;
if (noLibrdkafka !== null) console.log(`# the kafkajs cluster test runs without its librdkafka reader: ${noLibrdkafka}`);

let cluster: TestCluster | undefined;
after(async () => cluster?.stop());

const NOT_LEADER_OR_FOLLOWER = 6;
const NOT_COORDINATOR = 16;
const FENCED_LEADER_EPOCH = 74;
const UNKNOWN_MEMBER_ID = 25;
const TOPIC = 'orders';

/** Partition 0 as Metadata version 7 (the first with leader epochs, which kafkajs does not read) gives it. */
async function partition0(port: number): Promise<{ leaderId: number; leaderEpoch: number; replicaNodes: number[]; isrNodes: number[] }> {
  const raw = await RawKafka.connect(port);
  try {
    const m = await raw.call(Metadata, 7, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false });
    return m.topics[0].partitions.find((p: { partitionIndex: number }) => p.partitionIndex === 0);
  } finally {
    raw.close();
  }
}

test('kafkajs against three brokers: leaders direct, NOT_LEADER_OR_FOLLOWER elsewhere, no acknowledged record lost when a leader is killed', { skip: missing ?? false, timeout: 240_000 }, async () => {
  cluster = await startCluster('/kafka-cluster', { WEBKA_COORDINATOR_LEASE_SECONDS: '1', WEBKA_REPLICA_LAG_TIME_MAX_MS: '2000' }, { kafka: true });
  await Promise.all([1, 2, 3].map((n) => cluster!.start(n)));
  await untilBrokers(cluster.brokers.get(1)!, 3);
  const ports = cluster.kafkaPorts;
  const kafka = new Kafka({ clientId: 'kafka-cluster-test', brokers: [...ports.values()].map((p) => `127.0.0.1:${p}`), logLevel: logLevel.NOTHING, retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 3_000 } });

  const admin = kafka.admin();
  await admin.connect();
  assert.equal(await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: 2, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] }), true);
  const described = await admin.describeCluster();
  assert.deepEqual(described.brokers.map((b) => [b.nodeId, b.port]).sort(), [...ports].sort());
  assert.ok([1, 2, 3].includes(described.controller!), `controller ${described.controller}`);
  // each partition: a live leader among three replicas, all in sync, leader epoch 0
  const meta = await until(async () => {
    const m = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions;
    return m.every((p) => p.isr.length === 3) ? m : undefined;
  }, 'every partition with three in-sync replicas');
  for (const p of meta) {
    assert.deepEqual([...p.replicas].sort(), [1, 2, 3]);
    assert.ok(p.replicas.includes(p.leader));
  }
  // every broker names the same leader, in leader epoch 0
  for (const port of ports.values()) {
    const p = await partition0(port);
    assert.deepEqual([p.leaderId, p.leaderEpoch, p.isrNodes.length], [meta.find((x) => x.partitionId === 0)!.leader, 0, 3]);
  }

  // a broker that does not lead partition 0 does not take or serve it
  const leader0 = meta.find((p) => p.partitionId === 0)!.leader;
  const follower = [1, 2, 3].find((n) => n !== leader0)!;
  const raw = await RawKafka.connect(ports.get(follower)!);
  try {
    const batch = encodeBatch([{ key: null, value: Buffer.from('to a follower'), timestamp: Date.now(), headers: [] }], 0);
    const produced = await raw.call(Produce, 3, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, NOT_LEADER_OR_FOLLOWER);
    const fetched = await raw.call(Fetch, 4, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    assert.equal(fetched.responses[0].partitions[0].errorCode, NOT_LEADER_OR_FOLLOWER);
  } finally {
    raw.close();
  }

  // a group's requests belong to its coordinator: another broker answers NOT_COORDINATOR, so that
  // a client finds the coordinator instead of joining a second copy of the group
  const finder = await RawKafka.connect(ports.get(follower)!);
  try {
    const found = await until(async () => {
      const r = await finder.call(FindCoordinator, 1, { key: 'kafka-cluster-readers', keyType: 0 });
      return r.errorCode === 0 ? r : undefined;
    }, 'a coordinator for the group');
    for (const n of [1, 2, 3]) {
      const conn = await RawKafka.connect(ports.get(n)!);
      try {
        const beat = await conn.call(Heartbeat, 0, { groupId: 'kafka-cluster-readers', generationId: 1, memberId: 'nobody' });
        assert.equal(beat.errorCode, n === found.nodeId ? UNKNOWN_MEMBER_ID : NOT_COORDINATOR, `broker ${n} (the coordinator is ${found.nodeId})`);
      } finally {
        conn.close();
      }
    }
    // the coordinator takes a commit for a partition it holds no replica of (replication factor
    // 1: two of three partitions live elsewhere, its own copies of them stay empty), and gives it back
    const single = await postJson(`${cluster.brokers.get(1)!.url}/v1/clusters/default/topics`, { name: 'single', partitions: 3, replicationFactor: 1 });
    assert.equal(single.status, 201, JSON.stringify(single.body));
    for (const partition of [0, 1, 2]) {
      const r = await postJson(`${cluster.brokers.get(1)!.url}/v1/clusters/default/topics/single/records`, { records: [{ value: 'a', partition }, { value: 'b', partition }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const coordinator = await RawKafka.connect(ports.get(found.nodeId)!);
    try {
      const committed = await coordinator.call(OffsetCommit, 2, { groupId: 'kafka-cluster-readers', generationId: -1, memberId: '', retentionTimeMs: -1, topics: [{ name: 'single', partitions: [0, 1, 2].map((partitionIndex) => ({ partitionIndex, committedOffset: 2, committedMetadata: null })) }] });
      assert.deepEqual(committed.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode), [0, 0, 0]);
      const fetched = await coordinator.call(OffsetFetch, 2, { groupId: 'kafka-cluster-readers', topics: [{ name: 'single', partitionIndexes: [0, 1, 2] }] });
      assert.deepEqual(fetched.topics[0].partitions.map((p: { committedOffset: number }) => p.committedOffset), [2, 2, 2]);
      // and one for a partition it follows, at once, up to the high watermark its leader acknowledged:
      // the follower learns that high watermark one fetch later, and was refusing such a commit
      // with OFFSET_OUT_OF_RANGE, which kafkajs takes as fatal (its consumer stopped)
      const followed = await postJson(`${cluster.brokers.get(1)!.url}/v1/clusters/default/topics`, { name: 'followed', partitions: 3, replicationFactor: 3 });
      assert.equal(followed.status, 201, JSON.stringify(followed.body));
      const info = await until(async () => {
        const r = await getJson(`${cluster!.brokers.get(1)!.url}/v1/clusters/default/topics/followed`);
        const p = r.body.partitionInfo?.find((x: { leader: number; isr: number[] }) => x.leader > 0 && x.leader !== found.nodeId && x.isr.length === 3);
        return p as { partition: number; leader: number } | undefined;
      }, 'a partition of "followed" led by another broker than the coordinator, all in sync');
      for (let round = 1; round <= 5; round++) {
        const r = await postJson(`${cluster.brokers.get(info.leader)!.url}/v1/clusters/default/topics/followed/records?acks=all`, { records: [{ value: `r${round}`, partition: info.partition }] });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const c = await coordinator.call(OffsetCommit, 2, { groupId: 'kafka-cluster-readers', generationId: -1, memberId: '', retentionTimeMs: -1, topics: [{ name: 'followed', partitions: [{ partitionIndex: info.partition, committedOffset: round, committedMetadata: null }] }] });
        assert.equal(c.topics[0].partitions[0].errorCode, 0, `commit of offset ${round} (the leader's high watermark) at the coordinator, a follower`);
      }
    } finally {
      coordinator.close();
    }
  } finally {
    finder.close();
  }

  // librdkafka reads along from the start: across the kill it carries on at the new leader from
  // where it was, never resetting its position (auto.offset.reset=error makes a reset an error).
  // (Debian's librdkafka 2.0.2 does not yet validate positions with OffsetForLeaderEpoch.)
  const librdkafka = noLibrdkafka === null ? followWithLibrdkafka([...ports.values()].map((p) => `127.0.0.1:${p}`).join(','), TOPIC, 2) : null;
  await librdkafka?.started;

  // acks=-1 producing, a kill -9 of partition 0's leader in the middle
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const acked: string[] = [];
  let n = 0;
  const produceUntil = async (count: number): Promise<void> => {
    const deadline = Date.now() + 120_000;
    while (acked.length < count) {
      assert.ok(Date.now() < deadline, `only ${acked.length} of ${count} records acknowledged in 120 s`);
      const values = [0, 1, 2, 3].map(() => `v${n++}`);
      try {
        // keyed so that both partitions get records every round
        await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
        acked.push(...values);
      } catch {
        // not acknowledged: the next round carries on with new values
      }
    }
  };
  // a client that knows only a broker that does not lead partition 0 is sent to the leader by Metadata
  const viaFollower = new Kafka({ clientId: 'via-follower', brokers: [`127.0.0.1:${ports.get(follower)}`], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 200 } });
  const followerOnly = viaFollower.producer({ allowAutoTopicCreation: false });
  await followerOnly.connect();
  const [sentViaFollower] = await followerOnly.send({ topic: TOPIC, acks: -1, messages: [{ partition: 0, value: 'bootstrapped from a follower' }] });
  await followerOnly.disconnect();
  assert.equal(sentViaFollower.errorCode, 0);
  acked.push('bootstrapped from a follower');

  await produceUntil(20);
  await cluster.kill(leader0);
  const killedAt = acked.length;
  await produceUntil(killedAt + 20);
  await producer.disconnect();

  await admin.disconnect();
  const moved = await partition0(ports.get(follower)!);
  assert.ok(![leader0, -1].includes(moved.leaderId), `leader ${moved.leaderId}`);
  assert.ok(moved.leaderEpoch > 0, `leader epoch ${moved.leaderEpoch}`);
  assert.ok(!moved.isrNodes.includes(leader0), `ISR ${moved.isrNodes}`);

  // OffsetForLeaderEpoch at the new leader: epoch 0 (the killed leader's) ends where the first
  // batch of a later epoch starts, which the batch there says; the current epoch ends at the log
  // end; an older currentLeaderEpoch is fenced; a broker that does not lead answers NOT_LEADER
  const epochs = await RawKafka.connect(ports.get(moved.leaderId)!);
  try {
    const ask = async (leaderEpoch: number, currentLeaderEpoch = -1): Promise<{ errorCode: number; leaderEpoch: number; endOffset: number }> =>
      (await epochs.call(OffsetForLeaderEpoch, 3, { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] })).topics[0].partitions[0];
    const end = (await getJson(`${cluster.brokers.get(moved.leaderId)!.url}/v1/clusters/default/topics/${TOPIC}`)).body.partitionInfo.find((p: { partition: number }) => p.partition === 0).logEndOffset as number;
    assert.deepEqual(await ask(moved.leaderEpoch), { errorCode: 0, partition: 0, leaderEpoch: moved.leaderEpoch, endOffset: end });
    const first = await ask(0);
    assert.equal(first.errorCode, 0);
    assert.equal(first.leaderEpoch, 0);
    assert.ok(first.endOffset > 0 && first.endOffset < end, `epoch 0 ends at ${first.endOffset}, inside the log (end ${end}): records were written before and after the kill`);
    const f = await epochs.call(Fetch, 4, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: first.endOffset, partitionMaxBytes: 1 << 20 }] }] });
    const batch = f.responses[0].partitions[0].records as Buffer;
    assert.equal(batch.readBigInt64BE(0), BigInt(first.endOffset), 'a batch starts there');
    assert.ok(batch.readInt32BE(12) > 0, `the batch there is of a later epoch (${batch.readInt32BE(12)})`);
    assert.equal((await ask(0, 0)).errorCode, FENCED_LEADER_EPOCH);
  } finally {
    epochs.close();
  }
  const other = await RawKafka.connect(ports.get(follower === moved.leaderId ? [1, 2, 3].find((n) => n !== leader0 && n !== follower)! : follower)!);
  try {
    const r = await other.call(OffsetForLeaderEpoch, 3, { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] });
    assert.equal(r.topics[0].partitions[0].errorCode, NOT_LEADER_OR_FOLLOWER);
  } finally {
    other.close();
  }

  // every acknowledged record is there
  const consumer = kafka.consumer({ groupId: 'kafka-cluster-readers', sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Set<string>();
  const wanted = new Set(acked);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${[...wanted].filter((v) => seen.has(v)).length} of ${wanted.size} acknowledged records in 90 s; missing e.g. ${[...wanted].filter((v) => !seen.has(v)).slice(0, 5).join(', ')}`)), 90_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.add(message.value!.toString());
          if ([...wanted].every((v) => seen.has(v))) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  if (librdkafka !== null) {
    const values = (): string[] => librdkafka.events.filter((e) => e.event === 'record').map((e) => e.value!);
    try {
      await until(async () => ([...wanted].every((v) => values().includes(v)) ? true : undefined), 'librdkafka reads every acknowledged record', 60_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; librdkafka's log ends: ${librdkafka.log.slice(-10).join(' | ')}`);
    } finally {
      await librdkafka.stop();
    }
    for (const p of [0, 1]) {
      const offsets = librdkafka.events.filter((e) => e.event === 'record' && e.partition === p).map((e) => e.offset!);
      assert.ok(offsets.every((o, i) => i === 0 || o > offsets[i - 1]), `librdkafka read partition ${p} in order, each offset once: ${offsets.join(',')}`);
    }
    const resets = librdkafka.events.filter((e) => e.event === 'error' && /reset|truncat|out of range/i.test(e.error ?? ''));
    assert.deepEqual(resets, [], 'librdkafka neither reset its position nor detected a truncation');
  }

  // topics change through the controller (kafkajs sends these there), and every broker follows;
  // new partitions need three live brokers for their three replicas
  await cluster.start(leader0);
  await untilBrokers(cluster.brokers.get(leader0)!, 3);
  const changer = kafka.admin();
  await changer.connect();
  try {
    await changer.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 3 }] });
    await changer.alterConfigs({ validateOnly: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    for (const b of cluster.brokers.values()) {
      await until(async () => {
        const r = await getJson(`${b.url}/v1/clusters/default/topics/${TOPIC}`);
        return r.body.partitions === 3 && r.body.configs['retention.ms'] === 3_600_000 && r.body.partitionInfo.every((p: { leader: number }) => p.leader > 0) ? true : undefined;
      }, `${b.url} has three partitions and the new retention`);
    }
    await changer.deleteTopics({ topics: [TOPIC] });
    for (const b of cluster.brokers.values()) await until(async () => ((await getJson(`${b.url}/v1/clusters/default/topics/${TOPIC}`)).status === 404 ? true : undefined), `${b.url} has deleted the topic`);
  } finally {
    await changer.disconnect();
  }
});
