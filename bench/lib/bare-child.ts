/**
 * The baseline server: plain Fastify in its own process, as the broker is, doing only the part
 * of a request that every HTTP service pays.
 *   POST /parse       parses the JSON body (Fastify's parser, the broker's body limit) and
 *                     answers {"accepted":n}
 *   GET  /body/:bytes answers a JSON body of that many bytes, built once (the fetch baseline)
 *   POST /write       takes a binary body (application/vnd.webka.recordbatch) as bytes, appends
 *                     them to a file (one write, no fsync: the broker's acks=1) and answers
 *                     {"written":bytes} (the binary produce baseline)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-bench-bare-'));
const fd = fs.openSync(path.join(dir, 'log'), 'a');
let written = 0;
app.addContentTypeParser('application/vnd.webka.recordbatch', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
app.post('/write', async (request) => {
  const body = request.body as Buffer;
  fs.writeSync(fd, body);
  // keep the file from filling the disk over a long run
  if ((written += body.length) > 256 * 1024 * 1024) {
    fs.ftruncateSync(fd, 0);
    written = 0;
  }
  return `{"written":${body.length}}`;
});
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
app.post('/parse', async (request) => {
  const body = request.body as { records?: unknown[] };
  return `{"accepted":${Array.isArray(body.records) ? body.records.length : 1}}`;
});
const bodies = new Map<number, string>();
app.get<{ Params: { bytes: string } }>('/body/:bytes', async (request, reply) => {
  const n = Number(request.params.bytes);
  let body = bodies.get(n);
  if (body === undefined) bodies.set(n, (body = `{"x":"${'x'.repeat(Math.max(0, n - 8))}"}`));
  return reply.type('application/json; charset=utf-8').send(body);
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.on('disconnect', () => void app.close().finally(() => process.exit(0)));
process.on('SIGTERM', () => void app.close().finally(() => process.exit(0)));
process.send!({ ready: true, port: typeof address === 'object' && address !== null ? address.port : 0 });
