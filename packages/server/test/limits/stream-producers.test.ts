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
import { startBroker, tempDir } from '../support/start-broker.js';

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

const producerPost = (url: string, body: string, id: string, epoch: number, seq: number): Promise<Response> =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain', 'producer-id': id, 'producer-epoch': String(epoch), 'producer-seq': String(seq) } });

test('a stream holds at most streamMaxProducers producers: a new Producer-Id past it gets 429 and nothing is stored', async () => {
  const broker = await startBroker({ config: { streamMaxProducers: 3 } });
  const url = broker.url + '/v1/stream/crowded';
  try {
    assert.equal((await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status, 201);
    for (const id of ['a', 'b', 'c']) assert.equal((await producerPost(url, id, id, 0, 0)).status, 200);
    const catalog = path.join(broker.dataDir, 'catalog.json');
    const before = fs.readFileSync(catalog);
    const refused = await producerPost(url, 'd', 'd', 0, 0);
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /at most 3 producers.*streamMaxProducers.*streamProducerExpiryMs/);
    // nothing of the refused request was stored: the stream holds the three appends only
    assert.equal(await (await fetch(`${url}?offset=-1`)).text(), 'abc');
    assert.ok(fs.readFileSync(catalog).equals(before));
    // producers already known keep writing
    assert.equal((await producerPost(url, 'a2', 'a', 0, 1)).status, 200);
    assert.equal(await (await fetch(`${url}?offset=-1`)).text(), 'abca2');
  } finally {
    await broker.close();
  }
});

test('producer state idle for streamProducerExpiryMs is forgotten: the Producer-Id starts again at sequence 0, also after a restart that rebuilds it from the log', async () => {
  const config = { streamMaxProducers: 2, streamProducerExpiryMs: 200 };
  const dataDir = tempDir();
  let broker = await startBroker({ dataDir, config });
  const url = (): string => broker.url + '/v1/stream/idle';
  try {
    assert.equal((await fetch(url(), { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status, 201);
    // more appends than the broker keeps for retries, so that 0 cannot pass for a retry later
    for (let seq = 0; seq < 7; seq++) assert.equal((await producerPost(url(), String(seq), 'old', 0, seq)).status, 200);
    assert.equal((await producerPost(url(), 'x', 'other', 0, 0)).status, 200);
    const idleFrom = Date.now();
    while (Date.now() <= idleFrom + config.streamProducerExpiryMs) await new Promise((r) => setTimeout(r, 20));
    // both are forgotten: a third producer fits, and 'old' continuing at 7 is a gap from 0
    assert.equal((await producerPost(url(), 'n', 'new', 0, 0)).status, 200);
    const gap = await producerPost(url(), '7', 'old', 0, 7);
    assert.equal(gap.status, 409);
    assert.equal(gap.headers.get('producer-expected-seq'), '0');
    // started again: 0 is a new append, not a duplicate of the forgotten 0
    const again = await producerPost(url(), 'A', 'old', 0, 0);
    assert.equal(again.status, 200, await again.text());
    // (a long expiry from here on, so that nothing expires while the machine is slow)
    config.streamProducerExpiryMs = 3_600_000;
    await broker.close();
    // without the clean stop's snapshot, producer state is rebuilt from the log's batches
    for (const f of fs.readdirSync(dataDir, { recursive: true, encoding: 'utf8' })) {
      if (path.basename(f) === 'producer-state.json') fs.rmSync(path.join(dataDir, f));
    }
    broker = await startBroker({ dataDir, config });
    // the producer is the one that started again: 1 is next, then a duplicate
    assert.equal((await producerPost(url(), 'B', 'old', 0, 1)).status, 200);
    const dup = await producerPost(url(), 'B', 'old', 0, 1);
    assert.equal(dup.status, 204);
    assert.equal(await (await fetch(`${url()}?offset=-1`)).text(), '0123456xnAB');
  } finally {
    await broker.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
