/**
 * HTTP transactions on a cluster of three `webka start` brokers and a private etcd. Topics have
 * three replicas, min.insync.replicas 2, and six partitions, so their leaders differ. A
 * transactional id's coordinator is the leader of its `__transaction_state` partition; every
 * broker forwards the id's calls and its transactional produce there, the coordinator writes the
 * markers on the partitions other brokers lead, and a transaction's consumer offsets go to the
 * group's coordinator (the leader of the group's `__consumer_offsets` partition) on commit.
 *
 * Checked through every broker: a commit makes a transaction's records (produced through two
 * other brokers, each request spanning every leader) visible to read_committed on every
 * partition, in order, at the offsets the produce answered; an abort's records are never
 * returned and the last stable offset passes its marker; an open transaction holds
 * read_committed back at its first offset; transactional offsets reach the group only on commit,
 * never on abort; a new epoch fences the old one everywhere; a share forged as the coordinator's
 * (its headers sent by a client) is refused by the leader; and after the coordinator is killed
 * (kill -9) the new leader of its partition aborts the open transaction at its timeout while a
 * commit acknowledged before the kill stays visible.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { needEtcd } from '../support/etcd.js';
import { startCluster, until, untilBrokers, type TestCluster } from '../support/cluster.js';
import { groupPartition, OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS } from '../../src/groups/offset-store.js';
import { TXN_TOPIC, TXN_TOPIC_PARTITIONS } from '../../src/transactions/txn-state-log.js';
import { RecordBatchBuilder, RECORD_BATCH_CONTENT_TYPE } from '@webka/protocol';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster transaction tests: ${missing}`);
const opts = { skip: missing ?? false, timeout: 120_000 };

const NODES = [1, 2, 3];
const PARTITIONS = 6;
const ALL = Array.from({ length: PARTITIONS }, (_, p) => p);
const C = '/v1/clusters/default';

let cluster: TestCluster;

before(async () => {
  if (missing !== null) return;
  // a killed broker's registration lapses after 2 s; a dead follower leaves the ISR after 3 s
  cluster = await startCluster('/transactions', { WEBKA_COORDINATOR_LEASE_SECONDS: '2', WEBKA_REPLICA_LAG_TIME_MAX_MS: '3000' });
  await Promise.all(NODES.map((n) => cluster.start(n)));
  await untilBrokers(cluster.brokers.get(1)!, 3);
});
after(async () => {
  await cluster?.stop();
});

const live = (): number[] => NODES.filter((n) => cluster.brokers.has(n));
const url = (n: number): string => {
  const b = cluster.brokers.get(n);
  if (b === undefined) throw new Error(`broker ${n} is not running`);
  return b.url;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: any;
}

/** One HTTP call to broker n, bounded (a hung request fails the call instead of the file). */
async function call(n: number, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  const r = await fetch(`${url(n)}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  let parsed: any = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: r.status, body: parsed };
}
const get = (n: number, path: string): Promise<Answer> => call(n, 'GET', path);
const post = (n: number, path: string, body?: unknown): Promise<Answer> => call(n, 'POST', path, body);
const show = (a: Answer): string => `${a.status} ${JSON.stringify(a.body)}`;

/** Repeats `send` (a request that must be written once: same body each time) while it answers 5xx or cannot connect; answers the first other answer. */
function retrying(what: string, send: () => Promise<Answer>, ms = 30_000): Promise<Answer> {
  return until(async () => {
    const a = await send();
    if (a.status >= 500) throw new Error(`${what}: ${show(a)}`);
    return a;
  }, what, ms);
}

/**
 * Polls `probe` until it answers `want` (deep equality); fails with the diff of the last answer.
 * `never`, when given, is asserted on every answer, so a forbidden state seen on the way fails
 * at once. A probe that throws a plain Error (a refused request) is retried.
 */
async function settle<T>(what: string, probe: () => Promise<T>, want: T, never?: (got: T) => void, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: { got: T } | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      const got = await probe();
      last = { got };
      never?.(got);
      if (isDeepStrictEqual(got, want)) return;
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) break;
    await sleep(150);
  }
  if (last === undefined) assert.fail(`${what}: no answer in ${ms} ms (last error: ${(lastError as Error)?.message})`);
  assert.deepEqual(last.got, want, `${what}: not reached in ${ms} ms`);
}

/** Creates a topic of `partitions` partitions, 3 replicas, min.insync.replicas 2; waits until every broker describes it with a leader and 3 in sync per partition; answers the leaders. */
async function topic(name: string, partitions = PARTITIONS): Promise<number[]> {
  const created = await post(live()[0], `${C}/topics`, { name, partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, show(created));
  return until(async () => {
    const views = await Promise.all(live().map((n) => get(n, `${C}/topics/${name}`)));
    if (views.some((v) => v.status !== 200)) return undefined;
    const parts = views[0].body.partitionInfo as { leader: number; isr: number[] }[];
    return parts.length === partitions && parts.every((p) => p.leader > 0 && p.isr.length === 3) ? parts.map((p) => p.leader) : undefined;
  }, `topic ${name} has a leader and 3 replicas in sync per partition on every broker`);
}

/** The leader of the partition of `internal` that `key` hashes to, as every live broker names it (a live broker). */
async function leaderFor(internal: string, count: number, key: string, what: string, ms = 30_000): Promise<{ leader: number; replicas: number[] }> {
  const partition = groupPartition(key, count);
  return until(
    async () => {
      const views = await Promise.all(live().map((n) => get(n, `${C}/topics/${internal}`)));
      const found = views.map((v) => (v.body?.partitionInfo as { partition: number; leader: number; replicas: number[] }[] | undefined)?.find((x) => x.partition === partition));
      const first = found[0];
      if (first === undefined || !cluster.brokers.has(first.leader)) return undefined;
      return found.every((f) => f?.leader === first.leader) ? { leader: first.leader, replicas: first.replicas } : undefined;
    },
    `${what}: every live broker names one live leader of ${internal} partition ${partition} (key "${key}")`,
    ms,
  );
}

interface Txn {
  id: string;
  producerId: number;
  producerEpoch: number;
  /** Next sequence per topic: counts requests per topic across the epoch's transactions, from 0 for each new epoch. */
  sequence: Map<string, number>;
}

async function init(n: number, id: string, timeoutMs?: number): Promise<Txn> {
  const r = await post(n, `${C}/transactions`, { transactionalId: id, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  assert.equal(r.status, 200, `init ${id} through broker ${n}: ${show(r)}`);
  assert.equal(typeof r.body.producerId, 'number');
  assert.equal(typeof r.body.producerEpoch, 'number');
  return { id, producerId: r.body.producerId, producerEpoch: r.body.producerEpoch, sequence: new Map() };
}

function produceBody(t: Txn, topicName: string, records: { partition: number; value: string }[]): unknown {
  const sequence = t.sequence.get(topicName) ?? 0;
  t.sequence.set(topicName, sequence + 1);
  return { transactionalId: t.id, producerId: t.producerId, producerEpoch: t.producerEpoch, sequence, records };
}

/** Transactional produce of `records` through broker n (one request); answers where each record is, checked against the request. */
async function send(n: number, t: Txn, topicName: string, records: { partition: number; value: string }[], retry = false): Promise<{ partition: number; offset: number }[]> {
  const body = produceBody(t, topicName, records);
  const path = `${C}/topics/${topicName}/records?acks=all`;
  const r = retry ? await retrying(`produce of ${t.id} to ${topicName} through broker ${n}`, () => post(n, path, body)) : await post(n, path, body);
  assert.equal(r.status, 200, `transactional produce of ${t.id} to ${topicName} through broker ${n}: ${show(r)}`);
  const got = r.body.records as { partition: number; offset: number }[];
  assert.deepEqual(got.map((x) => x.partition), records.map((x) => x.partition), 'the answer names each record\'s partition, in the request\'s order');
  return got.map((x) => ({ partition: x.partition, offset: x.offset }));
}

async function end(n: number, t: Txn, kind: 'commit' | 'abort', retry = false): Promise<any> {
  const path = `${C}/transactions/${t.id}/${kind}`;
  const body = { producerId: t.producerId, producerEpoch: t.producerEpoch };
  const r = retry ? await retrying(`${kind} of ${t.id} through broker ${n}`, () => post(n, path, body)) : await post(n, path, body);
  assert.equal(r.status, 200, `${kind} of ${t.id} through broker ${n}: ${show(r)}`);
  assert.equal(r.body.state, kind === 'commit' ? 'CompleteCommit' : 'CompleteAbort', `${kind} answer: ${show(r)}`);
  return r.body;
}

async function describeTxn(n: number, id: string): Promise<any> {
  const r = await get(n, `${C}/transactions/${id}`);
  if (r.status !== 200) throw new Error(`describe ${id} through broker ${n}: ${show(r)}`);
  return r.body;
}

/** Records of `value` for every partition: `${prefix}-p<partition>-<i>`. */
function spread(prefix: string, perPartition = 2): { partition: number; value: string }[] {
  return ALL.flatMap((partition) => Array.from({ length: perPartition }, (_, i) => ({ partition, value: `${prefix}-p${partition}-${i}` })));
}

interface Read {
  records: [number, string][];
  lastStableOffset: number;
  highWatermark: number;
  nextOffset: number;
}

/** A fetch of partition p through broker n; throws a plain Error (retried by settle) when refused. */
async function read(n: number, topicName: string, p: number, isolation: 'read_committed' | 'read_uncommitted', offset = 0): Promise<Read> {
  const r = await get(n, `${C}/topics/${topicName}/partitions/${p}/records?offset=${offset}&maxRecords=10000&isolation=${isolation}`);
  if (r.status !== 200) throw new Error(`fetch ${topicName}/${p} (${isolation}) through broker ${n}: ${show(r)}`);
  return { records: r.body.records.map((x: { offset: number; value: string }) => [x.offset, x.value]), lastStableOffset: r.body.lastStableOffset, highWatermark: r.body.highWatermark, nextOffset: r.body.nextOffset };
}

/** Every partition through every live broker: `broker n` -> per partition [offset, value] pairs. */
async function view(topicName: string, isolation: 'read_committed' | 'read_uncommitted', from: number[] = ALL.map(() => 0)): Promise<Record<string, [number, string][][]>> {
  const out: Record<string, [number, string][][]> = {};
  for (const n of live()) out[`broker ${n}`] = await Promise.all(ALL.map(async (p) => (await read(n, topicName, p, isolation, from[p])).records));
  return out;
}

/** Whether each partition's read_committed stops below its high watermark, through every live broker (false everywhere once nothing is open). */
async function held(topicName: string): Promise<Record<string, boolean[]>> {
  const out: Record<string, boolean[]> = {};
  for (const n of live()) out[`broker ${n}`] = await Promise.all(ALL.map(async (p) => {
    const r = await read(n, topicName, p, 'read_committed');
    return r.lastStableOffset < r.highWatermark;
  }));
  return out;
}

/** No record on any partition. */
const nothing = (): [number, string][][] => ALL.map(() => []);

/** The same expected answer through every live broker. */
const everywhere = <T>(want: T): Record<string, T> => Object.fromEntries(live().map((n) => [`broker ${n}`, want]));

/** Expected pairs per partition from produce answers and the records sent. */
function placed(sent: { partition: number; value: string }[][], answers: { partition: number; offset: number }[][]): [number, string][][] {
  const out: [number, string][][] = ALL.map(() => []);
  sent.forEach((records, i) => records.forEach((rec, j) => out[rec.partition].push([answers[i][j].offset, rec.value])));
  for (const list of out) list.sort((a, b) => a[0] - b[0]);
  return out;
}

/** Fails at once when any read contains a value starting with one of `prefixes`. */
const forbidding = (prefixes: string[], where: string) => (got: Record<string, [number, string][][]>): void => {
  for (const [broker, parts] of Object.entries(got)) {
    parts.forEach((pairs, p) => {
      const bad = pairs.filter(([, v]) => prefixes.some((x) => v.startsWith(x)));
      assert.deepEqual(bad, [], `${where}: ${broker}, partition ${p} returned records it must never return (read_committed)`);
    });
  }
};

test('a transaction produced through two brokers, each request spanning every leader, commits on every partition and reads the same through every broker', opts, async () => {
  const leaders = await topic('tx-spread');
  assert.ok(new Set(leaders).size >= 2, `the partitions have different leaders: ${leaders.join(', ')}`);
  const [a, b, c] = NODES;
  const t = await init(a, 'tx-spread');
  assert.equal((await describeTxn(c, 'tx-spread')).state, 'Empty', 'a new id is Empty through another broker');

  const first = spread('one');
  const firstAt = await send(b, t, 'tx-spread', first);
  // open: read_committed returns nothing and stops at offset 0 on every partition, through every broker
  for (const n of live()) {
    for (const p of ALL) {
      const r = await read(n, 'tx-spread', p, 'read_committed');
      assert.deepEqual(r.records, [], `open transaction: broker ${n}, partition ${p}, read_committed`);
      assert.equal(r.lastStableOffset, 0, `open transaction: broker ${n}, partition ${p}: the LSO is the transaction's first offset`);
    }
  }
  const second = spread('two');
  const secondAt = await send(c, t, 'tx-spread', second);
  const ongoing = await describeTxn(a, 'tx-spread');
  assert.equal(ongoing.state, 'Ongoing');
  assert.deepEqual(
    [...ongoing.partitions].sort((x: any, y: any) => x.partition - y.partition),
    ALL.map((partition) => ({ topic: 'tx-spread', partition })),
    'every partition joined the transaction at its coordinator, whichever broker split the produce',
  );
  const want = placed([first, second], [firstAt, secondAt]);
  await settle('read_uncommitted shows the open transaction on every partition through every broker', () => view('tx-spread', 'read_uncommitted'), everywhere(want));
  assert.deepEqual(await view('tx-spread', 'read_committed'), everywhere(nothing()), 'read_committed shows nothing of the open transaction');

  const done = await end(b, t, 'commit');
  assert.deepEqual(done.partitions, []);
  await settle('read_committed shows exactly the committed records, in order, at their offsets, through every broker', () => view('tx-spread', 'read_committed'), everywhere(want));
  assert.deepEqual(await view('tx-spread', 'read_uncommitted'), everywhere(want), 'read_uncommitted shows the same records (markers are never records)');
  await settle('no partition holds read_committed back once the transaction committed (the markers are below the high watermark)', () => held('tx-spread'), everywhere(ALL.map(() => false)));
  for (const n of live()) {
    const d = await describeTxn(n, 'tx-spread');
    assert.equal(d.state, 'CompleteCommit', `describe through broker ${n}`);
    assert.equal(d.producerId, t.producerId);
    assert.equal(d.producerEpoch, t.producerEpoch);
  }
  // a repeated commit (a retry, through another broker) answers as the first did; the other ending is refused
  assert.equal((await end(c, t, 'commit')).state, 'CompleteCommit');
  const other = await post(a, `${C}/transactions/tx-spread/abort`, { producerId: t.producerId, producerEpoch: t.producerEpoch });
  assert.equal(other.status, 409, show(other));
  assert.equal(other.body.error.code, 'INVALID_TXN_STATE');
});

test('an aborted transaction is never returned by read_committed on any broker, its markers are passed, and the next commit is visible', opts, async () => {
  await topic('tx-abort');
  const [a, b, c] = NODES;
  const t = await init(b, 'tx-abort');
  const kept = spread('kept');
  const keptAt = await send(c, t, 'tx-abort', kept);
  await end(a, t, 'commit');

  const dropped1 = spread('dropped', 1);
  const dropped2 = spread('dropped-again', 1);
  const droppedAt = [await send(a, t, 'tx-abort', dropped1), await send(b, t, 'tx-abort', dropped2)];
  const aborted = await end(c, t, 'abort');
  assert.equal(aborted.state, 'CompleteAbort');
  for (const n of live()) assert.equal((await describeTxn(n, 'tx-abort')).state, 'CompleteAbort', `describe through broker ${n}`);

  const forbid = forbidding(['dropped'], 'after the abort');
  await settle('read_committed shows the first (committed) transaction only', () => view('tx-abort', 'read_committed'), everywhere(placed([kept], [keptAt])), forbid);
  await settle('read_committed is not held back by the aborted transaction', () => held('tx-abort'), everywhere(ALL.map(() => false)));
  // the last stable offset lies past the abort marker (the aborted records' last offset + 1)
  const ends: number[] = [];
  for (const p of ALL) {
    const lastAborted = Math.max(...droppedAt.flat().filter((x) => x.partition === p).map((x) => x.offset));
    for (const n of live()) {
      const r = await read(n, 'tx-abort', p, 'read_committed');
      assert.ok(r.lastStableOffset >= lastAborted + 2, `broker ${n}, partition ${p}: LSO ${r.lastStableOffset} past the abort marker at ${lastAborted + 1}`);
      assert.equal(r.nextOffset, r.lastStableOffset, `broker ${n}, partition ${p}: a read_committed fetch from 0 goes on to the LSO (skipping the aborted range)`);
      ends[p] = r.nextOffset;
    }
  }
  // a read_committed fetch at the end is not stuck: the next (third) transaction is visible from there
  const third = spread('third');
  const thirdAt = await send(a, t, 'tx-abort', third);
  await end(b, t, 'commit');
  await settle('read_committed from the end reached after the abort returns the third transaction', () => view('tx-abort', 'read_committed', ends), everywhere(placed([third], [thirdAt])), forbid);
  await settle('read_committed from 0 returns the first and third transactions', () => view('tx-abort', 'read_committed'), everywhere(placed([kept, third], [keptAt, thirdAt])), forbid);
  await settle('read_uncommitted returns all three', () => view('tx-abort', 'read_uncommitted'), everywhere(placed([kept, dropped1, dropped2, third], [keptAt, ...droppedAt, thirdAt])));
});

test('while a transaction is open, read_committed on every broker stops at its first offset: earlier commits visible, it and later records not', opts, async () => {
  await topic('tx-open');
  const [a, b, c] = NODES;
  const earlier = await init(a, 'tx-open-earlier');
  const early = spread('early');
  const earlyAt = await send(b, earlier, 'tx-open', early);
  await end(c, earlier, 'commit');

  const pending = await init(c, 'tx-open-pending');
  const open = spread('open');
  const openAt = await send(a, pending, 'tx-open', open);
  const plain = ALL.map((partition) => ({ partition, value: `plain-p${partition}` }));
  const plainAnswer = await post(b, `${C}/topics/tx-open/records?acks=all`, { records: plain });
  assert.equal(plainAnswer.status, 200, show(plainAnswer));
  const plainAt = (plainAnswer.body.records as { partition: number; offset: number }[]).map((x) => ({ partition: x.partition, offset: x.offset }));

  const firstOpen = ALL.map((p) => Math.min(...openAt.filter((x) => x.partition === p).map((x) => x.offset)));
  const committedSoFar = placed([early], [earlyAt]);
  const forbid = forbidding(['open', 'plain'], 'while the transaction is open');
  // three rounds a little apart: the open transaction keeps holding every partition back
  for (let round = 0; round < 3; round++) {
    const got = await view('tx-open', 'read_committed');
    forbid(got);
    assert.deepEqual(got, everywhere(committedSoFar), `round ${round}: read_committed shows the earlier commit only`);
    for (const n of live()) {
      for (const p of ALL) {
        const r = await read(n, 'tx-open', p, 'read_committed');
        assert.equal(r.lastStableOffset, firstOpen[p], `round ${round}: broker ${n}, partition ${p}: the LSO is the open transaction's first offset`);
      }
    }
    await sleep(300);
  }
  const everything = placed([early, open, plain], [earlyAt, openAt, plainAt]);
  await settle('read_uncommitted shows the open transaction and the plain records after it', () => view('tx-open', 'read_uncommitted'), everywhere(everything));

  await end(b, pending, 'commit');
  await settle('after the commit read_committed shows every record in offset order', () => view('tx-open', 'read_committed'), everywhere(everything));
});

test('transactional consumer offsets reach the group (another coordinator) only on commit, never on abort; a new epoch fences the old producer everywhere', opts, async () => {
  await topic('tx-in', 2);
  await topic('tx-out');
  for (const p of [0, 1]) {
    const r = await post(live()[0], `${C}/topics/tx-in/records?acks=all`, { records: Array.from({ length: 5 }, (_, i) => ({ partition: p, value: `in-${p}-${i}` })) });
    assert.equal(r.status, 200, show(r));
  }
  const id = 'tx-eos';
  let t = await init(1, id);
  const txnCoordinator = (await leaderFor(TXN_TOPIC, TXN_TOPIC_PARTITIONS, id, 'the transaction coordinator')).leader;

  // the first group call defines __consumer_offsets; pick a group whose coordinator is another broker
  const probe = await get(1, `${C}/groups/tx-probe/offsets`);
  assert.equal(probe.status, 200, show(probe));
  const offsetsLeaders = await until(async () => {
    const d = await get(1, `${C}/topics/${OFFSETS_TOPIC}`);
    const info = d.body?.partitionInfo as { partition: number; leader: number }[] | undefined;
    return info !== undefined && info.length === OFFSETS_TOPIC_PARTITIONS && info.every((x) => x.leader > 0) ? info.map((x) => x.leader) : undefined;
  }, 'every __consumer_offsets partition has a leader');
  const group = Array.from({ length: 200 }, (_, i) => `eos-${i}`).find((g) => offsetsLeaders[groupPartition(g, OFFSETS_TOPIC_PARTITIONS)] !== txnCoordinator);
  assert.ok(group !== undefined, `a group whose coordinator is not the transaction coordinator ${txnCoordinator} (offsets leaders ${offsetsLeaders.join(', ')})`);
  const groupCoordinator = offsetsLeaders[groupPartition(group, OFFSETS_TOPIC_PARTITIONS)];
  const third = NODES.find((n) => n !== txnCoordinator && n !== groupCoordinator)!;
  const G = `${C}/groups/${group}`;

  const joined = await post(third, `${G}/members`, { topics: ['tx-in'], autoCommit: false, autoOffsetReset: 'earliest', sessionTimeoutMs: 300_000 });
  assert.equal(joined.status, 201, show(joined));
  const memberId = joined.body.memberId as string;
  const generation = await until(async () => {
    const h = await post(third, `${G}/members/${memberId}/heartbeat`, {});
    return h.status === 200 && h.body.assignment?.length === 2 ? (h.body.generation as number) : undefined;
  }, 'the only member is assigned both partitions of tx-in');

  /** The group's committed offsets of tx-in through every live broker (`tx-in/p` -> offset, none when not committed). */
  const committed = async (): Promise<Record<string, Record<string, number>>> => {
    const out: Record<string, Record<string, number>> = {};
    for (const n of live()) {
      const r = await get(n, `${G}/offsets`);
      if (r.status !== 200) throw new Error(`group offsets through broker ${n}: ${show(r)}`);
      out[`broker ${n}`] = Object.fromEntries((r.body.offsets as { topic: string; partition: number; committed: number | null }[]).filter((o) => o.topic === 'tx-in' && o.committed !== null).map((o) => [`tx-in/${o.partition}`, o.committed!]));
    }
    return out;
  };
  const offsets = (n: number, tx: Txn, list: [number, number][]): Promise<Answer> =>
    post(n, `${C}/transactions/${id}/offsets`, { producerId: tx.producerId, producerEpoch: tx.producerEpoch, groupId: group, generation, memberId, offsets: list.map(([partition, offset]) => ({ topic: 'tx-in', partition, offset })) });

  // T1: offsets (through the group's coordinator, not the transaction's) and output, then commit
  const o1 = await offsets(groupCoordinator, t, [[0, 3], [1, 2]]);
  assert.equal(o1.status, 204, `offsets through broker ${groupCoordinator}: ${show(o1)}`);
  const out1 = spread('out1', 1);
  const out1At = await send(third, t, 'tx-out', out1);
  const pendingState = await describeTxn(third, id);
  assert.equal(pendingState.state, 'Ongoing');
  assert.equal(pendingState.offsets.length, 2, `the coordinator keeps the offsets with the transaction: ${JSON.stringify(pendingState)}`);
  assert.deepEqual(await committed(), everywhere({}), 'offsets of an open transaction are invisible to the group');
  await sleep(500);
  assert.deepEqual(await committed(), everywhere({}), 'still invisible a little later');
  await end(txnCoordinator === 1 ? 2 : 1, t, 'commit');
  const afterCommit = { 'tx-in/0': 3, 'tx-in/1': 2 };
  await settle('the committed transaction\'s offsets are the group\'s, through every broker', committed, everywhere(afterCommit));
  await settle('its output is visible', () => view('tx-out', 'read_committed'), everywhere(placed([out1], [out1At])));

  // T2: aborted; its offsets never reach the group
  const o2 = await offsets(third, t, [[0, 5], [1, 5]]);
  assert.equal(o2.status, 204, show(o2));
  const out2 = spread('aborted-out', 1);
  const out2At = await send(groupCoordinator, t, 'tx-out', out2);
  await end(third, t, 'abort');
  assert.deepEqual(await committed(), everywhere(afterCommit), 'an aborted transaction\'s offsets are not the group\'s');
  // T3: commits an offset for partition 0 only; partition 1 must keep T1's offset, not T2's
  const o3 = await offsets(txnCoordinator, t, [[0, 4]]);
  assert.equal(o3.status, 204, show(o3));
  await end(groupCoordinator, t, 'commit');
  await settle('a later commit brings its own offsets, never the aborted ones', committed, everywhere({ 'tx-in/0': 4, 'tx-in/1': 2 }));
  assert.deepEqual(await view('tx-out', 'read_committed'), everywhere(placed([out1], [out1At])), 'the aborted output is not returned');

  // fencing: the old epoch left a transaction open; a new init (another broker) fences it everywhere and aborts it
  const zombie = spread('zombie', 1);
  const zombieAt = await send(groupCoordinator, t, 'tx-out', zombie);
  const old = t;
  t = await init(third, id);
  assert.equal(t.producerId, old.producerId, 'the same transactional id keeps its producer id');
  assert.equal(t.producerEpoch, old.producerEpoch + 1, 'a new init bumps the epoch');
  for (const n of live()) {
    const stale = await post(n, `${C}/topics/tx-out/records`, produceBody({ ...old, sequence: new Map(old.sequence) }, 'tx-out', ALL.map((partition) => ({ partition, value: `stale-p${partition}` }))));
    assert.equal(stale.status, 409, `fenced produce through broker ${n}: ${show(stale)}`);
    assert.equal(stale.body?.error?.code, 'PRODUCER_FENCED', `fenced produce through broker ${n}`);
    const commit = await post(n, `${C}/transactions/${id}/commit`, { producerId: old.producerId, producerEpoch: old.producerEpoch });
    assert.equal(commit.status, 409, `fenced commit through broker ${n}: ${show(commit)}`);
    assert.equal(commit.body?.error?.code, 'PRODUCER_FENCED', `fenced commit through broker ${n}`);
  }
  const staleOffsets = await offsets(groupCoordinator, old, [[0, 5]]);
  assert.equal(staleOffsets.status, 409, show(staleOffsets));
  assert.equal(staleOffsets.body?.error?.code, 'PRODUCER_FENCED');
  const fresh = spread('fresh', 1);
  const freshAt = await send(groupCoordinator, t, 'tx-out', fresh);
  await end(third, t, 'commit');
  await settle(
    'the fenced producer\'s open records are aborted; the new epoch\'s commit is visible',
    () => view('tx-out', 'read_committed'),
    everywhere(placed([out1, fresh], [out1At, freshAt])),
    forbidding(['zombie', 'stale', 'aborted-out'], 'after the fence'),
  );
  assert.deepEqual(await view('tx-out', 'read_uncommitted'), everywhere(placed([out1, out2, zombie, fresh], [out1At, out2At, zombieAt, freshAt])), 'no fenced produce was written');
  assert.deepEqual(await committed(), everywhere({ 'tx-in/0': 4, 'tx-in/1': 2 }), 'the fenced producer\'s offsets never reach the group');
});

test('a share forged as the coordinator\'s (its headers sent by a client) to a leader that does not coordinate the id is checked with the coordinator: refused, nothing written, nothing held open', opts, async () => {
  const name = 'tx-forged';
  const leaders = await topic(name);
  const t = await init(live()[0], 'tx-forged-id');
  const { leader: coordinator } = await leaderFor(TXN_TOPIC, TXN_TOPIC_PARTITIONS, t.id, 'forged share');
  const p = leaders.findIndex((l) => l !== coordinator);
  assert.ok(p >= 0, `some partition of ${name} is led by another broker than the coordinator (${coordinator}): ${leaders.join(',')}`);
  const b = new RecordBatchBuilder();
  b.append(null, Buffer.from('forged'), Date.now(), [], 0);
  const frame = b.finish(p, { producerId: t.producerId, producerEpoch: t.producerEpoch, baseSequence: 0, isTransactional: true });
  const r = await fetch(`${url(leaders[p])}${C}/topics/${name}/records?acks=all&transactionalId=${t.id}`, {
    method: 'POST',
    headers: { 'content-type': RECORD_BATCH_CONTENT_TYPE, 'x-webka-forwarded-by': String(coordinator), 'x-webka-split-share': '1', 'x-webka-txn-share': '1' },
    body: frame,
    signal: AbortSignal.timeout(30_000),
  });
  const answer = { status: r.status, body: await r.json() };
  assert.equal(answer.status, 409, `a forged share is refused: ${show(answer)}`);
  assert.equal(answer.body.error.code, 'INVALID_TXN_STATE', show(answer));
  // nothing stored, and read_committed is not held back by a transaction no coordinator knows of
  const after = await read(leaders[p], name, p, 'read_uncommitted');
  assert.deepEqual(after.records, [], 'nothing was written');
  // the same partition joins through the coordinator as usual, and commits
  await send(live()[1], t, name, [{ partition: p, value: 'real' }]);
  await end(live()[2], t, 'commit');
  await settle(`read_committed of ${name}/${p} on every broker`, async () => Promise.all(live().map(async (n) => (await read(n, name, p, 'read_committed')).records.map((x) => x[1]))), live().map(() => ['real']));
});

test('kill -9 of the transaction coordinator: the new leader of its partition aborts the open transaction at its timeout; a commit acknowledged before stays', opts, async () => {
  await topic('tx-failover');
  const openId = 'tx-failover-open';
  const doneId = Array.from({ length: 1000 }, (_, i) => `tx-failover-done-${i}`).find((x) => groupPartition(x, TXN_TOPIC_PARTITIONS) === groupPartition(openId, TXN_TOPIC_PARTITIONS))!;
  assert.ok(doneId !== undefined);

  const done = await init(2, doneId);
  const coordinator = await leaderFor(TXN_TOPIC, TXN_TOPIC_PARTITIONS, doneId, 'the coordinator of both ids');
  assert.equal(coordinator.replicas.length, 3, `the ${TXN_TOPIC} partition has 3 replicas: ${JSON.stringify(coordinator)}`);
  const [x, y] = NODES.filter((n) => n !== coordinator.leader);

  const kept = spread('kept');
  const keptAt = await send(x, done, 'tx-failover', kept);
  await end(y, done, 'commit');

  const open = await init(x, openId, 5000);
  const lost = spread('lost');
  const lostAt = await send(y, open, 'tx-failover', lost);
  const before = await describeTxn(x, openId);
  assert.equal(before.state, 'Ongoing');
  assert.equal(before.partitions.length, PARTITIONS);

  await cluster.kill(coordinator.leader);
  const next = await leaderFor(TXN_TOPIC, TXN_TOPIC_PARTITIONS, openId, 'a new transaction coordinator', 45_000);
  assert.notEqual(next.leader, coordinator.leader);

  await settle(
    'the open transaction is aborted by its timeout on the new coordinator (and its producer fenced), as every live broker describes it',
    async () => Object.fromEntries(await Promise.all(live().map(async (n) => {
      const d = await describeTxn(n, openId);
      return [`broker ${n}`, { state: d.state, producerEpoch: d.producerEpoch }];
    }))),
    everywhere({ state: 'CompleteAbort', producerEpoch: open.producerEpoch + 1 }),
    undefined,
    45_000,
  );
  for (const n of live()) assert.equal((await describeTxn(n, doneId)).state, 'CompleteCommit', `the commit acknowledged before the kill, described through broker ${n}`);

  const forbid = forbidding(['lost', 'stale'], 'after the failover');
  await settle('read_committed on the surviving brokers shows the acknowledged commit and nothing of the aborted transaction', () => view('tx-failover', 'read_committed'), everywhere(placed([kept], [keptAt])), forbid, 45_000);
  await settle('read_committed moves past the aborted transaction on every partition', () => held('tx-failover'), everywhere(ALL.map(() => false)), undefined, 45_000);
  assert.deepEqual(await view('tx-failover', 'read_uncommitted'), everywhere(placed([kept, lost], [keptAt, lostAt])), 'the acknowledged records of both transactions survive the kill (read_uncommitted)');

  const fenced = await retrying('fenced commit', () => post(x, `${C}/transactions/${openId}/commit`, { producerId: open.producerId, producerEpoch: open.producerEpoch }));
  assert.equal(fenced.status, 409, show(fenced));
  assert.equal(fenced.body?.error?.code, 'PRODUCER_FENCED');

  // the new coordinator carries on: a new epoch of the id commits, visible on every surviving broker
  const again = await retrying(`init ${openId} again`, () => post(y, `${C}/transactions`, { transactionalId: openId, timeoutMs: 30_000 }));
  assert.equal(again.status, 200, show(again));
  assert.ok(again.body.producerEpoch > open.producerEpoch + 1, `a new epoch after the timeout's: ${show(again)}`);
  const t: Txn = { id: openId, producerId: again.body.producerId, producerEpoch: again.body.producerEpoch, sequence: new Map() };
  const later = spread('later');
  const laterAt = await send(x, t, 'tx-failover', later, true);
  await end(y, t, 'commit', true);
  await settle('a transaction committed after the failover is visible on every surviving broker', () => view('tx-failover', 'read_committed'), everywhere(placed([kept, later], [keptAt, laterAt])), forbid);
});
