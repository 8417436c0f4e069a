/**
 * Faults under load, checked as Jepsen checks a queue: three `webka start` brokers on a private
 * etcd, a topic of 3 partitions with 3 replicas and min.insync.replicas 2, and idempotent
 * producers that write unique values (each request one record to every partition, so every
 * request is split over the leaders) with acks=all through any live broker, retrying each
 * request with its sequence until it is acknowledged. Meanwhile, one after another: kill -9 of a
 * partition leader five times, kill -9 of a follower, a leader stopped (SIGSTOP) for longer than
 * its lease and then resumed (a zombie that must not acknowledge anything once fenced, and must
 * rejoin), etcd killed and restarted, and every broker killed at once and restarted. After each
 * fault the producers must make progress again. Then the check (support/history.ts): no
 * acknowledged value missing, none stored twice, every replica's log the same bytes as its
 * leader's, and no producer refused for a reason a retry cannot mend.
 *
 * The checker's negative control is failover.test.ts's: with the high watermark taken from the
 * leader alone, the same checker reports the records the leader acknowledged alone as lost.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, untilLive, type TestCluster } from '../support/cluster.js';
import { checkHistory, describePartitions } from '../support/history.js';
import { produceWorkload, type Workload } from '../support/workload.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping fault tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster | undefined;
let load: Workload | undefined;
after(async () => {
  // a failed assertion leaves the producers running: stopped here, or the file would never end
  await load?.stop();
  await cluster?.stop();
});

const NODES = [1, 2, 3];
const TOPIC = 'queue';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('kill -9 of leaders and followers, a zombie leader, an etcd restart and a whole-cluster restart lose no acknowledged record and store none twice', opts, async (t) => {
  const c = (cluster = await startCluster('/faults', { WEBKA_COORDINATOR_LEASE_SECONDS: '1', WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000' }));
  await Promise.all(NODES.map((n) => c.start(n)));
  await untilBrokers(c.brokers.get(1)!, 3);
  const created = await postJson(`${c.brokers.get(1)!.url}/v1/clusters/default/topics`, { name: TOPIC, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until(async () => ((await describePartitions(c, TOPIC)).every((p) => p.isr.length === 3) ? true : undefined), 'every partition fully in sync');

  const running = (load = produceWorkload(c, TOPIC));
  const faults: string[] = [];
  /** Waits until the producers have had `n` more values acknowledged: the cluster serves again. */
  const progress = async (what: string, n = 20): Promise<void> => {
    const from = running.acked.size;
    await until(async () => (running.acked.size >= from + n ? true : undefined), `producers make progress after ${what}`, 60_000);
    faults.push(what);
  };
  const liveCount = (n: number): Promise<unknown> => untilLive(c, n);
  /** kill -9 of a broker; once its lease has lapsed it is started again on its data directory. */
  const killAndRestart = async (n: number): Promise<void> => {
    await c.kill(n);
    await liveCount(2);
    await c.start(n);
    await liveCount(3);
  };
  await progress('start');

  // 1. the leader of partition 0 (whoever it is by then) is killed five times
  for (let i = 0; i < 5; i++) {
    const leader = (await describePartitions(c, TOPIC))[0].leader;
    await killAndRestart(leader);
    await progress(`kill -9 of leader ${leader} (${i + 1} of 5)`);
  }

  // 2. a follower of partition 0
  const p0 = (await describePartitions(c, TOPIC))[0];
  const follower = p0.replicas.find((n) => n !== p0.leader)!;
  await killAndRestart(follower);
  await progress(`kill -9 of follower ${follower}`);

  // 3. a zombie: the leader of partition 1 stopped past its lease, then resumed; it must rejoin
  const zombie = (await describePartitions(c, TOPIC))[1].leader;
  const z = c.brokers.get(zombie)!;
  z.child.kill('SIGSTOP');
  await until(async () => {
    const other = c.brokers.get(NODES.find((n) => n !== zombie)!)!;
    const p = ((await getJson(`${other.url}/v1/clusters/default/topics/${TOPIC}`)).body.partitionInfo as Array<{ leader: number }>)[1];
    return p.leader !== zombie && p.leader > 0 ? true : undefined;
  }, 'partition 1 has another leader while its old one is stopped');
  await sleep(1000);
  z.child.kill('SIGCONT');
  await liveCount(3);
  await until(async () => (z.lines.some((l) => /lease lapsed/.test(String(l?.msg))) ? true : undefined), 'the zombie says it registered again under a new lease', 10_000);
  await progress(`SIGSTOP of leader ${zombie} past its lease, then SIGCONT`);

  // 4. etcd killed and restarted: the brokers carry on, elect a controller again and rejoin
  await c.etcd.restart();
  await liveCount(3);
  await progress('etcd killed and restarted');

  // 5. every broker killed at once, then started again
  await Promise.all(NODES.map((n) => c.kill(n)));
  await sleep(1500); // the leases lapse
  await Promise.all(NODES.map((n) => c.start(n)));
  await liveCount(3);
  await progress('every broker killed and restarted');

  await running.stop();
  const h = await checkHistory(c, TOPIC, running.acked);
  t.diagnostic(`faults: ${faults.join('; ')}`);
  t.diagnostic(`acknowledged ${running.acked.size}, read ${h.read}, lost ${h.lost.length}, duplicates ${h.duplicates.length}, differing copies ${h.differing.length}`);
  assert.deepEqual([...running.refused.values()], [], 'no producer was refused for a reason a retry cannot mend');
  assert.deepEqual(h.lost, [], 'acknowledged but missing');
  assert.deepEqual(h.duplicates, [], 'stored twice');
  assert.deepEqual(h.differing, [], 'replicas whose log differs from the leader\'s');
  assert.ok(running.acked.size >= 200, `the producers wrote through the faults (${running.acked.size} acknowledged)`);
});
