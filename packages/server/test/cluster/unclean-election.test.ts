/**
 * Unclean leader election (the topic config unclean.leader.election.enable), on three real
 * brokers and a private etcd. A topic of one partition, three replicas, min.insync.replicas 1:
 * both followers are killed, the ISR shrinks to the leader, which then acknowledges acks=all
 * records alone; the leader is killed and the followers (which lack those records) come back.
 *
 * Clean (the default): no live replica is in the ISR, so the partition stays offline (no leader,
 * produce refused) until the old leader returns, and the history check finds nothing lost.
 * Unclean: a follower that lacks the records leads at once (available again), the old leader
 * truncates to it when it returns, and the same check finds the records it alone held lost: the
 * negative control the fault tests ask of their checker.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilLive, type TestCluster } from '../support/cluster.js';
import { checkHistory, type HistoryCheck } from '../support/history.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping unclean election tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster | undefined;
after(async () => cluster?.stop());

interface PartitionView {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

const NODES = [1, 2, 3];

/** The scenario above on topic `topic` (its unclean setting `unclean`); what the check found, and what happened meanwhile. */
async function leaderAloneThenGone(c: TestCluster, topic: string, unclean: boolean): Promise<{ check: HistoryCheck; aloneAcked: string[]; whileGone: PartitionView; produceWhileGone: number; oldLeader: number }> {
  const anyUrl = (): string => [...c.brokers.values()][0].url;
  const describe = async (): Promise<PartitionView> => (await getJson(`${anyUrl()}/v1/clusters/default/topics/${topic}`)).body.partitionInfo[0];
  const produce = async (url: string, value: string): Promise<number> => (await postJson(`${url}/v1/clusters/default/topics/${topic}/records?acks=all`, { records: [{ value }] })).status;

  const created = await postJson(`${anyUrl()}/v1/clusters/default/topics`, { name: topic, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '1', 'unclean.leader.election.enable': String(unclean) } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until(async () => ((await describe()).isr.length === 3 ? true : undefined), 'three in-sync replicas');
  const acked: string[] = [];
  for (let i = 0; i < 5; i++) {
    assert.equal(await produce(anyUrl(), `${topic}-all-${i}`), 200);
    acked.push(`${topic}-all-${i}`);
  }

  // both followers go; the leader, alone in the ISR, acknowledges what only it holds
  const { leader } = await describe();
  const followers = NODES.filter((n) => n !== leader);
  for (const n of followers) await c.kill(n);
  await until(async () => ((await describe()).isr.join() === String(leader) ? true : undefined), 'the ISR shrinks to the leader');
  const aloneAcked: string[] = [];
  for (let i = 0; i < 5; i++) {
    const value = `${topic}-alone-${i}`;
    assert.equal(await produce(c.brokers.get(leader)!.url, value), 200);
    aloneAcked.push(value);
  }

  // the leader goes, the followers come back without those records
  await c.kill(leader);
  for (const n of followers) await c.start(n);
  await untilLive(c, 2);
  let whileGone = await until(async () => {
    const p = await describe();
    return unclean ? (followers.includes(p.leader) ? p : undefined) : p.leader === -1 ? p : undefined;
  }, unclean ? 'a follower outside the ISR leads' : 'the partition is offline', 30_000);
  if (!unclean) {
    await new Promise((r) => setTimeout(r, 3_000)); // several election passes later: still offline?
    whileGone = await describe();
  }
  const produceWhileGone = await produce(anyUrl(), `${topic}-while-gone`);
  if (produceWhileGone === 200) acked.push(`${topic}-while-gone`);

  // the old leader returns: it leads again (clean), or truncates to the new leader (unclean)
  await c.start(leader);
  await untilLive(c, 3);
  const check = await checkHistory(c, topic, [...acked, ...aloneAcked]);
  return { check, aloneAcked, whileGone, produceWhileGone, oldLeader: leader };
}

test('clean election (the default): with no in-sync replica alive the partition stays offline, and no acknowledged record is lost', opts, async () => {
  const c = (cluster ??= await startCluster('/unclean', { WEBKA_COORDINATOR_LEASE_SECONDS: '1', WEBKA_REPLICA_LAG_TIME_MAX_MS: '1000' }));
  if (c.brokers.size === 0) await Promise.all(NODES.map((n) => c.start(n)));
  await untilLive(c, 3);
  const r = await leaderAloneThenGone(c, 'clean', false);
  assert.equal(r.whileGone.leader, -1);
  assert.equal(r.produceWhileGone, 503, 'a produce to an offline partition is refused (retriable)');
  assert.deepEqual(r.check.lost, [], 'acknowledged but missing');
  assert.deepEqual(r.check.duplicates, []);
  assert.deepEqual(r.check.differing, []);
});

test('unclean election: a replica outside the ISR leads at once, and the check finds what the old leader alone held lost (negative control)', opts, async () => {
  const c = (cluster ??= await startCluster('/unclean', { WEBKA_COORDINATOR_LEASE_SECONDS: '1', WEBKA_REPLICA_LAG_TIME_MAX_MS: '1000' }));
  if (c.brokers.size === 0) await Promise.all(NODES.map((n) => c.start(n)));
  await untilLive(c, 3);
  const r = await leaderAloneThenGone(c, 'unclean', true);
  // it leads from outside the old ISR (alone in the new one at first: the other follower may
  // already have caught up with it and joined by the time the test looks)
  assert.ok(r.whileGone.isr.includes(r.whileGone.leader) && !r.whileGone.isr.includes(r.oldLeader), `ISR ${r.whileGone.isr}, leader ${r.whileGone.leader}, old leader ${r.oldLeader}`);
  assert.equal(r.produceWhileGone, 200, 'the partition takes writes again without its old leader');
  assert.deepEqual([...r.check.lost].sort(), [...r.aloneAcked].sort(), 'the records only the old leader held are lost, and only those');
  assert.deepEqual(r.check.duplicates, []);
  assert.deepEqual(r.check.differing, [], 'the old leader truncated to the new one: every replica has the same bytes');
});

test('unclean.leader.election.enable takes only true or false', opts, async () => {
  const c = (cluster ??= await startCluster('/unclean', { WEBKA_COORDINATOR_LEASE_SECONDS: '1' }));
  if (c.brokers.size === 0) await Promise.all(NODES.map((n) => c.start(n)));
  const r = await postJson(`${[...c.brokers.values()][0].url}/v1/clusters/default/topics`, { name: 'bad', partitions: 1, replicationFactor: 1, configs: { 'unclean.leader.election.enable': 'yes' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'INVALID_CONFIG');
  assert.match(r.body.error.message, /unclean\.leader\.election\.enable.*false, true/);
});
