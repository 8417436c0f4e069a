/**
 * HTTP produce against a broker in a child process, driven by a load generator in another:
 *   (b) batched: 1000 records of 100 B per request, acks=1, over 16 keep-alive connections,
 *       vs a bare Fastify endpoint that only parses the same body and answers;
 *   (c) unbatched: one record per request, acks=1, 32 connections, vs the same bare endpoint;
 *   (f) acks=all vs acks=1, 32 concurrent producers of 100 records per request.
 */
import { startBare, startBroker, startLoadGenerator, api, type Child } from './lib/children.js';
import type { ClosedLoopResult } from './lib/http-client.js';
import { alternate, compare, CpuPerRequest } from './lib/measure.js';
import { produceBody } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const TOPIC_PATH = '/v1/clusters/default/topics/bench/records';

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const [broker, bare, load] = await Promise.all([startBroker(ctx), startBare(ctx), startLoadGenerator(ctx)]);
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'bench', partitions: 4 });
  const warmupSeconds = ctx.quick ? 0.3 : 0.5;
  // Each measure also keeps the server's CPU time per request (CpuPerRequest).
  const cpu = new CpuPerRequest();
  const measure = (server: Child, label: string, path: string, body: string, connections: number, expectStatus = 200) => async (): Promise<number> => {
    const r = await cpu.time(server, label, () => load.run<ClosedLoopResult>({ kind: 'closed', port: server.port, connections, seconds: ctx.seconds, warmupSeconds, method: 'POST', path, body, expectStatus }));
    if (r.failures > 0) throw new Error(`${r.failures} of ${r.failures + r.requests} requests to ${path} failed, first: ${r.firstFailure}`);
    return r.requests / r.seconds;
  };
  const rows: BenchRow[] = [];

  ctx.log('(b) batched produce, 1000 x 100 B per request');
  const batch = produceBody(1000);
  const [webkaB, bareB] = await alternate(ctx, measure(broker, 'b', `${TOPIC_PATH}?acks=1`, batch, 16), measure(bare, 'b-bare', '/parse', batch, 16));
  rows.push(compare({
    name: 'HTTP produce 1000 x 100 B/request, acks=1, 16 conns',
    unit: 'records/s',
    runs: webkaB.map((r) => r * 1000),
    baselineName: 'bare Fastify: parse same body, answer',
    baselineRuns: bareB.map((r) => r * 1000),
    minRatio: 0.5,
  }));
  rows.push(compare({ name: '  server CPU per 1000-record request', unit: 'µs', better: 'lower', runs: cpu.runs('b'), baselineName: 'bare server CPU per request', baselineRuns: cpu.runs('b-bare') }));

  ctx.log('(c) unbatched produce, one record per request');
  const single = produceBody(1);
  const [webkaC, bareC] = await alternate(ctx, measure(broker, 'c', `${TOPIC_PATH}?acks=1`, single, 32), measure(bare, 'c-bare', '/parse', single, 32));
  rows.push(compare({
    name: 'HTTP produce 1 x 100 B/request, acks=1, 32 conns',
    unit: 'requests/s',
    runs: webkaC,
    baselineName: 'bare Fastify: same request, answer',
    baselineRuns: bareC,
    minRatio: 0.5,
  }));
  rows.push(compare({ name: '  server CPU per 1-record request', unit: 'µs', better: 'lower', runs: cpu.runs('c'), baselineName: 'bare server CPU per request', baselineRuns: cpu.runs('c-bare') }));

  ctx.log('(f) acks=all vs acks=1, 32 producers x 100 records per request');
  const hundred = produceBody(100);
  const [all, one] = await alternate(ctx, measure(broker, 'f-all', `${TOPIC_PATH}?acks=all`, hundred, 32), measure(broker, 'f-1', `${TOPIC_PATH}?acks=1`, hundred, 32));
  rows.push(compare({
    name: 'HTTP produce acks=all, 32 producers x 100 x 100 B',
    unit: 'records/s',
    runs: all.map((r) => r * 100),
    baselineName: 'the same with acks=1',
    baselineRuns: one.map((r) => r * 100),
    minRatio: 0.4,
  }));
  ctx.note('http-produce: broker, bare server and load generator are three processes on loopback; topic of 4 partitions, keyless records (sticky partitioner); load by a minimal keep-alive HTTP/1.1 client (bench/lib/http-client.ts), one request in flight per connection.');
  return rows;
}
