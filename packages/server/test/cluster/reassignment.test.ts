/**
 * Partition reassignment with real broker processes (four brokers, a private etcd): a partition
 * on [a,b,c] led by a is moved to [d,b,c] while acks=all producers run through every broker. The
 * new replica catches up and joins the ISR, leadership moves off a (to d), then a is removed and
 * its copy deleted. Afterwards every acknowledged record is read back from the leader, none twice,
 * and every new replica's copy holds the leader's bytes. Bad input changes nothing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping reassignment tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster | undefined;
after(async () => {
  const t0 = Date.now();
  await cluster?.stop();
  if (process.env.TIMING) console.error('after', Date.now() - t0);
});

interface PartitionView {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  logEndOffset: number;
  highWatermark: number;
}

test('reassignment under acks=all load: new replicas catch up, leadership moves, old replica removed, no acknowledged record lost', opts, async (t) => {
  const T0 = Date.now();
  const mark = (what: string): void => {
    if (process.env.TIMING) console.error(what, Date.now() - T0);
  };
  cluster = await startCluster('/reassign');
  const c = cluster;
  for (const n of [1, 2, 3, 4]) await c.start(n);
  const controller = await untilBrokers(c.brokers.get(1)!, 4);
  mark('started');
  const url = (n: number): string => c.brokers.get(n)!.url;
  const before = new Set(fs.readdirSync(path.join(c.dirs.get(1)!, 'logs')));

  // a topic on three of the four brokers, the controller among them (the broker paused below is not the controller)
  let name = '';
  let old: PartitionView | undefined;
  for (let i = 0; old === undefined || !old.replicas.includes(controller); i++) {
    assert.ok(i < 20, 'a topic with the controller among its replicas');
    name = `events-${i}`;
    const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    old = (created.body.partitionInfo as PartitionView[])[0];
  }
  const base = `/v1/clusters/default/topics/${name}`;
  const topic = async (n: number): Promise<PartitionView> => ((await getJson(`${url(n)}${base}`)).body.partitionInfo as PartitionView[])[0];
  const reassignUrl = (n: number): string => `${url(n)}${base}/partitions/0/reassignment`;
  const a = old!.leader;
  const [, b, c2] = old!.replicas;
  const d = [1, 2, 3, 4].find((n) => !old!.replicas.includes(n))!;
  for (const n of [1, 2, 3, 4]) await until(async () => ((await getJson(`${url(n)}${base}`)).status === 200 ? true : undefined), `broker ${n} has the topic`);

  // bad input: each is refused with a stable code and the partition is left as it was
  for (const [replicas, status, code] of [
    [[b, c2, 9], 404, 'BROKER_NOT_FOUND'],
    [[b, b, c2], 422, 'INVALID_REPLICAS'],
    [[1, 2, 3, 4, 5], 422, 'INVALID_REPLICATION_FACTOR'],
    [[], 400, 'INVALID_REQUEST'],
  ] as const) {
    const r = await postJson(reassignUrl(b), { replicas });
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, code);
  }
  assert.deepEqual((await topic(a)).replicas, old!.replicas, 'bad input changed nothing');
  assert.equal((await getJson(`${url(1)}${base}/partitions/7/reassignment`)).body.error.code, 'PARTITION_NOT_FOUND');

  const acked = new Set<string>();
  let counter = 0;
  let running = true;
  const producers = [0, 1, 2].map(async (id) => {
    while (running) {
      const n = [1, 2, 3, 4][counter % 4];
      const value = `p${id}-${counter++}`;
      try {
        const r = await fetch(`${url(n)}${base}/records?acks=all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ value }] }), signal: AbortSignal.timeout(15_000) });
        if (r.status === 200) acked.add(value);
        else {
          await r.arrayBuffer();
          await new Promise((res) => setTimeout(res, 20));
        }
      } catch {
        // not acknowledged
      }
    }
  });
  await until(async () => (acked.size >= 200 ? true : undefined), 'records acknowledged before the move');

  // The new replica is drained while the move starts, so it cannot join the ISR and the move
  // stays in progress (with few records it would otherwise finish within a round trip).
  const drained = await postJson(`${url(c2)}/v1/brokers/${d}/drain`, {});
  assert.equal(drained.status, 202, JSON.stringify(drained.body));
  await until(async () => ((await getJson(`${url(a)}/v1/brokers/${d}/drain`)).body?.draining === true ? true : undefined), 'the leader knows of the drain');

  // the move, asked of a broker that is not the controller or not the leader (forwarded)
  const moved = await postJson(reassignUrl(b), { replicas: [d, b, c2] });
  assert.equal(moved.status, 202, JSON.stringify(moved.body));
  assert.deepEqual(moved.body.targetReplicas, [d, b, c2]);
  assert.equal(moved.body.inProgress, true);
  assert.deepEqual(moved.body.removing, [a]);
  // another target while this one runs is refused
  const again = await postJson(reassignUrl(c2), { replicas: [b, c2, a] });
  assert.equal(again.status, 409, `${JSON.stringify({ old, first: [d, b, c2], second: [b, c2, a] })}: ${JSON.stringify(again.body)}`);
  assert.equal(again.body.error.code, 'REASSIGNMENT_IN_PROGRESS');
  const ackedAtMove = acked.size;
  // a drained broker stays out of the ISR: the move waits for it
  await new Promise((r) => setTimeout(r, 1_500));
  const held = (await getJson(reassignUrl(a))).body;
  assert.equal(held.inProgress, true, JSON.stringify(held));
  assert.deepEqual(held.adding, [{ nodeId: d, inSync: false }], 'the drained broker has not joined the ISR');
  const undrained = await fetch(`${url(b)}/v1/brokers/${d}/drain`, { method: 'DELETE' });
  assert.equal(undrained.status, 200, await undrained.text());
  mark('moving');

  let status: unknown;
  const done = await until(async () => {
    const s = (await getJson(reassignUrl(d))).body;
    status = s;
    return s.inProgress === false ? s : undefined;
  }, 'the reassignment finishes', 60_000).catch((err: Error) => {
    // what the brokers said while it did not finish
    const said = [1, 2, 3, 4].flatMap((n) => c.brokers.get(n)!.lines.filter((l) => (l?.level ?? 0) >= 40).map((l) => `broker ${n}: ${JSON.stringify(l)}`));
    throw new Error(`${err.message}; last status ${JSON.stringify(status)}; warnings:\n${said.slice(-40).join('\n')}`);
  });
  mark('moved');
  assert.deepEqual(done.replicas, [d, b, c2]);
  assert.equal(done.leader, d, 'the leader moved to the first target replica in sync');
  assert.deepEqual((await getJson(`${url(a)}/v1/reassignments`)).body.reassignments, []);
  await until(async () => (acked.size >= ackedAtMove + 200 ? true : undefined), 'records acknowledged after the move');
  running = false;
  await Promise.all(producers);

  // every replica of the new set holds the leader's log; the removed one holds nothing
  await until(async () => {
    const p = await topic(d);
    if (p.isr.length !== 3 || p.leader !== d) return undefined;
    const ends = await Promise.all([d, b, c2].map(async (n) => (await topic(n)).logEndOffset));
    return ends.every((e) => e === p.logEndOffset) && (await topic(a)).logEndOffset === 0 ? true : undefined;
  }, 'every new replica holds the leader\'s log and the removed one none');

  mark('checking');
  const seen: string[] = [];
  const offsetsOf = new Map<string, number[]>();
  for (let offset = 0; ; ) {
    const r = await getJson(`${url(d)}${base}/partitions/0/records?offset=${offset}&maxRecords=10000`);
    assert.equal(r.status, 200);
    for (const rec of r.body.records as { value: string; offset: number }[]) {
      seen.push(rec.value);
      offsetsOf.set(rec.value, [...(offsetsOf.get(rec.value) ?? []), rec.offset]);
    }
    if (r.body.nextOffset >= r.body.highWatermark || r.body.records.length === 0) break;
    offset = r.body.nextOffset;
  }
  const present = new Set(seen);
  const lost = [...acked].filter((v) => !present.has(v));
  const end = await topic(d);
  t.diagnostic(`replicas ${old!.replicas} -> ${[d, b, c2]}; acknowledged ${acked.size} (${ackedAtMove} before the move), lost ${lost.length}, read ${seen.length}; leader's log end ${end.logEndOffset}, high watermark ${end.highWatermark}`);
  assert.deepEqual(lost, [], 'no acknowledged record is missing');
  const twice = [...offsetsOf].filter(([, o]) => o.length > 1);
  assert.deepEqual(twice, [], 'no record is there twice (value, offsets)');

  const bytesIn = (n: number, topicDir: string): Buffer => {
    const dir = path.join(c.dirs.get(n)!, 'logs', topicDir);
    if (!fs.existsSync(dir)) return Buffer.alloc(0);
    return Buffer.concat(fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort().map((f) => fs.readFileSync(path.join(dir, f))));
  };
  // (the topics tried before this one, without the controller among their replicas, hold no record)
  const topicDir = fs.readdirSync(path.join(c.dirs.get(d)!, 'logs')).find((x) => x.endsWith('-0') && !before.has(x) && bytesIn(d, x).length > 0);
  assert.ok(topicDir !== undefined, 'the new leader has a directory with the topic\'s records');
  const copy = (n: number): Buffer => bytesIn(n, topicDir);
  const leaderCopy = copy(d);
  assert.ok(leaderCopy.length > 0);
  for (const n of [b, c2]) assert.ok(copy(n).equals(leaderCopy), `broker ${n}'s copy holds the leader's bytes`);
  assert.equal(copy(a).length, 0, 'the removed replica deleted its copy');
  // a forwarded request is answered once (no handler carries on after the forward)
  const errors = [1, 2, 3, 4].flatMap((n) => c.brokers.get(n)!.lines.filter((l) => (l?.level ?? 0) >= 50).map((l) => `broker ${n}: ${l.msg} ${l.err?.message ?? ''}`));
  assert.deepEqual(errors, [], 'no broker logged an error');
});
