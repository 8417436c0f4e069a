/**
 * Reading over HTTP, against a broker in a child process:
 *   (d) fetch throughput: 4 connections, each reading its own partition of 100 B records from
 *       the start, 1000 records per fetch, vs the bare server answering bodies of the same size;
 *   (e) produce-to-long-poll latency at 10,000 records/s: a producer sends the records due about
 *       every millisecond (acks=1), a consumer long-polls the partition; latency from each
 *       record's send time to its arrival, vs a bare round trip of the same requests at the same rate.
 */
import { startBare, startBroker, startLoadGenerator, api } from './lib/children.js';
import type { ClosedLoopResult } from './lib/http-client.js';
import type { LatencyResult } from './lib/load-jobs.js';
import { alternate, compare, CpuPerRequest } from './lib/measure.js';
import { valueOf } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const PARTITIONS = 4;
const FETCH_RECORDS = 1000;
const RATE = 10_000;

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const [broker, bare, load] = await Promise.all([startBroker(ctx), startBare(ctx), startLoadGenerator(ctx)]);
  const rows: BenchRow[] = [];
  const warmupSeconds = ctx.quick ? 0.3 : 0.5;

  ctx.log('(d) filling partitions for fetch');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'fetch', partitions: PARTITIONS });
  const perPartition = ctx.quick ? 50_000 : 200_000;
  const value = valueOf(100);
  for (let p = 0; p < PARTITIONS; p++) {
    const body = JSON.stringify({ records: Array.from({ length: 1000 }, () => ({ value, partition: p })) });
    for (let i = 0; i < perPartition / 1000; i++) await api(broker.port, 'POST', '/v1/clusters/default/topics/fetch/records?acks=1', body);
  }
  const sample = await fetch(`http://127.0.0.1:${broker.port}/v1/clusters/default/topics/fetch/partitions/0/records?offset=0&maxRecords=${FETCH_RECORDS}`);
  const bodyBytes = (await sample.arrayBuffer()).byteLength;

  ctx.log('(d) fetch over HTTP');
  const cpu = new CpuPerRequest();
  const [webkaD, bareD] = await alternate(
    ctx,
    async () => {
      const r = await cpu.time(broker, 'd', () => load.run<ClosedLoopResult & { records: number }>({
        kind: 'consume', port: broker.port, connections: PARTITIONS, seconds: ctx.seconds, warmupSeconds,
        partitionsPath: '/v1/clusters/default/topics/fetch/partitions/', partitions: PARTITIONS, endOffset: perPartition, maxRecords: FETCH_RECORDS,
      }));
      if (r.failures > 0) throw new Error(`fetch failed: ${r.firstFailure}`);
      return r.records / r.seconds;
    },
    async () => {
      const r = await cpu.time(bare, 'd-bare', () => load.run<ClosedLoopResult>({ kind: 'closed', port: bare.port, connections: PARTITIONS, seconds: ctx.seconds, warmupSeconds, method: 'GET', path: `/body/${bodyBytes}`, expectStatus: 200 }));
      return (r.requests * FETCH_RECORDS) / r.seconds;
    },
  );
  rows.push(compare({
    name: `HTTP fetch ${FETCH_RECORDS} x 100 B/request, ${PARTITIONS} conns`,
    unit: 'records/s',
    runs: webkaD,
    baselineName: `bare Fastify: same-size body (${Math.round(bodyBytes / 1024)} KiB)`,
    baselineRuns: bareD,
    minRatio: 0.5,
  }));
  rows.push(compare({ name: `  server CPU per ${FETCH_RECORDS}-record fetch`, unit: 'µs', better: 'lower', runs: cpu.runs('d'), baselineName: 'bare server CPU per request', baselineRuns: cpu.runs('d-bare') }));

  ctx.log('(e) produce-to-long-poll latency at 10,000 records/s');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'latency', partitions: 1 });
  const seconds = ctx.quick ? 1.5 : Math.max(3, ctx.seconds * 1.5);
  const webkaE: LatencyResult[] = [];
  const bareE: LatencyResult[] = [];
  await alternate(
    ctx,
    async () => {
      webkaE.push(await load.run<LatencyResult>({
        kind: 'latency', port: broker.port, seconds, warmupSeconds, rate: RATE, valueBytes: 100,
        producePath: '/v1/clusters/default/topics/latency/records?acks=1', fetchPath: '/v1/clusters/default/topics/latency/partitions/0/records',
      }));
      return 0;
    },
    async () => {
      bareE.push(await load.run<LatencyResult>({ kind: 'roundtrip', port: bare.port, seconds, warmupSeconds, rate: RATE, path: '/parse', valueBytes: 100 }));
      return 0;
    },
  );
  for (const r of webkaE) if (r.count < r.sent * 0.5) throw new Error(`the consumer received only ${r.count} of ${r.sent} records`);
  rows.push(compare({ name: 'produce-to-long-poll latency p50 @ 10k rec/s', unit: 'ms', better: 'lower', runs: webkaE.map((r) => r.p50), baselineName: 'bare round trip p50, same rate', baselineRuns: bareE.map((r) => r.p50) }));
  rows.push(compare({ name: 'produce-to-long-poll latency p99 @ 10k rec/s', unit: 'ms', better: 'lower', runs: webkaE.map((r) => r.p99), baselineName: 'bare round trip p99, same rate', baselineRuns: bareE.map((r) => r.p99), max: 10 }));
  ctx.note(`http-fetch: (e) runs ${seconds} s per trial; the producer sends the records due every ~1 ms in one request (acks=1), the consumer long-polls with maxWaitMs=500; send time is carried in each value with sub-ms precision.`);
  return rows;
}
