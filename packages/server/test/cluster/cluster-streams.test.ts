/**
 * Streams across a leader move, with three `webka start` brokers on a private etcd. A partition's
 * event stream is served by whichever broker the client asks, from its own replica, up to the
 * high watermark. When the leader is killed, a stream read through a follower carries on as that
 * follower copies from the new leader; a stream read through the leader ends with it, and the
 * client resumes with Last-Event-ID through another broker. Every record arrives once, in order,
 * on both. A long poll through a follower is answered once the new leader has the next record. A
 * broker that holds no replica of a partition relays the leader's stream.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';
import { SseClient } from '../support/sse-client.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster stream tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster | undefined;
after(async () => {
  await cluster?.stop();
});

test('event streams across the kill of the leader: through a follower it carries on, through the leader it ends and resumes elsewhere, every record once', opts, async () => {
  const c = (cluster = await startCluster('/streams', { WEBKA_COORDINATOR_LEASE_SECONDS: '2' }));
  await Promise.all([1, 2, 3].map((n) => c.start(n)));
  await untilBrokers(c.brokers.get(1)!, 3);
  const created = await postJson(`${c.brokers.get(1)!.url}/v1/clusters/default/topics`, { name: 'feed', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const partition = async (via: string): Promise<{ leader: number; isr: number[] }> => (await getJson(`${via}/v1/clusters/default/topics/feed`)).body.partitionInfo[0];
  const leader = await until(async () => {
    const p = await partition(c.brokers.get(1)!.url);
    return p.leader > 0 && p.isr.length === 3 ? p.leader : undefined;
  }, 'feed has a leader with 3 in sync');
  const via = c.brokers.get([1, 2, 3].find((n) => n !== leader)!)!.url;
  const produce = async (from: number, to: number): Promise<void> => {
    for (let n = from; n < to; n += 10) {
      const records = Array.from({ length: Math.min(10, to - n) }, (_, i) => ({ value: { n: n + i } }));
      await until(async () => ((await postJson(`${via}/v1/clusters/default/topics/feed/records?acks=all`, { records })).status === 200 ? true : undefined), `records ${n}.. acknowledged`);
    }
  };

  await produce(0, 50);
  const path = '/v1/clusters/default/topics/feed/partitions/0/records?offset=0';
  const onLeader = await SseClient.open(c.brokers.get(leader)!.url + path);
  const onFollower = await SseClient.open(via + path);
  for (const s of [onLeader, onFollower]) {
    assert.equal(s.status, 200);
    await s.until((x) => x.records().length >= 50, 10_000, 'the first 50 records');
  }

  await c.kill(leader);
  // the stream from the dead broker ends (the client then resumes elsewhere); the follower's carries on
  await onLeader.until((x) => x.ended, 15_000, 'the end of the stream from the killed leader');
  assert.equal(onFollower.ended, false);
  await produce(50, 100); // acknowledged by the new leader once it is elected
  assert.notEqual((await partition(via)).leader, leader);

  await onFollower.until((x) => x.records().length >= 100, 15_000, 'the records the new leader took');
  const resumed = await SseClient.open(via + path, { 'last-event-id': onLeader.lastEventId });
  assert.equal(resumed.status, 200, JSON.stringify(resumed.errorBody));
  await resumed.until((x) => onLeader.records().length + x.records().length >= 100, 10_000, 'the rest, resumed');
  await new Promise((r) => setTimeout(r, 100)); // room for a duplicate to show up
  onFollower.close();
  resumed.close();
  const expected = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(onFollower.records().map((r) => r.value.n), expected, 'the follower\'s stream: every record once, in order, across the move');
  assert.deepEqual([...onLeader.records(), ...resumed.records()].map((r) => r.value.n), expected, 'the resumed stream: every record once, in order');

  // a long poll through the follower is answered once the new leader has the next record
  const poll = getJson(`${via}/v1/clusters/default/topics/feed/partitions/0/records?offset=100&maxWaitMs=10000`);
  await new Promise((r) => setTimeout(r, 200));
  await produce(100, 101);
  const answered = await poll;
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  assert.deepEqual(answered.body.records.map((r: { value: { n: number } }) => r.value.n), [100]);
});

test('an event stream through a broker that holds no replica of the partition relays the leader\'s', opts, async () => {
  const c = cluster!;
  const live = [...c.brokers.keys()];
  const created = await postJson(`${c.brokers.get(live[0])!.url}/v1/clusters/default/topics`, { name: 'narrow', partitions: 1, replicationFactor: 1 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const leader = await until(async () => {
    const p = (await getJson(`${c.brokers.get(live[0])!.url}/v1/clusters/default/topics/narrow`)).body.partitionInfo?.[0];
    return p?.leader > 0 ? (p.leader as number) : undefined;
  }, 'narrow has a leader');
  const other = c.brokers.get(live.find((n) => n !== leader)!)!.url;
  // its own copy of the partition stays empty: served from it, the stream would never show a record
  const s = await SseClient.open(`${other}/v1/clusters/default/topics/narrow/partitions/0/records?offset=0`);
  assert.equal(s.status, 200);
  const sent = await postJson(`${other}/v1/clusters/default/topics/narrow/records?acks=all`, { records: [0, 1, 2].map((n) => ({ value: { n } })) });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  await s.until((x) => x.records().length >= 3, 10_000, 'the three records');
  s.close();
  assert.deepEqual(s.records().map((r) => r.value.n), [0, 1, 2]);
});
