/**
 * What authentication costs on the produce path: two brokers in child processes, one with
 * `auth: true` (its first start writes the admin key to <dataDir>/initial-admin-key), one with
 * `auth: false`, under the same load from a load generator, every request carrying
 * `Authorization: Bearer <key>`:
 *   batched: 1000 records of 100 B per request, acks=1, 16 keep-alive connections;
 *   single:  1 record of 100 B per request, acks=1, 32 connections (where a per-request cost
 *            weighs most).
 * A verified key is remembered by its SHA-256, so after the first request each one costs a hash
 * and a map lookup; the scrypt check runs once per key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, startLoadGenerator, type Child } from './lib/children.js';
import type { ClosedLoopResult } from './lib/http-client.js';
import { alternate, compare, sleep, CpuPerRequest } from './lib/measure.js';
import { produceBody } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const TOPIC_PATH = '/v1/clusters/default/topics/bench/records?acks=1';

async function adminKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'initial-admin-key');
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await sleep(50);
  const m = /^key=(\S+)$/m.exec(fs.readFileSync(file, 'utf8'));
  if (m === null) throw new Error(`no key in ${file}`);
  return m[1];
}

async function createTopic(port: number, authorization: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/clusters/default/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ name: 'bench', partitions: 4 }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`creating the topic answered ${res.status}: ${text}`);
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const [secured, open, load] = await Promise.all([startBroker(ctx, { auth: 'true' }), startBroker(ctx, { auth: 'false' }), startLoadGenerator(ctx)]);
  const authorization = `Bearer ${await adminKey(secured.dataDir!)}`;
  const refused = await fetch(`http://127.0.0.1:${secured.port}/v1/clusters`);
  await refused.arrayBuffer();
  if (refused.status !== 401) throw new Error(`the broker with auth on answered ${refused.status} without credentials`);
  await Promise.all([createTopic(secured.port, authorization), createTopic(open.port, authorization)]);

  const warmupSeconds = ctx.quick ? 0.3 : 0.5;
  const cpu = new CpuPerRequest();
  const measure = (server: Child, label: string, body: string, connections: number) => async (): Promise<number> => {
    const r = await cpu.time(server, label, () => load.run<ClosedLoopResult>({
      kind: 'closed',
      port: server.port,
      connections,
      seconds: ctx.seconds,
      warmupSeconds,
      method: 'POST',
      path: TOPIC_PATH,
      body,
      headers: { authorization },
      expectStatus: 200,
    }));
    if (r.failures > 0) throw new Error(`${r.failures} of ${r.failures + r.requests} produce requests failed, first: ${r.firstFailure}`);
    return r.requests / r.seconds;
  };
  const rows: BenchRow[] = [];

  ctx.log('batched produce, 1000 x 100 B per request, auth on vs off');
  const batch = produceBody(1000);
  const [onB, offB] = await alternate(ctx, measure(secured, 'b-on', batch, 16), measure(open, 'b-off', batch, 16));
  rows.push(compare({
    name: 'HTTP produce 1000 x 100 B/request, auth on (API key), 16 conns',
    unit: 'records/s',
    runs: onB.map((r) => r * 1000),
    baselineName: 'the same broker with auth off',
    baselineRuns: offB.map((r) => r * 1000),
    minRatio: 0.9,
  }));
  rows.push(compare({ name: '  server CPU per 1000-record request', unit: 'µs', better: 'lower', runs: cpu.runs('b-on'), baselineName: 'auth off', baselineRuns: cpu.runs('b-off') }));

  ctx.log('single-record produce, auth on vs off');
  const single = produceBody(1);
  const [onS, offS] = await alternate(ctx, measure(secured, 's-on', single, 32), measure(open, 's-off', single, 32));
  rows.push(compare({
    name: 'HTTP produce 1 x 100 B/request, auth on (API key), 32 conns',
    unit: 'requests/s',
    runs: onS,
    baselineName: 'the same broker with auth off',
    baselineRuns: offS,
    minRatio: 0.9,
  }));
  rows.push(compare({ name: '  server CPU per 1-record request', unit: 'µs', better: 'lower', runs: cpu.runs('s-on'), baselineName: 'auth off', baselineRuns: cpu.runs('s-off') }));

  ctx.note('auth: two brokers (auth: true with the initial admin key, a superuser, so no ACL is consulted; auth: false), the same topic of 4 partitions, acks=1, and the same requests with Authorization: Bearer <key> to both; load from a separate process, one request in flight per connection.');
  return rows;
}
