/**
 * Durable Streams and Webka's own API over the same log: what the conformance suite cannot see.
 * A real broker on port 0 with a temporary data directory; clients are plain fetch calls.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/server.js';
import { loadConfig } from '../../src/config/config.js';
import { encodeOffset } from '../../src/durable-streams/offsets.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function start(dataDir?: string): Promise<RunningServer & { dataDir: string }> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'webka-ds-native-'));
  if (dataDir === undefined) dirs.push(dir);
  const config = loadConfig({ flags: { port: 0, kafkaPort: 0, host: '127.0.0.1', dataDir: dir, logLevel: 'silent', streamLongPollMs: 1000 }, env: {}, cwd: dir });
  return Object.assign(await startServer(config), { dataDir: dir });
}

function call(base: string, method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(base + p, { method, headers, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body) });
}

async function nativeValues(base: string, topic: string, format: 'text' | 'json'): Promise<Array<{ offset: number; value: unknown }>> {
  const res = await fetch(`${base}/v1/clusters/streams/topics/${topic}/partitions/0/records?offset=earliest&valueFormat=${format}`);
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { records: Array<{ offset: number; value: unknown }> };
  return body.records.map((r) => ({ offset: r.offset, value: r.value }));
}

describe('a stream is a topic of the streams cluster', () => {
  test('the native fetch API and the protocol read the same records at the same offsets', async () => {
    const s = await start();
    try {
      const stream = '/v1/stream/native/a%20b%2Fc'; // a path no topic name could hold as it is
      const put = await call(s.url, 'PUT', stream, 'one', { 'content-type': 'text/plain' });
      assert.equal(put.status, 201);
      const topic = put.headers.get('webka-topic')!;
      assert.match(topic, /^native_a_b_c\.[0-9a-f]{24}$/);
      for (const v of ['two', 'three']) assert.equal((await call(s.url, 'POST', stream, v, { 'content-type': 'text/plain' })).status, 204);

      assert.deepEqual(await nativeValues(s.url, topic, 'text'), [
        { offset: 0, value: 'one' },
        { offset: 1, value: 'two' },
        { offset: 2, value: 'three' },
      ]);
      const all = await call(s.url, 'GET', stream);
      assert.equal(await all.text(), 'onetwothree');
      assert.equal(all.headers.get('stream-next-offset'), encodeOffset(3));
      // a protocol offset is the Webka offset of the next record
      const fromOne = await call(s.url, 'GET', `${stream}?offset=${encodeOffset(1)}`);
      assert.equal(await fromOne.text(), 'twothree');

      // and a record produced natively is part of the stream
      const produced = await fetch(`${s.url}/v1/clusters/streams/topics/${topic}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ value: 'four', partition: 0 }], valueFormat: 'text' }),
      });
      assert.equal(produced.status, 200, await produced.clone().text());
      const tail = await call(s.url, 'GET', `${stream}?offset=${encodeOffset(3)}`);
      assert.equal(await tail.text(), 'four');
      assert.equal(tail.headers.get('stream-next-offset'), encodeOffset(4));
    } finally {
      await s.close();
    }
  });

  test('a JSON append is one record per value, in one batch', async () => {
    const s = await start();
    try {
      const stream = '/v1/stream/native-json';
      const put = await call(s.url, 'PUT', stream, undefined, { 'content-type': 'application/json' });
      const topic = put.headers.get('webka-topic')!;
      assert.equal((await call(s.url, 'POST', stream, '[{"a":1},[2,3],"x"]', { 'content-type': 'application/json' })).status, 204);
      assert.equal((await call(s.url, 'POST', stream, 'null', { 'content-type': 'application/json' })).status, 204);
      assert.deepEqual(await nativeValues(s.url, topic, 'json'), [
        { offset: 0, value: { a: 1 } },
        { offset: 1, value: [2, 3] },
        { offset: 2, value: 'x' },
        { offset: 3, value: null },
      ]);
      assert.equal(await (await call(s.url, 'GET', stream)).text(), '[{"a":1},[2,3],"x",null]');
    } finally {
      await s.close();
    }
  });
});

test('no stream path, however encoded, names a file: partition directories are topic ids', async () => {
  const s = await start();
  try {
    const parent = path.dirname(s.dataDir);
    const before = new Set(fs.readdirSync(parent));
    for (const p of ['..%2F..%2Fescape-a', '%2E%2E%2F%2E%2E%2Fescape-b', '..%5C..%5Cescape-c', '%2Fetc%2Fescape-d']) {
      const put = await call(s.url, 'PUT', `/v1/stream/${p}`, 'x', { 'content-type': 'text/plain' });
      assert.equal(put.status, 201, p);
      assert.equal(await (await call(s.url, 'GET', `/v1/stream/${p}`)).text(), 'x');
    }
    const added = fs.readdirSync(parent).filter((f) => !before.has(f) && f.includes('escape'));
    assert.deepEqual(added, []);
    for (const d of fs.readdirSync(path.join(s.dataDir, 'logs'))) assert.match(d, /^[0-9a-f]+-\d+$/);
  } finally {
    await s.close();
  }
});

describe('retention', () => {
  test('trims a stream from its start; older offsets answer 410 Gone and the tail is kept', async () => {
    const s = await start();
    try {
      const stream = '/v1/stream/retained';
      const put = await call(s.url, 'PUT', stream, undefined, { 'content-type': 'application/octet-stream' });
      const topic = put.headers.get('webka-topic')!;
      // small segments, and keep about two of them
      const alter = await fetch(`${s.url}/v1/clusters/streams/topics/${topic}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ configs: { 'segment.bytes': 1024, 'retention.bytes': 2048 } }),
      });
      assert.equal(alter.status, 200, await alter.clone().text());
      const chunk = Buffer.alloc(400, 7);
      for (let i = 0; i < 12; i++) assert.equal((await call(s.url, 'POST', stream, chunk, { 'content-type': 'application/octet-stream' })).status, 204);

      // negative control: before retention runs, everything is there
      const before = await call(s.url, 'GET', `${stream}?offset=${encodeOffset(0)}`);
      assert.equal(before.status, 200);
      assert.equal((await before.arrayBuffer()).byteLength, 12 * 400);

      assert.ok(s.broker.applyRetention(Date.now()) > 0, 'retention deleted no segment');
      const earliest = s.broker.listOffsets('streams', topic, 0).earliest;
      assert.ok(earliest > 0 && earliest < 12);

      const gone = await call(s.url, 'GET', `${stream}?offset=${encodeOffset(0)}`);
      assert.equal(gone.status, 410);
      const fromStart = await call(s.url, 'GET', `${stream}?offset=-1`);
      assert.equal(fromStart.status, 200);
      assert.equal((await fromStart.arrayBuffer()).byteLength, (12 - earliest) * 400);
      assert.equal(fromStart.headers.get('stream-next-offset'), encodeOffset(12));
      const kept = await call(s.url, 'GET', `${stream}?offset=${encodeOffset(earliest)}`);
      assert.equal(kept.status, 200);
      const head = await call(s.url, 'HEAD', stream);
      assert.equal(head.headers.get('stream-next-offset'), encodeOffset(12));
    } finally {
      await s.close();
    }
  });
});

describe('restart', () => {
  test('keeps streams, offsets, metadata, closure, forks, Stream-Seq and producer state', async () => {
    const first = await start();
    const dataDir = first.dataDir;
    const json = { 'content-type': 'application/json' };
    const producer = (seq: number): Record<string, string> => ({ ...json, 'producer-id': 'writer-1', 'producer-epoch': '3', 'producer-seq': String(seq) });
    let ttlHead: Headers;
    try {
      assert.equal((await call(first.url, 'PUT', '/v1/stream/kept', undefined, { ...json, 'stream-ttl': '3600' })).status, 201);
      assert.equal((await call(first.url, 'POST', '/v1/stream/kept', '{"n":0}', producer(0))).status, 200);
      assert.equal((await call(first.url, 'POST', '/v1/stream/kept', '{"n":1}', { ...producer(1), 'stream-seq': 'b' })).status, 200);
      assert.equal((await call(first.url, 'PUT', '/v1/stream/kept-fork', undefined, { 'stream-forked-from': '/v1/stream/kept' })).status, 201);
      assert.equal((await call(first.url, 'PUT', '/v1/stream/done', 'final', { 'content-type': 'text/plain', 'stream-closed': 'true' })).status, 201);
      ttlHead = (await call(first.url, 'HEAD', '/v1/stream/kept')).headers;
    } finally {
      await first.close();
    }

    const second = await start(dataDir);
    try {
      const head = await call(second.url, 'HEAD', '/v1/stream/kept');
      assert.equal(head.status, 200);
      for (const h of ['content-type', 'stream-ttl', 'stream-next-offset', 'webka-topic']) assert.equal(head.headers.get(h), ttlHead.get(h), h);
      assert.equal(head.headers.get('stream-next-offset'), encodeOffset(2));

      // a retried request after the restart is a duplicate: answered, not written again
      const retry = await call(second.url, 'POST', '/v1/stream/kept', '{"n":1}', producer(1));
      assert.equal(retry.status, 204);
      assert.equal(retry.headers.get('producer-seq'), '1');
      const stale = await call(second.url, 'POST', '/v1/stream/kept', '{"n":9}', { ...producer(2), 'producer-epoch': '2' });
      assert.equal(stale.status, 403);
      assert.equal(stale.headers.get('producer-epoch'), '3');
      const gap = await call(second.url, 'POST', '/v1/stream/kept', '{"n":9}', producer(5));
      assert.equal(gap.status, 409);
      assert.equal(gap.headers.get('producer-expected-seq'), '2');
      // Stream-Seq is read back from the log tail
      assert.equal((await call(second.url, 'POST', '/v1/stream/kept', '{"n":9}', { ...json, 'stream-seq': 'a' })).status, 409);
      assert.equal((await call(second.url, 'POST', '/v1/stream/kept', '{"n":2}', { ...producer(2), 'stream-seq': 'c' })).status, 200);
      assert.equal(await (await call(second.url, 'GET', '/v1/stream/kept')).text(), '[{"n":0},{"n":1},{"n":2}]');

      // the fork still reads its inherited records, and not the source's later ones
      const fork = await call(second.url, 'GET', '/v1/stream/kept-fork');
      assert.equal(await fork.text(), '[{"n":0},{"n":1}]');
      assert.equal(fork.headers.get('content-type'), 'application/json');
      // its source cannot be deleted out from under it
      assert.equal((await call(second.url, 'DELETE', '/v1/stream/kept')).status, 204);
      assert.equal((await call(second.url, 'HEAD', '/v1/stream/kept')).status, 410);
      assert.equal(await (await call(second.url, 'GET', '/v1/stream/kept-fork')).text(), '[{"n":0},{"n":1}]');

      const done = await call(second.url, 'POST', '/v1/stream/done', 'more', { 'content-type': 'text/plain' });
      assert.equal(done.status, 409);
      assert.equal(done.headers.get('stream-closed'), 'true');
      assert.equal(await (await call(second.url, 'GET', '/v1/stream/done')).text(), 'final');
    } finally {
      await second.close();
    }
  });
});
