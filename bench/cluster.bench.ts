/**
 * Replication, with three brokers (each its own process) and a private etcd on this machine:
 *   (a) acks=all produce to a topic with replication factor 3 (min.insync.replicas 2) vs acks=all
 *       to a topic with replication factor 1, same run, each sent to its partition's leader:
 *       1000 x 100 B records per request over 16 connections (target >= 50%);
 *   (b) produce-to-consume latency at 10,000 records/s on the RF=3 topic: a producer sends the
 *       records due about every millisecond to the leader, a consumer long-polls the leader; the
 *       producer uses acks=1 (its answer does not wait for the followers), yet a record reaches
 *       the consumer only once every in-sync replica holds it durably (target p99 <= 10 ms),
 *       beside the same load on an RF=1 topic of the same cluster (the leader's fsync alone);
 *   (c) group consume, one member reading a 1-partition RF=1 topic from its start through its
 *       group's coordinator: a coordinator that does not lead the partition (it reads the
 *       leader's copy through its remote view) vs one that leads it (no target);
 *   (d) failover: kill -9 of the partition's leader, then the time to the first write
 *       acknowledged (acks=all) by the new leader, writes tried every 20 ms through the surviving
 *       brokers (target median <= 2 s over 10 kills). The killed broker is started again on its
 *       data directory and rejoins the ISR before the next kill.
 *   (e) Durable Streams: 100 B appends to a stream (replicated on the three brokers,
 *       min.insync.replicas 2, acknowledged once every in-sync replica holds them) over 32
 *       connections sent to a broker that forwards them to the stream's leader vs sent to the
 *       leader itself (no target: what the hop costs).
 * The brokers' etcd lease is 2 s (coordinatorLeaseSeconds, renewed every third of it), the
 * shortest etcd 3.4 grants with its default election timeout; WEBKA_BENCH_LEASE_SECONDS sets
 * another (the broker's default is 10 s): 1 runs etcd with a 500 ms election timeout, which
 * grants it.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { api, startChild, startLoadGenerator, type Child } from './lib/children.js';
import type { ClosedLoopResult } from './lib/http-client.js';
import type { LatencyResult } from './lib/load-jobs.js';
import { alternate, compare, percentile, sleep } from './lib/measure.js';
import { produceBody } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';
import { needEtcd, startEtcd } from '../packages/server/test/support/etcd.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS, groupPartition } from '../packages/server/src/groups/offset-store.js';

const RATE = 10_000;
const NODES = [1, 2, 3];

interface PartitionInfo {
  leader: number;
  isr: number[];
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const missing = needEtcd();
  if (missing !== null) {
    ctx.note(`cluster: skipped: ${missing}`);
    return [];
  }
  const lease = Number(process.env.WEBKA_BENCH_LEASE_SECONDS ?? 2);
  // etcd grants a lease no shorter than 1.5 election timeouts: 1 s needs a 500 ms election timeout
  const etcd = await startEtcd(lease < 2 ? 500 : 1000);
  ctx.onCleanup(() => etcd.stop());
  const dirs = new Map(NODES.map((n) => [n, ctx.tempDir(`node${n}`)]));
  const brokers = new Map<number, Child>();
  const start = async (n: number): Promise<void> => {
    const config = { nodeId: n, coordinator: `${etcd.url.replace('http://', 'etcd://')}/bench`, coordinatorLeaseSeconds: lease, kafkaPort: -1 };
    brokers.set(n, await startChild(ctx, 'broker-child.ts', [JSON.stringify({ dataDir: dirs.get(n), config })]));
  };
  await Promise.all(NODES.map(start));
  const port = (n: number): number => brokers.get(n)!.port;
  await until(async () => ((await api(port(1), 'GET', '/v1/brokers')) as { brokers: unknown[] }).brokers.length === 3, 'three live brokers', 60_000);
  const partition = async (via: number, topic: string): Promise<PartitionInfo> =>
    ((await api(port(via), 'GET', `/v1/clusters/default/topics/${topic}`)) as { partitionInfo: PartitionInfo[] }).partitionInfo[0];
  const create = async (name: string, replicationFactor: number): Promise<number> => {
    await api(port(1), 'POST', '/v1/clusters/default/topics', { name, partitions: 1, replicationFactor, configs: { 'min.insync.replicas': String(Math.min(2, replicationFactor)) } });
    const info = await until(async () => {
      const p = await partition(1, name).catch(() => undefined);
      return p !== undefined && p.isr.length === replicationFactor ? p : undefined;
    }, `topic ${name} with ${replicationFactor} in-sync replicas`, 60_000);
    return info.leader;
  };
  const load = await startLoadGenerator(ctx);
  const rows: BenchRow[] = [];

  ctx.log('(a) acks=all produce, RF=3 vs RF=1');
  const rf3Leader = await create('rf3', 3);
  const rf1Leader = await create('rf1', 1);
  const body = produceBody(1000);
  const produce = (leader: number, topic: string) => async (): Promise<number> => {
    const r = await load.run<ClosedLoopResult>({ kind: 'closed', port: port(leader), connections: 16, seconds: ctx.seconds, warmupSeconds: 0.5, method: 'POST', path: `/v1/clusters/default/topics/${topic}/records?acks=all`, body, expectStatus: 200 });
    if (r.failures > 0) throw new Error(`produce to ${topic} failed: ${r.firstFailure}`);
    return (r.requests * 1000) / r.seconds;
  };
  const [rf3, rf1] = await alternate(ctx, produce(rf3Leader, 'rf3'), produce(rf1Leader, 'rf1'));
  rows.push(compare({ name: 'acks=all produce, RF=3 (min.insync 2), 1000 x 100 B/req, 16 conns', unit: 'records/s', runs: rf3, baselineName: 'acks=all produce, RF=1, same load', baselineRuns: rf1, minRatio: 0.5 }));

  ctx.log('(b) produce-to-consume latency at 10,000 records/s, RF=3 and RF=1');
  const latLeader = await create('latency', 3);
  const lat1Leader = await create('latency-rf1', 1);
  const seconds = ctx.quick ? 1.5 : Math.max(3, ctx.seconds * 1.5);
  const latency = (topic: string, leader: number): Promise<LatencyResult> =>
    load.run<LatencyResult>({
      kind: 'latency', port: port(leader), seconds, warmupSeconds: 0.5, rate: RATE, valueBytes: 100,
      producePath: `/v1/clusters/default/topics/${topic}/records?acks=1`, fetchPath: `/v1/clusters/default/topics/${topic}/partitions/0/records`,
    });
  const lat: LatencyResult[] = [];
  const lat1: LatencyResult[] = [];
  await alternate(
    ctx,
    async () => (lat.push(await latency('latency', latLeader)), 0),
    async () => (lat1.push(await latency('latency-rf1', lat1Leader)), 0),
  );
  const delivered = Math.min(...[...lat, ...lat1].map((r) => r.count / r.sent));
  if (delivered < 0.99) ctx.note(`cluster: (b) a consumer fell behind: in the worst trial it received ${(delivered * 100).toFixed(1)} % of the records sent after the warm-up by the end of the run (200 ms after the last send); the percentiles are of the records it received.`);
  ctx.note(`cluster: (b) the RF=1 baseline is a topic of one replica on the same cluster, same load: its records are visible once the leader alone has fsynced them, so the difference is what waiting for two followers adds; on this machine the three brokers, etcd, the producer and the consumer share 2 cores.`);
  rows.push(compare({ name: 'produce-to-consume latency p50 @ 10k rec/s, RF=3', unit: 'ms', better: 'lower', runs: lat.map((r) => r.p50), baselineName: 'same, RF=1 topic', baselineRuns: lat1.map((r) => r.p50) }));
  rows.push(compare({ name: 'produce-to-consume latency p99 @ 10k rec/s, RF=3', unit: 'ms', better: 'lower', runs: lat.map((r) => r.p99), baselineName: 'same, RF=1 topic', baselineRuns: lat1.map((r) => r.p99), max: 10 }));

  ctx.log('(c) group consume through a coordinator that does not lead the partition');
  rows.push(await groupReads(ctx, port, create));

  const kills = ctx.quick ? 2 : 10;
  ctx.log(`(d) failover: ${kills} kills of the leader`);
  await create('failover', 3);
  const times: number[] = [];
  for (let k = 0; k < kills; k++) {
    const { leader } = await partition(1, 'failover');
    const survivors = NODES.filter((n) => n !== leader);
    // the leader takes writes now
    await write(port(leader), 5_000);
    const victim = brokers.get(leader)!;
    const exited = new Promise((r) => victim.process.once('exit', r));
    const killedAt = performance.now();
    victim.process.kill('SIGKILL');
    let i = 0;
    for (;;) {
      if (await write(port(survivors[i++ % 2]), 2_000)) break;
      if (performance.now() - killedAt > 60_000) throw new Error('no write acknowledged within 60 s of the kill');
      await sleep(20);
    }
    times.push(performance.now() - killedAt);
    ctx.log(`  kill ${k + 1}: leader ${leader}, ${Math.round(times[k])} ms`);
    await exited;
    await start(leader);
    await until(async () => ((await partition(survivors[0], 'failover')).isr.length === 3 ? true : undefined), `broker ${leader} back in the ISR`, 120_000);
  }
  const sorted = Float64Array.from(times).sort();
  rows.push(compare({ name: `failover: kill -9 of the leader to the first acks=all write on the new one, median of ${kills}`, unit: 'ms', better: 'lower', runs: [percentile(sorted, 50)], max: 2_000 }));
  ctx.log('(e) Durable Streams appends through a broker that forwards them to the stream\'s leader');
  rows.push(await streamAppends(ctx, port, load));
  ctx.note(`cluster: three brokers and etcd 3.4 on this machine, coordinatorLeaseSeconds ${lease} (lease renewed every ${(lease / 3).toFixed(2)} s), replicaLagTimeMaxMs default; failover times ${times.map((t) => Math.round(t)).join(', ')} ms (min ${Math.round(sorted[0])}, max ${Math.round(sorted[sorted.length - 1])}); load average at the end ${loadAverage()}.`);
  return rows;
}

/**
 * (c) One group member reading a 1-partition RF=1 topic from its start through its group's
 * coordinator, records/s: a group whose coordinator is another broker (it reads the leader's copy
 * through its remote view, one long-polling internal read at a time) vs a group whose coordinator
 * leads the partition (it reads its own copy), alternated. Each member polls its coordinator
 * directly (no forwarding), 1000 records per poll.
 */
async function groupReads(
  ctx: BenchContext,
  port: (n: number) => number,
  create: (name: string, replicationFactor: number) => Promise<number>,
): Promise<BenchRow> {
  const leader = await create('grouped', 1);
  const total = ctx.quick ? 20_000 : 200_000;
  const body = produceBody(1000);
  for (let i = 0; i < total / 1000; i++) await api(port(leader), 'POST', '/v1/clusters/default/topics/grouped/records?acks=1', body);
  // the first join makes the cluster define __consumer_offsets; its partitions' leaders are the groups' coordinators
  await until(() => api(port(leader), 'POST', '/v1/clusters/default/groups/warm-up/members', { topics: ['grouped'] }), 'a first group member', 60_000);
  const coordinators = await until(async () => {
    const a = (await api(port(leader), 'GET', `/v1/clusters/default/topics/${OFFSETS_TOPIC}/partitions`)) as { partitions: { leader?: number }[] };
    const leaders = a.partitions.map((x) => x.leader ?? -1);
    return leaders.length === OFFSETS_TOPIC_PARTITIONS && leaders.every((l) => l >= 0) ? leaders : undefined;
  }, `the leaders of ${OFFSETS_TOPIC}`, 60_000);
  const remote = coordinators.find((c) => c !== leader);
  if (remote === undefined || !coordinators.includes(leader)) throw new Error(`(c) needs groups coordinated by broker ${leader} and by another: coordinators ${coordinators.join(', ')}`);
  let n = 0;
  /** A fresh group name whose coordinator is `coordinator`. */
  const groupAt = (coordinator: number): string => {
    for (;;) {
      const name = `reader-${n++}`;
      if (coordinators[groupPartition(name, OFFSETS_TOPIC_PARTITIONS)] === coordinator) return name;
    }
  };
  const consume = (coordinator: number) => async (): Promise<number> => {
    const group = groupAt(coordinator);
    const path = `/v1/clusters/default/groups/${group}/members`;
    const { memberId } = (await api(port(coordinator), 'POST', path, { topics: ['grouped'], autoOffsetReset: 'earliest', autoCommit: false })) as { memberId: string };
    const deadline = performance.now() + ctx.seconds * 1000;
    const started = performance.now();
    let records = 0;
    while (performance.now() < deadline && records < total) {
      const r = (await api(port(coordinator), 'GET', `${path}/${memberId}/records?maxRecords=1000&maxWaitMs=1000`)) as { records: unknown[] };
      records += r.records.length;
    }
    const seconds = (performance.now() - started) / 1000;
    await api(port(coordinator), 'DELETE', `${path}/${memberId}`);
    return records / seconds;
  };
  const [through, local] = await alternate(ctx, consume(remote), consume(leader));
  return compare({ name: 'group consume, 1 member, coordinator not the leader (remote reads)', unit: 'records/s', runs: through, baselineName: 'same, coordinator leads the partition', baselineRuns: local });
}

/** One acks=all record through the broker on `port`; whether it was acknowledged. */
async function write(port: number, timeoutMs: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v1/clusters/default/topics/failover/records?acks=all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"records":[{"value":"x"}]}', signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

async function until<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    await sleep(100);
  }
  throw new Error(`${what}: not reached in ${timeoutMs} ms`);
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(1)).join(', ');
}

/** (e): a stream's appends sent to its leader vs to another broker, which forwards them there. */
async function streamAppends(ctx: BenchContext, port: (n: number) => number, load: Awaited<ReturnType<typeof startLoadGenerator>>): Promise<BenchRow> {
  const path = '/v1/stream/bench-appends';
  const made = await fetch(`http://127.0.0.1:${port(1)}${path}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' } });
  if (made.status !== 201) throw new Error(`PUT ${path}: ${made.status} ${await made.text()}`);
  const topic = made.headers.get('webka-topic')!;
  const leader = await until(async () => {
    const info = (await api(port(1), 'GET', `/v1/clusters/streams/topics/${topic}`)) as { partitionInfo: PartitionInfo[] };
    const p = info.partitionInfo[0];
    return p.leader > 0 && p.isr.length === 3 ? p.leader : undefined;
  }, 'the stream topic with three in-sync replicas', 60_000);
  const other = NODES.find((n) => n !== leader)!;
  const appends = (n: number) => async (): Promise<number> => {
    const r = await load.run<ClosedLoopResult>({ kind: 'closed', port: port(n), connections: 32, seconds: ctx.seconds, warmupSeconds: 0.5, method: 'POST', path, body: 'x'.repeat(100), contentType: 'application/octet-stream', expectStatus: 204 });
    if (r.failures > 0) throw new Error(`appends through broker ${n} failed: ${r.firstFailure}`);
    return r.requests / r.seconds;
  };
  const [forwarded, direct] = await alternate(ctx, appends(other), appends(leader));
  return compare({ name: 'DS append 100 B, 32 conns, stream on 3 brokers, through another broker', unit: 'appends/s', runs: forwarded, baselineName: 'the same sent to the stream\'s leader', baselineRuns: direct });
}
