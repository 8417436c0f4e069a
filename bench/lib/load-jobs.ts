/**
 * The load a benchmark puts on a server, run in a separate process (load-child.ts) so that the
 * load generator and the server do not share one event loop. Each job is plain data in, plain
 * data out, so it crosses the IPC channel as JSON.
 */
import { performance } from 'node:perf_hooks';
import { buildRequest, closedLoop, Connection, type ClosedLoopResult } from './http-client.js';
import { percentile } from './measure.js';

export interface ClosedJob {
  kind: 'closed';
  port: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  method: string;
  path: string;
  /** When given, connection i sends to paths[i % paths.length] instead of `path`. */
  paths?: string[];
  body?: string;
  /** When given, connection i sends bodies[i % bodies.length] instead of `body`. */
  bodies?: string[];
  /** A binary body, base64 (jobs cross a process boundary as JSON); instead of `body`. */
  bodyBase64?: string;
  /** Of the body; application/json unless given. */
  contentType?: string;
  /** Extra request headers, e.g. Authorization. */
  headers?: Record<string, string>;
  expectStatus: number;
}

/** Each connection reads one partition from offset 0 to endOffset, again and again. */
export interface ConsumeJob {
  kind: 'consume';
  port: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** e.g. /v1/clusters/default/topics/t/partitions/ ; the partition number and query follow. */
  partitionsPath: string;
  partitions: number;
  endOffset: number;
  maxRecords: number;
}

/**
 * A producer at a fixed rate (records/s, sent every millisecond or so as one request of the
 * records due) and one consumer long-polling the same partition; latency from a record's send
 * time (carried in its value, sub-millisecond) to its arrival at the consumer.
 */
export interface LatencyJob {
  kind: 'latency';
  port: number;
  seconds: number;
  warmupSeconds: number;
  rate: number;
  producePath: string;
  fetchPath: string;
  valueBytes: number;
}

/** The same request rate as LatencyJob, each request a bare round trip: the HTTP floor. */
export interface RoundTripJob {
  kind: 'roundtrip';
  port: number;
  seconds: number;
  warmupSeconds: number;
  rate: number;
  path: string;
  valueBytes: number;
}

export type Job = ClosedJob | ConsumeJob | LatencyJob | RoundTripJob;

export interface LatencyResult {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Records produced (sent) after the warm-up, the ones whose latency counts: a consumer that falls behind shows as count < sent. */
  sent: number;
}

export type JobResult = ClosedLoopResult | (ClosedLoopResult & { records: number }) | LatencyResult;

export async function runJob(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case 'closed': {
      const paths = job.paths ?? [job.path];
      const bodies: Array<string | Buffer | undefined> = job.bodyBase64 !== undefined ? [Buffer.from(job.bodyBase64, 'base64')] : (job.bodies ?? [job.body]);
      const reqs = Array.from({ length: Math.max(paths.length, bodies.length) }, (_, i) =>
        buildRequest(job.method, `127.0.0.1:${job.port}`, paths[i % paths.length], bodies[i % bodies.length], job.contentType, job.headers),
      );
      return closedLoop({ ...job, next: (conn) => reqs[conn % reqs.length] });
    }
    case 'consume':
      return consume(job);
    case 'latency':
      return latency(job);
    case 'roundtrip':
      return roundTrip(job);
  }
}

async function consume(job: ConsumeJob): Promise<ClosedLoopResult & { records: number }> {
  const offsets = new Array<number>(job.connections).fill(0);
  const host = `127.0.0.1:${job.port}`;
  let records = 0;
  let counting = false;
  const warm = setTimeout(() => (counting = true), job.warmupSeconds * 1000);
  const result = await closedLoop({
    ...job,
    expectStatus: 200,
    next: (i) => buildRequest('GET', host, `${job.partitionsPath}${i % job.partitions}/records?offset=${offsets[i]}&maxRecords=${job.maxRecords}`),
    onResponse: (i, r) => {
      if (r.status !== 200) return;
      // the answer ends with "nextOffset":N,"highWatermark":..: read only its tail
      const tail = r.body.toString('latin1', Math.max(0, r.body.length - 120));
      const m = /"nextOffset":(\d+)/.exec(tail);
      if (m === null) throw new Error(`no nextOffset in ${tail}`);
      const next = Number(m[1]);
      if (counting) records += next - offsets[i];
      offsets[i] = next >= job.endOffset ? 0 : next;
    },
  });
  clearTimeout(warm);
  return { ...result, records };
}

function padding(valueBytes: number): string {
  // {"t":1764000000000.123,"p":"xx…"} is valueBytes long
  return 'x'.repeat(Math.max(0, valueBytes - 32));
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Calls send(due) about every millisecond with the number of records due at `rate`. */
export async function paced(seconds: number, rate: number, send: (n: number) => void): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
    if (due > 0) {
      send(due);
      sent += due;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return sent;
}

/** A small pool so that a slow answer does not hold back the next send (the rate stays fixed). */
export async function pool(port: number, size: number): Promise<{ send(req: Buffer, onDone: (status: number) => void): void; close(): void }> {
  const idle = await Promise.all(Array.from({ length: size }, () => Connection.open(port)));
  const all = [...idle];
  const backlog: Array<[Buffer, (status: number) => void]> = [];
  const start = (c: Connection, req: Buffer, onDone: (status: number) => void): void => {
    c.send(req).then(
      (r) => {
        onDone(r.status);
        const next = backlog.shift();
        if (next) start(c, next[0], next[1]);
        else idle.push(c);
      },
      () => onDone(0),
    );
  };
  return {
    send(req, onDone) {
      const c = idle.pop();
      if (c) start(c, req, onDone);
      else backlog.push([req, onDone]);
    },
    close() {
      for (const c of all) c.close();
    },
  };
}

async function latency(job: LatencyJob): Promise<LatencyResult> {
  const host = `127.0.0.1:${job.port}`;
  const pad = padding(job.valueBytes);
  const producers = await pool(job.port, 8);
  const consumer = await Connection.open(job.port);
  const samples: number[] = [];
  const countFrom = nowMs() + job.warmupSeconds * 1000;
  let offset = -1;
  let running = true;
  let failures = 0;

  // the consumer starts at the end of the log and long-polls from there
  const first = await consumer.send(buildRequest('GET', host, `${job.fetchPath}?offset=latest&maxRecords=1`));
  offset = Number(/"nextOffset":(\d+)/.exec(first.body.toString())![1]);
  const consuming = (async () => {
    while (running) {
      const r = await consumer.send(buildRequest('GET', host, `${job.fetchPath}?offset=${offset}&maxRecords=10000&maxWaitMs=500`));
      const now = nowMs();
      if (r.status !== 200) throw new Error(`fetch answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
      const body = JSON.parse(r.body.toString()) as { records: Array<{ value: { t: number } }>; nextOffset: number };
      for (const rec of body.records) if (rec.value.t >= countFrom) samples.push(now - rec.value.t);
      offset = body.nextOffset;
    }
  })();

  let sent = 0;
  await paced(job.warmupSeconds + job.seconds, job.rate, (n) => {
    const t = nowMs();
    if (t >= countFrom) sent += n;
    let body = '{"records":[';
    for (let i = 0; i < n; i++) body += `${i > 0 ? ',' : ''}{"value":{"t":${t.toFixed(3)},"p":"${pad}"}}`;
    body += ']}';
    producers.send(buildRequest('POST', host, job.producePath, body), (status) => {
      if (status !== 200) failures++;
    });
  });
  await new Promise((r) => setTimeout(r, 200));
  running = false;
  await consuming;
  producers.close();
  consumer.close();
  if (failures > 0) throw new Error(`${failures} produce requests failed`);
  return summarizeLatency(samples, sent);
}

async function roundTrip(job: RoundTripJob): Promise<LatencyResult> {
  const host = `127.0.0.1:${job.port}`;
  const pad = padding(job.valueBytes);
  const conns = await pool(job.port, 8);
  const samples: number[] = [];
  const countFrom = performance.now() + job.warmupSeconds * 1000;
  let sent = 0;
  await paced(job.warmupSeconds + job.seconds, job.rate, (n) => {
    const t = performance.now();
    if (t >= countFrom) sent += n;
    let body = '{"records":[';
    for (let i = 0; i < n; i++) body += `${i > 0 ? ',' : ''}{"value":{"t":${t.toFixed(3)},"p":"${pad}"}}`;
    body += ']}';
    conns.send(buildRequest('POST', host, job.path, body), () => {
      if (t >= countFrom) for (let i = 0; i < n; i++) samples.push(performance.now() - t);
    });
  });
  await new Promise((r) => setTimeout(r, 200));
  conns.close();
  return summarizeLatency(samples, sent);
}

function summarizeLatency(samples: number[], sent: number): LatencyResult {
  const sorted = Float64Array.from(samples).sort();
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, sent };
}
