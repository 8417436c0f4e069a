/**
 * Durable Streams producers cost the broker nothing it keeps for a refused request: a Producer-Id
 * maps to its producer id without a catalog write, so a flood of refused requests (sequence gaps
 * from ever-new ids) leaves catalog.json byte for byte as it was, and a long id is refused before
 * anything is looked up. Accepted producers keep their exactly-once behaviour across a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker } from '../support/start-broker.js';

test('refused producer requests store nothing; accepted producers stay idempotent across a restart', async () => {
  let broker = await startBroker();
  const dataDir = broker.dataDir;
  const stream = '/v1/stream/producers';
  const post = (body: string, id: string, epoch: number, seq: number): Promise<Response> =>
    fetch(broker.url + stream, { method: 'POST', body, headers: { 'content-type': 'text/plain', 'producer-id': id, 'producer-epoch': String(epoch), 'producer-seq': String(seq) } });
  try {
    assert.equal((await fetch(broker.url + stream, { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status, 201);
    const first = await post('a', 'writer-1', 0, 0);
    assert.equal(first.status, 200, await first.text());

    const catalog = path.join(dataDir, 'catalog.json');
    const before = fs.readFileSync(catalog);
    // each a new Producer-Id starting past 0: a gap, refused with 409
    for (let i = 0; i < 200; i++) {
      const r = await post('x', `flood-${i}-${'p'.repeat(200)}`, 0, 5);
      assert.equal(r.status, 409);
      await r.arrayBuffer();
    }
    assert.ok(fs.readFileSync(catalog).equals(before), 'refused producer requests left the catalog as it was');
    const tooLong = await post('x', 'q'.repeat(257), 0, 0);
    assert.equal(tooLong.status, 400);
    assert.match(await tooLong.text(), /at most 256 bytes/);
    assert.ok(fs.readFileSync(catalog).equals(before));

    assert.equal((await post('b', 'writer-1', 0, 1)).status, 200);
    broker = await broker.restart();
    // after a restart, the same Producer-Id is the same producer: a retry is a duplicate, a gap is refused
    const dup = await post('b', 'writer-1', 0, 1);
    assert.equal(dup.status, 204);
    assert.equal(dup.headers.get('producer-seq'), '1');
    assert.equal((await post('c', 'writer-1', 0, 3)).status, 409);
    assert.equal((await post('c', 'writer-1', 0, 2)).status, 200);
    const read = await fetch(`${broker.url}${stream}?offset=-1`);
    assert.equal(await read.text(), 'abc');
  } finally {
    await broker.close();
  }
});
