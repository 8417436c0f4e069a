import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest } from '../support/rest.js';
import { streamingHub } from '../../src/http/streaming/index.js';
import type { SseStream } from '../../src/http/streaming/sse-stream.js';

const MB = 1024 * 1024;
let broker: TestBroker | undefined;
after(() => broker?.close());

const mb = (n: number): string => (n / MB).toFixed(1) + ' MB';

// A full collection before each measurement, so that garbage from producing is not counted.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const held = async (): Promise<{ heap: number; external: number; total: number }> => {
  // twice, a turn apart: external strings (request bodies) are freed by finalizers after a GC
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, total: m.heapUsed + m.external };
};

test('a stalled reader does not grow the broker\'s memory: it stops reading the log for it', async () => {
  broker = await startBroker({ config: { streamReadBytes: 256 * 1024 } });
  const api = rest(broker.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'bp', partitions: 1 })).status, 201);
  const hub = streamingHub(broker.server.app.webka);

  // A raw TCP client that sends the request and then never reads: Node stops pulling from the
  // kernel once its own small buffer is full, so the broker's socket fills and write() says no.
  const { port } = new URL(broker.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.pause();
  socket.write('GET /v1/clusters/default/topics/bp/partitions/0/records?valueFormat=text HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
  while (hub.sseStreams.size === 0) await new Promise((r) => setTimeout(r, 5));
  const stream: SseStream = [...hub.sseStreams][0];

  const before = await held();
  const value = 'v'.repeat(10 * 1024);
  const produced = 50 * MB;
  for (let sent = 0; sent < produced; sent += 100 * value.length) {
    const r = await api.call('POST', '/v1/clusters/default/topics/bp/records', { valueFormat: 'text', records: Array.from({ length: 100 }, () => ({ value })) });
    assert.equal(r.status, 200, r.text);
  }
  // Give the stream every chance to keep reading if it were going to.
  await new Promise((r) => setTimeout(r, 300));
  const now = await held();
  const grown = now.total - before.total;
  const written = stream.charsWritten;
  const buffered = stream.buffered;
  console.log(
    `stalled SSE reader: produced ${mb(produced)}; handed to the socket ${mb(written)}; waiting in Node's buffer ${mb(buffered)}; ` +
      `process heap ${mb(before.heap)} -> ${mb(now.heap)}, external ${mb(before.external)} -> ${mb(now.external)} (after full GCs)`,
  );
  // What reached the socket is the kernel's buffers (a few MB on loopback) plus one read: far
  // below the 50 MB an unbounded writer would have queued for this client.
  assert.ok(written < 20 * MB, `the stream wrote ${mb(written)} for a client that reads nothing`);
  // Node's own buffer for the response holds at most one read's events beyond its high-water
  // mark; a read is streamReadBytes but at least one whole batch (1 MB here: 100 records).
  assert.ok(buffered < 2 * MB, `${mb(buffered)} waiting in the response buffer`);
  // Held memory: the unbounded approach would hold the 50 MB (as strings) for this client.
  assert.ok(grown < 20 * MB, `the process holds ${mb(grown)} more`);

  // Once the client reads again, the drain resumes the stream.
  socket.resume();
  socket.on('data', () => undefined);
  const deadline = Date.now() + 5000;
  while (stream.charsWritten <= written && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(stream.charsWritten > written, 'reading resumed after drain');
  socket.destroy();
});
