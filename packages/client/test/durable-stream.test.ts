/**
 * Reading Durable Streams through the SDK against a real broker: a JSON stream's values, a text
 * stream's text and a binary stream's bytes (base64) with the stream's offsets; a follower that
 * catches up, then gets an append live, and ends when the stream is closed; and a missing stream
 * refused with NOT_FOUND.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError, STREAM_START, type StreamChunk } from '../src/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

let broker: TestBroker;
let webka: Webka;
before(async () => {
  broker = await startTestBroker();
  webka = new Webka({ url: broker.url });
});
after(async () => {
  await broker.close();
});

async function call(method: string, path: string, contentType: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${broker.url}/v1/stream/${path}`, { method, headers: { 'content-type': contentType, ...headers }, body });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
}

describe('durable streams through the SDK', () => {
  test('read: JSON values, text and binary, with the stream offsets', async () => {
    await call('PUT', 'sdk/json', 'application/json');
    await call('POST', 'sdk/json', 'application/json', JSON.stringify([{ n: 1 }, { n: 2 }]));
    await call('POST', 'sdk/json', 'application/json', JSON.stringify({ n: 3 }));
    const all = await webka.durableStream('sdk/json').read();
    assert.deepEqual(all.data, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.equal(all.encoding, 'json');
    assert.equal(all.offset, STREAM_START);
    assert.equal(all.nextOffset, '0000000000000000_0000000000000003');
    assert.equal(all.upToDate, true);
    const rest = await webka.durableStream('/sdk/json').read({ offset: '0000000000000000_0000000000000002' });
    assert.deepEqual(rest.data, [{ n: 3 }]);

    await call('PUT', 'sdk/room 1', 'text/plain', 'hello ');
    await call('POST', 'sdk/room 1', 'text/plain', 'world');
    const text = await webka.durableStream('sdk/room 1').read();
    assert.deepEqual([text.encoding, text.data], ['text', 'hello world']);

    await call('PUT', 'sdk/bin', 'application/octet-stream', new Uint8Array([0, 255, 1]));
    const bin = await webka.durableStream('sdk/bin').read();
    assert.deepEqual([bin.encoding, bin.data], ['base64', Buffer.from([0, 255, 1]).toString('base64')]);
  });

  test('follow: catches up, gets appends live, and ends when the stream is closed', async () => {
    await call('PUT', 'sdk/live', 'application/json', JSON.stringify(['a']));
    const follower = webka.durableStream('sdk/live').follow();
    const got: StreamChunk[] = [];
    const done = (async () => {
      for await (const chunk of follower) {
        got.push(chunk);
        if (chunk.upToDate && got.flatMap((c) => c.data as unknown[]).length === 1) await call('POST', 'sdk/live', 'application/json', JSON.stringify(['b', 'c']));
        if (got.flatMap((c) => c.data as unknown[]).length === 3 && !chunk.closed) await call('POST', 'sdk/live', 'application/json', '', { 'stream-closed': 'true' });
      }
    })();
    await done;
    assert.deepEqual(got.flatMap((c) => c.data as unknown[]), ['a', 'b', 'c']);
    assert.equal(got.at(-1)!.closed, true);
    assert.equal(follower.offset, '0000000000000000_0000000000000003');
  });

  test('a missing stream is NOT_FOUND, for a read and a follower', async () => {
    await assert.rejects(webka.durableStream('sdk/none').read(), (e: unknown) => e instanceof WebkaError && e.code === 'NOT_FOUND' && e.status === 404);
    const f = webka.durableStream('sdk/none').follow();
    await assert.rejects((async () => {
      for await (const _ of f) void _;
    })(), (e: unknown) => e instanceof WebkaError && e.code === 'NOT_FOUND');
  });
});
