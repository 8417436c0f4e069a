import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';

let broker: TestBroker;
let api: Rest;
const lines: any[] = [];

before(async () => {
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  broker = await startBroker({ config: { bodyLimit: 123_456 }, logger: { level: 'debug', stream } });
  api = rest(broker.url);
});
after(() => broker.close());

test('/health and /ready answer 200', async () => {
  const h = await api.get('/health');
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'ok');
  const r = await api.get('/ready');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ready');
  assert.deepEqual(r.body.offlinePartitions, []);
});

test('/openapi.json is an OpenAPI 3 document listing the routes', async () => {
  const o = await api.get('/openapi.json');
  assert.equal(o.status, 200);
  assert.match(o.headers.get('content-type') ?? '', /json/);
  assert.match(o.body.openapi, /^3\./);
  assert.equal(typeof o.body.info.title, 'string');
  const paths = Object.keys(o.body.paths);
  for (const p of [
    '/health',
    '/ready',
    '/v1/clusters',
    '/v1/clusters/{cluster}',
    '/v1/clusters/{cluster}/topics',
    '/v1/clusters/{cluster}/topics/{topic}',
    '/v1/clusters/{cluster}/topics/{topic}/records',
    '/v1/clusters/{cluster}/topics/{topic}/partitions',
    '/v1/clusters/{cluster}/topics/{topic}/partitions/{partition}/records',
    '/v1/clusters/{cluster}/topics/{topic}/partitions/{partition}/offsets',
    '/v1/clusters/{cluster}/producers',
  ]) {
    assert.ok(paths.includes(p), `${p} missing from ${paths.join(', ')}`);
  }
  assert.ok(o.body.paths['/v1/clusters/{cluster}/topics/{topic}/records'].post);
  assert.ok(o.body.paths['/v1/clusters/{cluster}/topics/{topic}'].patch);
  assert.ok(o.body.paths['/v1/clusters/{cluster}/topics/{topic}'].delete);
  // every operation documents its responses, and the JSON round-trips
  for (const [p, ops] of Object.entries<any>(o.body.paths)) {
    for (const [m, op] of Object.entries<any>(ops)) assert.ok(op.responses && Object.keys(op.responses).length > 0, `${m} ${p} has no responses`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(o.body)), o.body);
});

test('/docs answers an HTML page', async () => {
  const res = await fetch(broker.url + '/docs', { redirect: 'follow' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await res.text(), /<html/i);
});

test('responses carry x-request-id; a given one is echoed, a bad one replaced', async () => {
  const a = await api.get('/health');
  const id = a.headers.get('x-request-id');
  assert.ok(id !== null && id.length > 0);
  const b = await api.get('/health');
  assert.notEqual(b.headers.get('x-request-id'), id);
  const given = await api.call('GET', '/health', undefined, { 'x-request-id': 'trace-abc.123' });
  assert.equal(given.headers.get('x-request-id'), 'trace-abc.123');
  const bad = await api.call('GET', '/health', undefined, { 'x-request-id': 'no spaces <allowed>' });
  assert.notEqual(bad.headers.get('x-request-id'), 'no spaces <allowed>');
  // errors too, including the ones raised before routing
  for (const p of ['/v1/nothing', '/v1/clusters/%C0%AE/topics', '/v1/clusters/nope/topics']) {
    const e = await api.get(p);
    assert.ok(e.status >= 400);
    assert.ok((e.headers.get('x-request-id') ?? '').length > 0, `${p} has no x-request-id`);
  }
});

test('logs are JSON: the effective configuration at start, and request logs with the request id', async () => {
  const start = lines.find((l) => l.config !== undefined);
  assert.ok(start, 'no line with the effective configuration');
  assert.equal(start.config.bodyLimit, 123_456);
  assert.equal(start.config.dataDir, broker.dataDir);
  assert.equal(start.config.port, 0);
  assert.equal(typeof start.level, 'number');
  assert.equal(typeof start.time, 'number');

  await api.call('GET', '/v1/clusters', undefined, { 'x-request-id': 'log-me-42' });
  await new Promise((r) => setTimeout(r, 50));
  const mine = lines.filter((l) => l.requestId === 'log-me-42');
  assert.ok(mine.length >= 1, 'no log line carries the request id');
  assert.ok(mine.some((l) => l.req?.url === '/v1/clusters' && l.res?.statusCode === 200 && l.level === 20), JSON.stringify(mine));

  // refused requests are logged one level up, so the default (info) log shows them
  await api.call('GET', '/v1/clusters/nope', undefined, { 'x-request-id': 'log-me-404' });
  await new Promise((r) => setTimeout(r, 50));
  const refused = lines.filter((l) => l.requestId === 'log-me-404' && l.msg === 'request completed');
  assert.equal(refused.length, 1, JSON.stringify(refused));
  assert.equal(refused[0].level, 30);
  assert.equal(refused[0].res.statusCode, 404);
});
