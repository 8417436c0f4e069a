/**
 * A relayed event stream (http/forward.ts) reads from the other broker only as fast as its own
 * client reads: a client that never reads holds a bounded amount on the relaying broker, and is
 * cut off once it has read nothing for the idle time. The source here is an endless stream of
 * 1 KiB events, one per turn of the event loop, that counts how often it is pulled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { relayEvents } from '../../src/http/forward.js';

function endless(): { stream: Readable; pulls: () => number; cancelled: () => boolean } {
  let pulls = 0;
  const event = Buffer.from(`data: ${'x'.repeat(1016)}\n\n`);
  const stream = new Readable({
    // each event a turn of the event loop later, as bytes from a socket come
    read() {
      setImmediate(() => {
        pulls++;
        this.push(event);
      });
    },
  });
  return { stream, pulls: () => pulls, cancelled: () => stream.destroyed };
}

test('a client that does not read: the relay stops reading from the other broker, and goes on once the client reads', async () => {
  const source = endless();
  const out = relayEvents(source.stream, new AbortController(), 60_000);
  await sleep(300);
  const held = source.pulls();
  // what the relay's buffer and the source's hold (16 KiB each on Node 20, 64 KiB on Node 22 and
  // later: a few dozen or a hundred-odd events of 1 KiB), not thousands
  const buffered = Math.ceil((out.readableHighWaterMark + source.stream.readableHighWaterMark) / 1024) + 8;
  assert.ok(held <= buffered, `pulled ${held} events while nobody read (the buffers hold about ${buffered})`);
  await sleep(200);
  assert.ok(source.pulls() - held <= 1, 'no more reading while the client still reads nothing');
  let read = 0;
  out.on('data', (chunk: Buffer) => (read += chunk.length));
  await sleep(100);
  assert.ok(source.pulls() > held + buffered, 'reading again once the client reads');
  assert.ok(read > buffered * 1024);
  out.destroy();
  await sleep(10);
  assert.equal(source.cancelled(), true, 'the source is destroyed with the relay');
});

test('a client that has read nothing for the idle time is cut off, and the source is cancelled', async () => {
  const source = endless();
  const out = relayEvents(source.stream, new AbortController(), 200);
  await sleep(500);
  assert.equal(out.destroyed, true, 'the relay is destroyed');
  assert.equal(source.cancelled(), true);
});
