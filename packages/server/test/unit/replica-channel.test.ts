/**
 * The replica channel's frames as the leader reads them: a fetch is one JSON object of whole
 * numbers and a topic id, with its wait and size clamped to the limits of the fetch; anything
 * else is an INVALID_REQUEST that names the field. Answers are a length-prefixed JSON header and
 * the batches after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ReplicaChannels, encodeChannelAnswer, parseChannelFetch } from '../../src/replication/replica-channel.js';
import { WebkaError } from '../../src/errors.js';

const good = { id: 3, topicId: 'abc123', partition: 2, offset: 10, durableEnd: 9, leaderEpoch: 4, maxWaitMs: 500, maxBytes: 1 << 20 };

test('a well-formed fetch frame is read as sent, with its wait and size clamped', () => {
  assert.deepEqual(parseChannelFetch(JSON.stringify(good)), { id: 3, fetch: { topicId: 'abc123', partition: 2, offset: 10, durableEnd: 9, leaderEpoch: 4, maxWaitMs: 500, maxBytes: 1 << 20 } });
  const clamped = parseChannelFetch(JSON.stringify({ ...good, maxWaitMs: 10 ** 9, maxBytes: 1 })).fetch;
  assert.deepEqual([clamped.maxWaitMs, clamped.maxBytes], [30_000, 1024]);
  assert.equal(parseChannelFetch(JSON.stringify({ ...good, maxBytes: 2 ** 40 })).fetch.maxBytes, 64 << 20);
});

test('a frame that is not a fetch is refused with INVALID_REQUEST naming what is wrong', () => {
  const refused = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseChannelFetch(text), (err: unknown) => err instanceof WebkaError && err.code === 'INVALID_REQUEST' && pattern.test(err.message), text.slice(0, 80));
  };
  refused('not json', /one JSON object/);
  refused('[1,2]', /one JSON object/);
  refused('null', /one JSON object/);
  refused('"x"', /one JSON object/);
  for (const field of ['id', 'partition', 'offset', 'durableEnd', 'leaderEpoch', 'maxWaitMs', 'maxBytes']) {
    for (const bad of [-1, 1.5, '1', null, 2 ** 60, undefined]) refused(JSON.stringify({ ...good, [field]: bad }), new RegExp(`"${field}"`));
  }
  for (const bad of ['', 'x'.repeat(65), 5, null]) refused(JSON.stringify({ ...good, topicId: bad }), /"topicId"/);
});

test('an answer is a 4-byte header length, the JSON header, then the batches unchanged', () => {
  const data = Buffer.from([0, 1, 2, 250, 251]);
  const frame = encodeChannelAnswer({ id: 1, highWatermark: 5 }, data);
  const n = frame.readUInt32BE(0);
  assert.deepEqual(JSON.parse(frame.toString('utf8', 4, 4 + n)), { id: 1, highWatermark: 5 });
  assert.ok(frame.subarray(4 + n).equals(data));
  const error = encodeChannelAnswer({ id: 2, error: { code: 'NOT_LEADER', message: 'é' } });
  assert.equal(error.length, 4 + error.readUInt32BE(0), 'no batches after an error header (its length counts UTF-8 bytes)');
});

test('a fetch whose fetcher stops while the channel is still opening ends at once with the stop, not with the handshake', async () => {
  // a "leader" that takes the connection and never answers the upgrade (as an unreachable host would not)
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const channels = new ReplicaChannels(2, {});
  try {
    const stop = new AbortController();
    const fetching = channels.fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, good, stop.signal, 30_000);
    setTimeout(() => stop.abort(new Error('the fetcher stopped')), 50);
    await assert.rejects(fetching, /the fetcher stopped/);
  } finally {
    channels.close();
    for (const s of sockets) s.destroy();
    server.close();
  }
});
