/**
 * Consumer groups in a cluster, with real broker processes and a private etcd: a group of two
 * HTTP consumers, each talking to a different broker, neither of them the group's coordinator
 * (the leader of the group's __consumer_offsets partition). Both brokers forward the group's
 * calls to the coordinator, so the two members share one group (disjoint assignments, every
 * record delivered). After a commit the coordinator is killed with SIGKILL: the offsets
 * partition gets a new leader, which becomes the coordinator with the committed offsets intact
 * (replicated), and the members, joining again through the same brokers, carry on from them:
 * no record below a committed offset is delivered again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';
import { groupPartition, OFFSETS_TOPIC_PARTITIONS } from '../../src/groups/offset-store.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster group tests: ${missing}`);
const opts = { skip: missing ?? false, timeout: 120_000 };

const clusters: TestCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});

const TOPIC = 'orders';
const PARTITIONS = 4;
const GROUP = 'billing';

interface Delivered {
  partition: number;
  offset: number;
}

/** An HTTP group member through one broker: joins again when the group forgets it, retries 503s. */
class HttpConsumer {
  memberId: string | null = null;
  assignment: number[] = [];
  readonly delivered: Delivered[] = [];

  constructor(
    readonly base: string,
    readonly name: string,
  ) {}

  get #group(): string {
    return `${this.base}/v1/clusters/default/groups/${GROUP}`;
  }

  async #join(): Promise<void> {
    const r = await postJson(`${this.#group}/members`, { topics: [TOPIC], clientId: this.name, autoCommit: false, autoOffsetReset: 'earliest', sessionTimeoutMs: 8000 });
    if (r.status !== 201) throw new Error(`join through ${this.base}: ${r.status} ${JSON.stringify(r.body)}`);
    this.memberId = r.body.memberId as string;
  }

  /** One poll and a commit of what it delivered; false when the call failed (the caller retries). */
  async step(): Promise<boolean> {
    try {
      if (this.memberId === null) await this.#join();
      const member = `${this.#group}/members/${this.memberId}`;
      const r = await fetch(`${member}/records?maxWaitMs=500`, { signal: AbortSignal.timeout(20_000) });
      const body = (await r.json()) as any;
      if (r.status === 404) this.memberId = null;
      if (r.status !== 200) return false;
      this.assignment = (body.assignment as { partition: number }[]).map((a) => a.partition).sort();
      for (const rec of body.records as { partition: number; offset: number }[]) this.delivered.push({ partition: rec.partition, offset: rec.offset });
      const c = await postJson(`${member}/offsets`, {});
      if (c.status === 404) this.memberId = null;
      return c.status === 200;
    } catch {
      return false;
    }
  }
}

/** `perPartition` records to each partition, one request per partition (each goes to its leader). */
async function produce(url: string, from: number, perPartition: number): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const records = Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `p${p}-${from + i}` }));
    const r = await postJson(`${url}/v1/clusters/default/topics/${TOPIC}/records?acks=all`, { records });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
}

/** The committed offsets of the group, by partition, as `url` answers them (undefined: not answered). */
async function committed(url: string): Promise<Map<number, number> | undefined> {
  const r = await getJson(`${url}/v1/clusters/default/groups/${GROUP}/offsets`);
  if (r.status !== 200) return undefined;
  return new Map((r.body.offsets as { partition: number; committed: number }[]).map((o) => [o.partition, o.committed]));
}

const t0 = Date.now();
const phase = (what: string): void => void (process.env.DEBUG_PHASES === undefined || console.log(`# ${Date.now() - t0} ms ${what}`));

test('a group of two members through two brokers survives the kill of its coordinator with its committed offsets', opts, async () => {
  const cluster = await startCluster('/groups', { WEBKA_COORDINATOR_LEASE_SECONDS: '4', WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000' });
  clusters.push(cluster);
  await Promise.all([1, 2, 3].map((n) => cluster.start(n)));
  await untilBrokers(cluster.brokers.get(1)!, 3);
  const url = (n: number): string => cluster.brokers.get(n)!.url;
  const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const n of [1, 2, 3]) await until(async () => ((await getJson(`${url(n)}/v1/clusters/default/topics/${TOPIC}`)).status === 200 ? true : undefined), `broker ${n} has the topic`);
  await produce(url(1), 0, 10);
  phase('await produce(url(1), 0, 10);');

  // the first group call defines __consumer_offsets (replicated on all three brokers)
  assert.deepEqual(await committed(url(2)), new Map());
  const offsetsPartition = groupPartition(GROUP, OFFSETS_TOPIC_PARTITIONS);
  const leaderOfOffsets = async (n: number): Promise<{ leader: number; replicas: number[] } | undefined> => {
    const d = await getJson(`${url(n)}/v1/clusters/default/topics/__consumer_offsets`);
    const p = (d.body?.partitionInfo as { partition: number; leader: number; replicas: number[] }[] | undefined)?.find((x) => x.partition === offsetsPartition);
    return p === undefined || p.leader < 0 ? undefined : p;
  };
  const before = await until(() => leaderOfOffsets(1), 'the offsets partition has a leader');
  assert.equal(before.replicas.length, 3, 'the offsets partition is replicated on every broker');
  const coordinator = before.leader;
  const [x, y] = [1, 2, 3].filter((n) => n !== coordinator);
  phase('const [x, y] = [1, 2, 3].filter((n) => n');

  const a = new HttpConsumer(url(x), 'a');
  const b = new HttpConsumer(url(y), 'b');
  const seen = (): Set<string> => new Set([...a.delivered, ...b.delivered].map((d) => `${d.partition}/${d.offset}`));
  await until(async () => {
    await Promise.all([a.step(), b.step()]);
    const split = a.assignment.length > 0 && b.assignment.length > 0 && a.assignment.every((p) => !b.assignment.includes(p));
    return split && seen().size === PARTITIONS * 10 ? true : undefined;
  }, 'both members share the partitions and every record is delivered', 60_000);
  // one more round, so that both members' last deliveries are committed
  await until(async () => ((await a.step()) && (await b.step()) ? true : undefined), 'a commit of both members');
  const intact = await committed(url(x));
  phase('const intact = await committed(url(x));');
  assert.deepEqual(intact, new Map([0, 1, 2, 3].map((p) => [p, 10])), 'both brokers forward to one coordinator, which holds the offsets of both members');

  await cluster.kill(coordinator);
  const after = await until(async () => {
    const p = await leaderOfOffsets(x);
    return p !== undefined && p.leader !== coordinator ? p : undefined;
  }, 'the offsets partition has a new leader', 60_000);
  assert.notEqual(after.leader, coordinator);
  phase('assert.notEqual(after.leader, coordinato');
  assert.deepEqual(await until(() => committed(url(y)), 'the new coordinator answers'), intact, 'the committed offsets survive the coordinator');

  const [aBefore, bBefore] = [a.delivered.length, b.delivered.length];
  await until(async () => {
    const d = await getJson(`${url(x)}/v1/clusters/default/topics/${TOPIC}`);
    return (d.body.partitionInfo as { leader: number }[]).every((p) => p.leader >= 0 && p.leader !== coordinator) ? true : undefined;
  }, 'every partition of the topic has a live leader', 60_000);
  await produce(url(x), 10, 5);
  phase('await produce(url(x), 10, 5);');
  await until(async () => {
    await Promise.all([a.step(), b.step()]);
    return seen().size === PARTITIONS * 15 ? true : undefined;
  }, 'the group carries on and reads the new records', 60_000);
  const again = [...a.delivered.slice(aBefore), ...b.delivered.slice(bBefore)].filter((d) => d.offset < 10);
  assert.deepEqual(again, [], 'the members resume from the committed offsets, not from the earliest');
  await until(async () => ((await a.step()) && (await b.step()) ? true : undefined), 'a commit of both members on the new coordinator');
  assert.deepEqual(await committed(url(x)), new Map([0, 1, 2, 3].map((p) => [p, 15])));
});
