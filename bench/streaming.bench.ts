/**
 * Real-time streams against a broker in a child process:
 *   (a) SSE fan-out: N streams (1,000; 100 with --quick) follow one topic that receives 1,000
 *       records/s; p50/p99 latency from the producer's send to receipt, and records/s delivered,
 *       beside the same measure with a single stream;
 *   (b) broker memory per idle SSE stream (RSS growth / N) beside an idle keep-alive connection;
 *   (c) WebSocket produce throughput (100 records of 100 B per frame, 32 frames in flight) beside
 *       batched HTTP produce of the same records (16 connections).
 * The fan-out streams are read by raw sockets that scan for the send time in each event, in a
 * process of their own (lib/sse-readers-child.ts), so that they cost as little as possible and
 * their CPU time is measured apart from the broker's: on a 2-core machine they still share the
 * cores with the broker, so beside the latency the broker's CPU per delivered record is reported,
 * and the readers' own.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { startBroker, startLoadGenerator, startSseReaders, api } from './lib/children.js';
import type { ClosedLoopResult } from './lib/http-client.js';
import { alternate, compare, sleep } from './lib/measure.js';
import { produceBody, valueOf } from './lib/records.js';
import { now, openSseReader } from './lib/sse-reader.js';
import type { BenchContext, BenchRow } from './lib/types.js';

/** Each event's value is {"t": send time}: the reader reports the latency of every one. */
const openStream = (port: number, path: string, onLatency: (ms: number) => void): Promise<net.Socket> => openSseReader(port, path, { open: '{"t":', close: '}' }, onLatency);

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const streams = ctx.quick ? 100 : 1000;
  const broker = await startBroker(ctx, { maxStreams: 10_000, maxStreamsPerAddress: 10_000, maxWebSockets: 100, heartbeatIntervalMs: 15_000 });
  const load = await startLoadGenerator(ctx);
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'fanout', partitions: 1 });
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'wsbench', partitions: 4 });
  const rows: BenchRow[] = [];

  // (b) memory per idle stream, beside an idle keep-alive connection (same socket, no stream)
  ctx.log(`(b) ${streams} idle SSE streams`);
  const idleConnection = async (): Promise<number> => {
    const before = broker.rss();
    const sockets = await Promise.all(
      Array.from({ length: streams }, () => new Promise<net.Socket>((resolve) => {
        const s = net.connect(broker.port, '127.0.0.1', () => {
          s.write('GET /health HTTP/1.1\r\nHost: bench\r\n\r\n');
          s.once('data', () => resolve(s));
        });
      })),
    );
    await sleep(300);
    const per = (broker.rss() - before) / streams / 1024;
    for (const s of sockets) s.destroy();
    await sleep(300);
    return per;
  };
  const idleStream = async (): Promise<number> => {
    const before = broker.rss();
    const sockets = await Promise.all(Array.from({ length: streams }, () => openStream(broker.port, '/v1/clusters/default/topics/fanout/records?offset=latest', () => undefined)));
    await sleep(300);
    const per = (broker.rss() - before) / streams / 1024;
    for (const s of sockets) s.destroy();
    await sleep(300);
    return per;
  };
  const [perStream, perConnection] = await alternate(ctx, idleStream, idleConnection);
  rows.push(compare({ name: `broker memory per idle SSE stream (${streams} streams, RSS)`, unit: 'KB', better: 'lower', runs: perStream, baselineName: 'per idle keep-alive connection', baselineRuns: perConnection, max: 20 }));

  // (a) fan-out latency at 1,000 records/s (10 records every 10 ms), read in another process
  const readers = await startSseReaders(ctx);
  interface FanOut {
    p50: number;
    p99: number;
    delivered: number;
    /** CPU µs per record delivered to one stream: the broker's, and the readers' process's. */
    brokerCpu: number;
    readerCpu: number;
  }
  const fanout = async (n: number): Promise<FanOut> => {
    await readers.open(broker.port, '/v1/clusters/default/topics/fanout/records?offset=latest', n, { open: '{"t":', close: '}' });
    await readers.reset();
    const brokerCpu0 = broker.cpuSeconds();
    const readerCpu0 = readers.cpuSeconds();
    const started = now();
    let sent = 0;
    const timer = setInterval(() => {
      const t = now();
      const records = Array.from({ length: 10 }, () => ({ value: { t } }));
      sent += 10;
      void fetch(`http://127.0.0.1:${broker.port}/v1/clusters/default/topics/fanout/records?acks=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) }).then((r) => r.text());
    }, 10);
    await sleep(ctx.seconds * 1000);
    clearInterval(timer);
    // records/s over the time they were produced in; the last ones may still be on their way
    const elapsed = (now() - started) / 1000;
    const deadline = now() + 2000;
    let stats = await readers.stats();
    while (stats.count < sent * n && now() < deadline) {
      await sleep(20);
      stats = await readers.stats();
    }
    const brokerCpu = broker.cpuSeconds() - brokerCpu0;
    const readerCpu = readers.cpuSeconds() - readerCpu0;
    await readers.close();
    if (stats.count < sent * n) ctx.note(`streaming: ${n} streams received ${stats.count} of ${sent * n} events in time`);
    const per = (cpu: number): number => (cpu * 1e6) / Math.max(1, stats.count);
    return { p50: stats.p50, p99: stats.p99, delivered: stats.count / elapsed, brokerCpu: per(brokerCpu), readerCpu: per(readerCpu) };
  };
  ctx.log(`(a) SSE fan-out: ${streams} streams at 1,000 records/s`);
  const many: FanOut[] = [];
  const one: FanOut[] = [];
  await alternate(ctx, async () => (many.push(await fanout(streams)), 0), async () => (one.push(await fanout(1)), 0));
  rows.push(compare({ name: `SSE fan-out ${streams} streams, 1,000 rec/s: p50 latency`, unit: 'ms', better: 'lower', runs: many.map((r) => r.p50), baselineName: 'one stream', baselineRuns: one.map((r) => r.p50) }));
  rows.push(compare({ name: `SSE fan-out ${streams} streams, 1,000 rec/s: p99 latency`, unit: 'ms', better: 'lower', runs: many.map((r) => r.p99), baselineName: 'one stream', baselineRuns: one.map((r) => r.p99), max: 15 }));
  rows.push(compare({ name: `SSE fan-out ${streams} streams: records delivered`, unit: 'records/s', runs: many.map((r) => r.delivered), min: streams * 1000 * 0.95 }));
  rows.push(compare({ name: '  broker CPU per record delivered to a stream', unit: 'µs', better: 'lower', runs: many.map((r) => r.brokerCpu), baselineName: 'one stream', baselineRuns: one.map((r) => r.brokerCpu) }));
  rows.push(compare({ name: '  readers\' CPU per record delivered (their own process)', unit: 'µs', better: 'lower', runs: many.map((r) => r.readerCpu), baselineName: 'broker CPU per record', baselineRuns: many.map((r) => r.brokerCpu) }));

  // (c) WebSocket produce vs batched HTTP produce, 100 records of 100 B per request
  ctx.log('(c) WebSocket produce vs HTTP produce');
  const ws = new WebSocket(`ws://127.0.0.1:${broker.port}/v1/ws`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ctx.onCleanup(() => ws.close());
  const frameRecords = Array.from({ length: 100 }, () => ({ value: valueOf(100) }));
  // the broker's CPU per 100-record request of each kind, beside the rates
  const wsCpu: number[] = [];
  const httpCpu: number[] = [];
  const cpuPer = (into: number[], measure: () => Promise<{ rate: number; requests: number }>) => async (): Promise<number> => {
    const cpu0 = broker.cpuSeconds();
    const { rate, requests } = await measure();
    into.push(((broker.cpuSeconds() - cpu0) * 1e6) / Math.max(1, requests));
    return rate;
  };
  const wsProduce = async (): Promise<{ rate: number; requests: number }> => {
    let id = 0;
    let done = 0;
    let failed = '';
    const inFlight = 32;
    const end = now() + ctx.seconds * 1000;
    const started = now();
    await new Promise<void>((resolve) => {
      const send = (): void => {
        ws.send(JSON.stringify({ type: 'produce', id: id++, cluster: 'default', topic: 'wsbench', acks: 1, records: frameRecords }));
      };
      const onMessage = (data: WebSocket.RawData): void => {
        const f = JSON.parse(data.toString());
        if (f.type === 'error') failed ||= JSON.stringify(f);
        if (f.type !== 'produced' && f.type !== 'error') return;
        done++;
        if (now() < end) send();
        else if (done === id) {
          ws.off('message', onMessage);
          resolve();
        }
      };
      ws.on('message', onMessage);
      for (let i = 0; i < inFlight; i++) send();
    });
    if (failed) throw new Error(`WebSocket produce failed: ${failed}`);
    return { rate: (done * 100) / ((now() - started) / 1000), requests: done };
  };
  const body = produceBody(100);
  const httpProduce = async (): Promise<{ rate: number; requests: number }> => {
    const r = await load.run<ClosedLoopResult>({ kind: 'closed', port: broker.port, connections: 16, seconds: ctx.seconds, warmupSeconds: 0.3, method: 'POST', path: '/v1/clusters/default/topics/wsbench/records?acks=1', body, expectStatus: 200 });
    if (r.failures > 0) throw new Error(`${r.failures} HTTP produce requests failed: ${r.firstFailure}`);
    return { rate: (r.requests * 100) / r.seconds, requests: r.requests };
  };
  const [wsRuns, httpRuns] = await alternate(ctx, cpuPer(wsCpu, wsProduce), cpuPer(httpCpu, httpProduce));
  rows.push(compare({ name: 'WebSocket produce 100 x 100 B/frame, acks=1, 32 in flight', unit: 'records/s', runs: wsRuns, baselineName: 'HTTP produce, same records, 16 conns', baselineRuns: httpRuns }));
  rows.push(compare({ name: '  broker CPU per 100-record frame', unit: 'µs', better: 'lower', runs: wsCpu, baselineName: 'per 100-record HTTP request', baselineRuns: httpCpu }));
  ctx.note(
    `streaming: latency is from the producer's send (value "t") to receipt by raw-socket SSE readers in a process of their own; 1,000 records/s as 10 records every 10 ms, acks=1, one partition; ` +
      'on 2 cores the readers (1M events/s to scan at 1,000 streams) compete with the broker for the CPU, so the fan-out latency and throughput are a floor for the broker, not its limit: CPU per delivered record (from /proc, both processes) shows the broker\'s share; ' +
      'memory is the broker\'s RSS growth divided by the number of streams.',
  );
  return rows;
}
