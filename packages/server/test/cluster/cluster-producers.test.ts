/**
 * Idempotent producers in a cluster: three `webka start` brokers on a private etcd. A producer id
 * is the cluster's, not one broker's: no two brokers hand out the same id (two producers sharing
 * an id and sequence would have the second one's records taken for retries of the first's and
 * dropped), any leader accepts an id that any broker issued, and a named producer has one id and
 * one epoch sequence on every broker, so asking for it on another broker fences the old holder.
 * A request whose records go to partitions of different leaders is split by leader by the broker
 * that receives it, and answered as one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RecordBatchBuilder, RECORD_BATCH_CONTENT_TYPE, produceBody } from '@webka/protocol';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster producer tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster;

before(async () => {
  if (missing !== null) return;
  // a killed broker's registration lapses after 2 s
  cluster = await startCluster('/producers', { WEBKA_COORDINATOR_LEASE_SECONDS: '2' });
  await Promise.all([1, 2, 3].map((n) => cluster.start(n)));
  await untilBrokers(cluster.brokers.get(1)!, 3);
});
after(async () => {
  await cluster?.stop();
});

const url = (n: number): string => cluster.brokers.get(n)!.url;
const NODES = [1, 2, 3];

async function producer(n: number, name?: string): Promise<{ producerId: number; producerEpoch: number }> {
  const r = await postJson(`${url(n)}/v1/clusters/default/producers`, name === undefined ? {} : { name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Creates a topic of `partitions` partitions, RF 3, and waits until each has a leader with all three in sync; answers the leaders. */
async function topic(name: string, partitions: number): Promise<number[]> {
  const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name, partitions, replicationFactor: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return until(async () => {
    const r = await getJson(`${url(1)}/v1/clusters/default/topics/${name}`);
    const parts = r.body?.partitionInfo as Array<{ leader: number; isr: number[] }> | undefined;
    return r.status === 200 && parts!.every((p) => p.leader > 0 && p.isr.length === 3) ? parts!.map((p) => p.leader) : undefined;
  }, `topic ${name} has leaders with 3 in sync`);
}

async function values(name: string, partition: number): Promise<string[]> {
  const r = await getJson(`${url(1)}/v1/clusters/default/topics/${name}/partitions/${partition}/records?offset=0&maxRecords=1000`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.records.map((x: { value: string }) => x.value);
}

test('no two brokers hand out the same producer id, and asking again after a restart gives a new one', opts, async () => {
  const ids: number[] = [];
  for (let round = 0; round < 3; round++) {
    const got = await Promise.all(NODES.map((n) => producer(n)));
    for (const p of got) {
      assert.equal(p.producerEpoch, 0);
      ids.push(p.producerId);
    }
  }
  assert.equal(new Set(ids).size, ids.length, `ids handed out: ${ids.join(', ')}`);

  // a broker that restarts does not hand out again the ids it gave before it stopped
  await cluster.kill(2);
  await untilBrokers(cluster.brokers.get(1)!, 2);
  await cluster.start(2);
  await untilBrokers(cluster.brokers.get(1)!, 3);
  const after = await producer(2);
  assert.ok(!ids.includes(after.producerId), `id ${after.producerId} was handed out before the restart`);
});

test('producers whose ids came from different brokers write the same partition, each once per sequence', opts, async () => {
  const [leader] = await topic('shared', 1);
  const others = NODES.filter((n) => n !== leader);
  // one producer from each broker: before ids were the cluster's, two of them got the same id,
  // and the leader took the second one's sequence 0 for a retry of the first one's
  const writers = await Promise.all(NODES.map(async (n) => ({ n, ...(await producer(n)) })));
  for (const w of writers) {
    for (const [seq, via] of [leader, ...others].entries()) {
      const body = { producerId: w.producerId, producerEpoch: w.producerEpoch, sequence: seq, records: [{ value: `from-${w.n}-seq-${seq}`, partition: 0 }] };
      const first = await postJson(`${url(via)}/v1/clusters/default/topics/shared/records?acks=all`, body);
      assert.equal(first.status, 200, `producer from broker ${w.n} through broker ${via}: ${JSON.stringify(first.body)}`);
      // the retry, through yet another broker, is answered with the first attempt's offset and not stored again
      const retry = await postJson(`${url(others[0])}/v1/clusters/default/topics/shared/records?acks=all`, body);
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.equal(retry.body.records[0].offset, first.body.records[0].offset);
    }
  }
  const stored = await values('shared', 0);
  const expected = writers.flatMap((w) => [0, 1, 2].map((seq) => `from-${w.n}-seq-${seq}`));
  assert.deepEqual([...stored].sort(), [...expected].sort(), 'each record once, none dropped as a duplicate of another producer');

  // an id no broker issued is refused by the leader, directly or forwarded, and nothing is stored
  const unknown = Math.max(...writers.map((w) => w.producerId)) + 1_000_000;
  for (const via of NODES) {
    const r = await postJson(`${url(via)}/v1/clusters/default/topics/shared/records`, { producerId: unknown, producerEpoch: 0, sequence: 0, records: [{ value: 'forged', partition: 0 }] });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'PRODUCER_NOT_FOUND');
  }
  assert.equal((await values('shared', 0)).length, expected.length);
});

test('a named producer has one id on every broker, and asking for it on another broker fences the old epoch everywhere', opts, async () => {
  const leaders = await topic('named', 3);
  const first = await producer(1, 'billing');
  const second = await producer(2, 'billing');
  assert.equal(second.producerId, first.producerId, 'the same name is the same producer on another broker');
  assert.equal(second.producerEpoch, first.producerEpoch + 1);
  const third = await producer(3, 'billing');
  assert.deepEqual(third, { producerId: first.producerId, producerEpoch: first.producerEpoch + 2 });

  // every partition's leader refuses the fenced epochs and takes the current one, whichever broker is asked
  for (let p = 0; p < 3; p++) {
    for (const old of [first, second]) {
      for (const via of NODES) {
        const r = await postJson(`${url(via)}/v1/clusters/default/topics/named/records`, { ...old, sequence: 0, records: [{ value: `stale-${p}`, partition: p }] });
        assert.equal(r.status, 409, `epoch ${old.producerEpoch} to partition ${p} (leader ${leaders[p]}) through broker ${via}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'PRODUCER_FENCED');
      }
    }
    const ok = await postJson(`${url(NODES[p])}/v1/clusters/default/topics/named/records`, { ...third, sequence: p, records: [{ value: `current-${p}`, partition: p }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  }
  // a higher epoch than any broker issued is refused too
  const ahead = await postJson(`${url(1)}/v1/clusters/default/topics/named/records`, { producerId: third.producerId, producerEpoch: third.producerEpoch + 1, sequence: 3, records: [{ value: 'ahead', partition: 0 }] });
  assert.equal(ahead.status, 409, JSON.stringify(ahead.body));
  for (let p = 0; p < 3; p++) assert.deepEqual(await values('named', p), [`current-${p}`]);

  // many brokers asking for one name at once: every answer is a distinct epoch of the one id
  const racing = await Promise.all([...NODES, ...NODES].map((n) => producer(n, 'contended')));
  assert.equal(new Set(racing.map((r) => r.producerId)).size, 1);
  assert.deepEqual(racing.map((r) => r.producerEpoch).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
});

test('a broker that leads a partition again judges its producers from the log it replicated meanwhile, not from what it saw before', opts, async () => {
  const [first] = await topic('moves', 1);
  const w = await producer(2);
  let sequence = 0;
  const write = async (via: number, seq = sequence++): Promise<{ status: number; body: any }> =>
    postJson(`${url(via)}/v1/clusters/default/topics/moves/records?acks=all`, { ...w, sequence: seq, records: [{ value: `seq-${seq}`, partition: 0 }] });
  const leaderIs = (want: (leader: number, isr: number[]) => boolean, what: string): Promise<number> =>
    until(async () => {
      const p = (await getJson(`${url(1)}/v1/clusters/default/topics/moves`)).body?.partitionInfo?.[0];
      return p !== undefined && p.leader > 0 && want(p.leader, p.isr) ? (p.leader as number) : undefined;
    }, what);

  for (let i = 0; i < 3; i++) assert.equal((await write(first)).status, 200);
  // draining the leader moves the leadership away; the new leader takes sequences 3 to 5
  assert.equal((await postJson(`${url(first)}/v1/brokers/${first}/drain`, {})).status, 202);
  const second = await leaderIs((l) => l !== first, 'the leadership leaves the drained broker');
  const offsets: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await write(second);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    offsets.push(r.body.records[0].offset);
  }
  // the first leader comes back into the ISR and is made leader again
  const undrain = await fetch(`${url(first)}/v1/brokers/${first}/drain`, { method: 'DELETE' });
  assert.ok(undrain.ok, `undrain: ${undrain.status}`);
  await leaderIs((_, isr) => isr.includes(first), 'the first leader is back in the ISR');
  await until(async () => {
    await postJson(`${url(first)}/v1/preferred-leader-election`, { cluster: 'default', topic: 'moves', partition: 0 });
    const p = (await getJson(`${url(1)}/v1/clusters/default/topics/moves`)).body?.partitionInfo?.[0];
    return p?.leader === first ? true : undefined;
  }, 'the first leader leads again');

  // before, it still expected sequence 3 (the last it wrote itself) and refused 6 as skipping ahead
  const retry = await write(first, 5);
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal(retry.body.records[0].offset, offsets[2], 'the retry of sequence 5 is answered with its offset, not stored again');
  const next = await write(first);
  assert.equal(next.status, 200, JSON.stringify(next.body));
  assert.deepEqual(await values('moves', 0), ['seq-0', 'seq-1', 'seq-2', 'seq-3', 'seq-4', 'seq-5', 'seq-6']);
});

test('a request whose records go to partitions of different leaders is written on each leader and answered in its order', opts, async () => {
  const leaders = await topic('spread', 3);
  assert.ok(new Set(leaders).size > 1, `the partitions have different leaders: ${leaders.join(', ')}`);
  const stored = async (): Promise<string[][]> => Promise.all([0, 1, 2].map((p) => values('spread', p)));

  // keyed records through every broker: each answer names where its record is, and it is there
  const sent: string[] = [];
  for (const via of NODES) {
    const records = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: `via${via}-${i}` }));
    const r = await postJson(`${url(via)}/v1/clusters/default/topics/spread/records?acks=all`, { records });
    assert.equal(r.status, 200, `through broker ${via}: ${JSON.stringify(r.body)}`);
    assert.equal(new Set(r.body.records.map((x: { partition: number }) => x.partition)).size, 3, 'the keys spread over every partition');
    const now = await stored();
    r.body.records.forEach((x: { partition: number; offset: number }, i: number) => assert.equal(now[x.partition][x.offset], records[i].value, `record ${i} through broker ${via}`));
    sent.push(...records.map((x) => x.value));
  }

  // an idempotent producer spreading every request over the partitions: each retry, through
  // another broker, is answered with the first offsets, and nothing is stored twice
  const w = await producer(3);
  for (let seq = 0; seq < 6; seq++) {
    const records = [0, 1, 2].map((p) => ({ value: `idem-${seq}-${p}`, partition: p }));
    const body = { ...w, sequence: seq, records };
    const first = await postJson(`${url(NODES[seq % 3])}/v1/clusters/default/topics/spread/records?acks=all`, body);
    assert.equal(first.status, 200, `sequence ${seq}: ${JSON.stringify(first.body)}`);
    const retry = await postJson(`${url(NODES[(seq + 1) % 3])}/v1/clusters/default/topics/spread/records?acks=all`, body);
    assert.equal(retry.status, 200, `retry of ${seq}: ${JSON.stringify(retry.body)}`);
    assert.deepEqual(retry.body.records.map((x: { offset: number }) => x.offset), first.body.records.map((x: { offset: number }) => x.offset));
    sent.push(...records.map((x) => x.value));
  }

  // a binary body, one batch per partition, split the same way
  const frames = [0, 1, 2].map((p) => {
    const b = new RecordBatchBuilder();
    b.append(null, `bin-${p}`, Date.now());
    return b.finish(p);
  });
  const bin = await fetch(`${url(NODES[0])}/v1/clusters/default/topics/spread/records?acks=all`, { method: 'POST', headers: { 'content-type': RECORD_BATCH_CONTENT_TYPE }, body: produceBody(frames) });
  const binBody = (await bin.json()) as { partitions: Array<{ partition: number; baseOffset: number; count: number }> };
  assert.equal(bin.status, 200, JSON.stringify(binBody));
  const afterBin = await stored();
  for (const x of binBody.partitions) assert.equal(afterBin[x.partition][x.baseOffset], `bin-${x.partition}`);
  sent.push('bin-0', 'bin-1', 'bin-2');

  // one record that its leader would refuse (a partition the topic lacks, a bad timestamp): nothing is written anywhere
  for (const bad of [{ value: 'nowhere', partition: 7 }, { value: 'bad-time', partition: 2, timestamp: -5 }]) {
    const r = await postJson(`${url(NODES[1])}/v1/clusters/default/topics/spread/records`, { records: [{ value: 'ok-0', partition: 0 }, { value: 'ok-1', partition: 1 }, bad] });
    assert.ok(r.status === 404 || r.status === 422, JSON.stringify(r.body));
  }
  const all = (await stored()).flat();
  assert.deepEqual([...all].sort(), [...sent].sort(), 'every record once, and none of the refused requests');
});
