/**
 * Webka's Durable Streams adapter (/v1/stream/{path}) beside the protocol's reference Node server
 * (@durable-streams/server, data in memory), each in its own child process, in the same run:
 *   (a) append throughput: 100 B application/octet-stream appends, one per request, over 32
 *       keep-alive connections to one stream and to 8 streams (4 connections each), appends/s
 *       and the server's CPU time per append; beside it Webka's native produce of the same
 *       100 B to the stream's topic at acks=all and acks=1, which shows what the fsync costs;
 *       and native produce over 64 partitions (64 connections, each to its own partition) at
 *       acks=all vs acks=1: durable appends that touch many partitions at once;
 *   (b) SSE fan-out: 1,000 subscribers (100 with --quick) of one text/plain stream
 *       (`?offset=now&live=sse`) while it receives 20 appends/s; p50/p99 latency from the
 *       append's send to its receipt, server CPU per delivered message, and the server's RSS
 *       with the subscribers connected.
 * The subscribers are raw sockets in this process (not the servers'), each scanning its bytes
 * for the send time embedded at the start of every message (`@<ms>|xxx…`), nothing more.
 */
import net from 'node:net';
import { api, startBroker, startDurableStreamsReference, startLoadGenerator, type Child, type LoadGenerator } from './lib/children.js';
import { buildRequest, type ClosedLoopResult } from './lib/http-client.js';
import { paced, pool } from './lib/load-jobs.js';
import { alternate, compare, CpuPerRequest, percentile, sleep } from './lib/measure.js';
import { now, openSseReader } from './lib/sse-reader.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const STREAM = '/v1/stream/bench';
const MESSAGE_BYTES = 100;
const APPEND_CONNECTIONS = 32;
const STREAMS = 8;
/** Partitions of the topic that the durable appends across many partitions go to. */
const PARTITIONS = 64;
/**
 * Appends/s during the fan-out: 20,000 messages/s to deliver at 1,000 subscribers. At 100/s
 * (100,000 deliveries/s, some 25 µs of server CPU each) neither server keeps up on 2 shared
 * cores, and both fall seconds behind, so the latency would measure only the backlog.
 */
const RATE = 20;


/** PUT a stream; answers Webka's topic name for it (undefined from the reference). */
async function createStream(port: number, path: string, contentType: string): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'PUT', headers: { 'content-type': contentType } });
  await res.arrayBuffer();
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT ${path} answered ${res.status}`);
  return res.headers.get('webka-topic') ?? undefined;
}

/** A message of MESSAGE_BYTES that starts with its send time: `@1764000000000.123|xxx…`. */
function message(t: number): string {
  const head = `@${t.toFixed(3)}|`;
  return head + 'x'.repeat(MESSAGE_BYTES - head.length);
}

/** One SSE subscriber on a raw socket: reports the latency of every `@<ms>|` it reads. */
const subscribe = (port: number, path: string, onLatency: (ms: number) => void): Promise<net.Socket> => openSseReader(port, path, { open: '@', close: '|' }, onLatency);

interface FanOut {
  p50: number;
  p99: number;
  rss: number;
  /** RSS growth per subscriber, KiB. */
  perSubscriber: number;
  missing: number;
  /** Server CPU time per message delivered to one subscriber, in µs (appends included). */
  cpuPerMessage: number;
}

async function fanOut(ctx: BenchContext, server: Child, path: string, subscribers: number): Promise<FanOut> {
  const warmup = 0.5;
  const samples = new Float64Array(Math.ceil(subscribers * RATE * (ctx.seconds + warmup + 1) * 1.2));
  let count = 0;
  let received = 0;
  let countFrom = Infinity;
  const rssBefore = server.rss();
  const sockets = await Promise.all(
    Array.from({ length: subscribers }, () =>
      subscribe(server.port, `${path}?offset=now&live=sse`, (ms) => {
        received++;
        if (now() - ms >= countFrom && count < samples.length) samples[count++] = ms;
      }),
    ),
  );
  const appenders = await pool(server.port, 32);
  countFrom = now() + warmup * 1000;
  let failures = 0;
  let firstFailure = 0;
  let rss = 0;
  const cpu0 = server.cpuSeconds();
  const sampler = setInterval(() => (rss = Math.max(rss, server.rss())), 200);
  let inFlight = 0;
  const sent = await paced(warmup + ctx.seconds, RATE, (n) => {
    for (let i = 0; i < n; i++) {
      inFlight++;
      appenders.send(buildRequest('POST', 'bench', path, message(now()), 'text/plain'), (status) => {
        inFlight--;
        if (status !== 204) (failures++, (firstFailure ||= status));
      });
    }
  });
  // the last appends and their deliveries may still be on their way
  const deadline = now() + 5000;
  while ((inFlight > 0 || received < sent * subscribers) && now() < deadline) await sleep(20);
  clearInterval(sampler);
  const cpu = server.cpuSeconds() - cpu0;
  rss = Math.max(rss, server.rss());
  const unanswered = inFlight;
  const failed = failures;
  appenders.close();
  for (const s of sockets) s.destroy();
  await sleep(300);
  if (failed > 0) throw new Error(`${failed} of ${sent} appends to ${path} failed, first with status ${firstFailure}`);
  if (unanswered > 0) ctx.note(`durable-streams: ${unanswered} of ${sent} appends to port ${server.port} were unanswered 5 s after the last was sent`);
  const sorted = samples.subarray(0, count).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), rss: rss / 1024 / 1024, perSubscriber: (rss - rssBefore) / 1024 / subscribers, missing: sent * subscribers - received, cpuPerMessage: (cpu * 1e6) / Math.max(1, received) };
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const subscribers = ctx.quick ? 100 : 1000;
  const limits = { maxStreams: 10_000, maxStreamsPerAddress: 10_000, maxStreamsPerPrincipal: 10_000 };
  const [webka, reference, load] = await Promise.all([startBroker(ctx, limits), startDurableStreamsReference(ctx), startLoadGenerator(ctx)]);
  const rows: BenchRow[] = [];

  // (b) first, while the reference's memory holds no appended data yet
  ctx.log(`(b) SSE fan-out: ${subscribers} subscribers, ${RATE} appends/s`);
  for (const s of [webka, reference]) await createStream(s.port, `${STREAM}/fanout`, 'text/plain');
  const ours: FanOut[] = [];
  const theirs: FanOut[] = [];
  await alternate(
    ctx,
    async () => (ours.push(await fanOut(ctx, webka, `${STREAM}/fanout`, subscribers)), 0),
    async () => (theirs.push(await fanOut(ctx, reference, `${STREAM}/fanout`, subscribers)), 0),
  );
  for (const [who, runs] of [['Webka', ours], ['reference', theirs]] as const) {
    const missing = runs.reduce((a, r) => a + r.missing, 0);
    if (missing > 0) ctx.note(`durable-streams: ${who} subscribers missed ${missing} messages in time`);
  }
  const fanName = `DS SSE fan-out ${subscribers} subscribers, ${RATE} appends/s`;
  rows.push(compare({ name: `${fanName}: p50`, unit: 'ms', better: 'lower', runs: ours.map((r) => r.p50), baselineName: 'reference server', baselineRuns: theirs.map((r) => r.p50) }));
  const p99 = compare({ name: `${fanName}: p99`, unit: 'ms', better: 'lower', runs: ours.map((r) => r.p99), baselineName: 'reference server', baselineRuns: theirs.map((r) => r.p99) });
  p99.target = '<= baseline';
  p99.met = p99.value <= p99.baselineValue!;
  rows.push(p99);
  rows.push(compare({ name: '  server CPU per message delivered to a subscriber', unit: 'µs', better: 'lower', runs: ours.map((r) => r.cpuPerMessage), baselineName: 'reference server', baselineRuns: theirs.map((r) => r.cpuPerMessage) }));
  rows.push(compare({ name: `  server RSS with ${subscribers} subscribers (peak)`, unit: 'MiB', better: 'lower', runs: ours.map((r) => r.rss), baselineName: 'reference server', baselineRuns: theirs.map((r) => r.rss) }));
  rows.push(compare({ name: '  server RSS growth per subscriber', unit: 'KiB', better: 'lower', runs: ours.map((r) => r.perSubscriber), baselineName: 'reference server', baselineRuns: theirs.map((r) => r.perSubscriber) }));

  // (a) append throughput
  const body = 'x'.repeat(MESSAGE_BYTES);
  const cpu = new CpuPerRequest();
  const appends = (server: Child, label: string, paths: string[], expectStatus = 204, contentType = 'application/octet-stream', payload = body) => async (): Promise<number> => {
    const r = await cpu.time(server, label, () => appendLoad(load, { port: server.port, paths, payload, contentType, expectStatus, seconds: ctx.seconds, warmupSeconds: ctx.quick ? 0.3 : 0.5 }));
    return r.requests / r.seconds;
  };
  const one = [`${STREAM}/append`];
  const several = Array.from({ length: STREAMS }, (_, i) => `${STREAM}/append-${i}`);
  let topic: string | undefined;
  for (const s of [webka, reference]) {
    for (const p of [...one, ...several]) {
      const t = await createStream(s.port, p, 'application/octet-stream');
      if (s === webka && p === one[0]) topic = t;
    }
  }
  ctx.log(`(a) appends of ${MESSAGE_BYTES} B, ${APPEND_CONNECTIONS} connections, one stream`);
  const [ourOne, theirOne] = await alternate(ctx, appends(webka, 'one', one), appends(reference, 'one-ref', one));
  rows.push(compare({ name: `DS append ${MESSAGE_BYTES} B, ${APPEND_CONNECTIONS} conns, 1 stream (Webka fsyncs)`, unit: 'appends/s', runs: ourOne, baselineName: 'reference server (in memory)', baselineRuns: theirOne, minRatio: 2 }));
  rows.push(compare({ name: '  server CPU per append', unit: 'µs', better: 'lower', runs: cpu.runs('one'), baselineName: 'reference server', baselineRuns: cpu.runs('one-ref') }));

  ctx.log(`(a) appends of ${MESSAGE_BYTES} B, ${APPEND_CONNECTIONS} connections, ${STREAMS} streams`);
  const [ourMany, theirMany] = await alternate(ctx, appends(webka, 'many', several), appends(reference, 'many-ref', several));
  rows.push(compare({ name: `DS append ${MESSAGE_BYTES} B, ${APPEND_CONNECTIONS} conns, ${STREAMS} streams (Webka fsyncs)`, unit: 'appends/s', runs: ourMany, baselineName: 'reference server (in memory)', baselineRuns: theirMany, minRatio: 2 }));
  rows.push(compare({ name: '  server CPU per append', unit: 'µs', better: 'lower', runs: cpu.runs('many'), baselineName: 'reference server', baselineRuns: cpu.runs('many-ref') }));

  // The adapter always appends at acks=all (no switch); Webka's native produce of the same
  // bytes to the stream's topic shows what durability costs on the same connections.
  ctx.log('(a) native produce to the stream\'s topic, acks=all vs acks=1');
  const native = `/v1/clusters/streams/topics/${topic}/records`;
  const record = JSON.stringify({ records: [{ value: body.slice(2) }] });
  const [all, acks1] = await alternate(ctx, appends(webka, 'all', [`${native}?acks=all`], 200, 'application/json', record), appends(webka, 'acks1', [`${native}?acks=1`], 200, 'application/json', record));
  rows.push(compare({ name: `  Webka native produce 1 x ${MESSAGE_BYTES} B/request to the stream's topic, acks=all`, unit: 'requests/s', runs: all, baselineName: 'the same with acks=1', baselineRuns: acks1 }));

  // Durable appends spread over many partitions: each connection produces to its own partition,
  // so every commit round has up to PARTITIONS partitions to fsync.
  ctx.log(`(a) native produce over ${PARTITIONS} partitions, acks=all vs acks=1`);
  await api(webka.port, 'POST', '/v1/clusters/default/topics', { name: 'spread', partitions: PARTITIONS });
  const spread = (acks: string, label: string) => async (): Promise<number> => {
    const r = await cpu.time(webka, label, () =>
      load.run<ClosedLoopResult>({
        kind: 'closed',
        port: webka.port,
        connections: PARTITIONS,
        seconds: ctx.seconds,
        warmupSeconds: ctx.quick ? 0.3 : 0.5,
        method: 'POST',
        path: `/v1/clusters/default/topics/spread/records?acks=${acks}`,
        bodies: Array.from({ length: PARTITIONS }, (_, i) => JSON.stringify({ records: [{ partition: i, value: body.slice(2) }] })),
        expectStatus: 200,
      }),
    );
    if (r.failures > 0) throw new Error(`${r.failures} produce requests over ${PARTITIONS} partitions failed, first: ${r.firstFailure}`);
    return r.requests / r.seconds;
  };
  const [spreadAll, spread1] = await alternate(ctx, spread('all', 'spread-all'), spread('1', 'spread-1'));
  rows.push(compare({ name: `Webka native produce 1 x ${MESSAGE_BYTES} B/request, ${PARTITIONS} conns each to its own of ${PARTITIONS} partitions, acks=all`, unit: 'requests/s', runs: spreadAll, baselineName: 'the same with acks=1', baselineRuns: spread1, minRatio: 0.5 }));
  rows.push(compare({ name: '  server CPU per request, acks=all', unit: 'µs', better: 'lower', runs: cpu.runs('spread-all'), baselineName: 'acks=1', baselineRuns: cpu.runs('spread-1') }));

  ctx.note(
    `durable-streams: Webka fsyncs every append before answering (acks=all, group commit); the reference server (@durable-streams/server 0.3.7) keeps its data in memory. ` +
      `The adapter has no acks=1 switch, so Webka's appends are measured only as durable; the native produce row shows the fsync's cost on the same topic. ` +
      `Appends: closed loop, one request in flight per connection, from a separate load process. Fan-out: subscribers are raw sockets in the bench process (neither server's), latency from the append's send to receipt; RSS is the server child's peak during the run (both run under tsx), growth is that peak minus the RSS before the subscribers connected. ` +
      `The fan-out rate is 20 appends/s because at 100/s (100,000 deliveries/s) neither server keeps up on 2 shared cores.`,
  );
  return rows;
}

async function appendLoad(
  load: LoadGenerator,
  o: { port: number; paths: string[]; payload: string; contentType: string; expectStatus: number; seconds: number; warmupSeconds: number },
): Promise<ClosedLoopResult> {
  const r = await load.run<ClosedLoopResult>({
    kind: 'closed',
    port: o.port,
    connections: APPEND_CONNECTIONS,
    seconds: o.seconds,
    warmupSeconds: o.warmupSeconds,
    method: 'POST',
    path: o.paths[0],
    paths: o.paths,
    body: o.payload,
    contentType: o.contentType,
    expectStatus: o.expectStatus,
  });
  if (r.failures > 0) throw new Error(`${r.failures} of ${r.failures + r.requests} appends to ${o.paths[0]} failed, first: ${r.firstFailure}`);
  return r;
}
