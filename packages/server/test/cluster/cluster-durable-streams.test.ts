/**
 * Durable Streams on a cluster of three `webka start` brokers and a private etcd: a stream is
 * made, written and read through any broker (its leader serves it, the others forward), its
 * records are replicated like a topic's, and it survives kill -9 of its leader with every
 * acknowledged append, once, in order: the new leader carries on its producers' sequences, its
 * last Stream-Seq and its closure. Deleting it through any broker deletes it everywhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster Durable Streams tests: ${missing}`);
const opts = { skip: missing ?? false };

let cluster: TestCluster | undefined;
after(async () => {
  await cluster?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function call(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const r = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(20_000) });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** The values of a JSON stream read from its start through `base`. */
async function readAll(base: string, path: string): Promise<{ values: unknown[]; answer: Answer }> {
  const values: unknown[] = [];
  let offset = '-1';
  for (;;) {
    const answer = await call(`${base}${path}?offset=${offset}`, 'GET');
    assert.equal(answer.status, 200, `GET ${path} via ${base}: ${answer.status} ${answer.text}`);
    values.push(...(JSON.parse(answer.text) as unknown[]));
    offset = answer.headers.get('stream-next-offset')!;
    if (answer.headers.get('stream-up-to-date') === 'true') return { values, answer };
  }
}

test('a Durable Stream in a cluster: made, written and read through any broker; kill -9 of its leader loses no acknowledged append and keeps its producers, Stream-Seq and closure; deleted everywhere', opts, async () => {
  // every broker holds a copy of every partition: three in all, for the partition budget's check at the end
  const c = (cluster = await startCluster('/durable-streams', { WEBKA_COORDINATOR_LEASE_SECONDS: '2', WEBKA_MAX_PARTITIONS: '3' }));
  await Promise.all([1, 2, 3].map((n) => c.start(n)));
  await untilBrokers(c.brokers.get(1)!, 3);
  const url = (n: number): string => c.brokers.get(n)!.url;
  const path = '/v1/stream/orders/eu%20west';
  const json = { 'content-type': 'application/json' };

  const made = await call(`${url(1)}${path}`, 'PUT', json, '[{"n":0}]');
  assert.equal(made.status, 201, made.text);
  assert.match(made.headers.get('location') ?? '', /\/v1\/stream\/orders\/eu%20west$/);
  const topic = made.headers.get('webka-topic')!;
  // replicated like a topic: three replicas, all in sync, min.insync.replicas 2
  const view = await until(async () => {
    const r = await getJson(`${url(2)}/v1/clusters/streams/topics/${topic}`);
    const p = r.status === 200 ? r.body.partitionInfo[0] : undefined;
    return p !== undefined && p.leader > 0 && p.isr.length === 3 ? { leader: p.leader as number, configs: r.body.configs } : undefined;
  }, 'the stream topic with a leader and three replicas in sync');
  assert.equal(String(view.configs['min.insync.replicas']), '2');
  const leader = view.leader;
  const [a, b] = [1, 2, 3].filter((n) => n !== leader);

  // an identical PUT through another broker confirms it; a different one conflicts
  assert.equal((await call(`${url(b)}${path}`, 'PUT', json)).status, 200);
  assert.equal((await call(`${url(a)}${path}`, 'PUT', { 'content-type': 'text/plain' })).status, 409);

  // a long poll at the tail through one follower, woken by an append through the other
  const tail = made.headers.get('stream-next-offset')!;
  const polled = call(`${url(b)}${path}?offset=${tail}&live=long-poll`, 'GET');
  const append = (via: number, n: number, producer: { id: string; seq: number } | null, more: Record<string, string> = {}): Promise<Answer> =>
    call(`${url(via)}${path}`, 'POST', { ...json, ...(producer === null ? {} : { 'producer-id': producer.id, 'producer-epoch': '0', 'producer-seq': String(producer.seq) }), ...more }, JSON.stringify([{ n }]));
  for (let i = 1; i <= 9; i++) {
    const r = await append(a, i, { id: 'writer', seq: i - 1 }, { 'stream-seq': String(i).padStart(4, '0') });
    assert.equal(r.status, 200, `append ${i} through broker ${a}: ${r.text}`);
    assert.equal(r.headers.get('producer-seq'), String(i - 1));
  }
  const woken = await polled;
  assert.equal(woken.status, 200, woken.text);
  assert.deepEqual(JSON.parse(woken.text)[0], { n: 1 });
  assert.ok(woken.headers.get('stream-cursor') !== null, 'the long poll answer keeps its protocol headers through the forwarding broker');

  // an SSE read through a follower, relayed as it comes
  const sse = await fetch(`${url(b)}${path}?offset=-1&live=sse`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(sse.status, 200);
  assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = sse.body!.getReader();
  let events = '';
  while (!events.includes('{"n":9}')) events += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();

  const head = await call(`${url(a)}${path}`, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('stream-next-offset'), (await call(`${url(b)}${path}`, 'HEAD')).headers.get('stream-next-offset'));
  for (const n of [1, 2, 3]) {
    const listed = await getJson(`${url(n)}/v1/streams`);
    assert.deepEqual(listed.body.streams.map((s: { path: string }) => s.path), ['orders/eu west'], `broker ${n} lists the stream once`);
  }
  assert.deepEqual((await readAll(url(b), path)).values, Array.from({ length: 10 }, (_, n) => ({ n })));

  // kill -9 of the leader: appends through the others go on once a new leader is elected
  await c.kill(leader);
  const survivor = a;
  const next = await until(async () => {
    const r = await append(survivor, 10, { id: 'writer', seq: 9 });
    return r.status === 200 ? r : undefined;
  }, 'an append acknowledged by the new leader');
  assert.equal(next.headers.get('producer-seq'), '9');
  // the new leader has the producer's state: the same append again is a duplicate, not a record
  const again = await append(b, 10, { id: 'writer', seq: 9 });
  assert.equal(again.status, 204, again.text);
  // and the stream's last Stream-Seq (read back from its log): an older one is refused
  const stale = await append(b, 99, null, { 'stream-seq': '0005' });
  assert.equal(stale.status, 409, stale.text);
  assert.match(stale.text, /Stream-Seq/);
  assert.deepEqual((await readAll(url(b), path)).values, Array.from({ length: 11 }, (_, n) => ({ n })), 'every acknowledged append, once, in order');

  // closed through one broker: closed for every broker, and for the killed one when it returns
  const closed = await call(`${url(b)}${path}`, 'POST', { ...json, 'stream-closed': 'true' });
  assert.equal(closed.status, 204, closed.text);
  assert.equal((await append(a, 11, null)).status, 409);
  await c.start(leader);
  await until(async () => ((await getJson(`${url(leader)}/v1/clusters/streams/topics/${topic}`)).body?.partitionInfo?.[0]?.isr?.length === 3 ? true : undefined), 'the restarted broker back in sync');
  const fromReturned = await readAll(url(leader), path);
  assert.equal(fromReturned.values.length, 11);
  assert.equal(fromReturned.answer.headers.get('stream-closed'), 'true');

  // a fork is not served by a cluster yet, and says so
  const fork = await call(`${url(a)}/v1/stream/orders-fork`, 'PUT', { ...json, 'stream-forked-from': path });
  assert.equal(fork.status, 501, fork.text);
  assert.match(fork.text, /fork is not served by a cluster/);
  assert.equal((await getJson(`${url(a)}/v1/clusters/streams/topics`)).body.topics.length, 1, 'the refused fork made no topic');

  // deleted through one broker: gone through every broker, and its topic with it
  assert.equal((await call(`${url(a)}${path}`, 'DELETE')).status, 204);
  for (const n of [1, 2, 3]) assert.equal((await call(`${url(n)}${path}?offset=-1`, 'GET')).status, 404, `broker ${n} no longer has the stream`);
  await until(async () => ((await getJson(`${url(b)}/v1/clusters/streams/topics/${topic}`)).status === 404 ? true : undefined), 'the stream topic deleted from the cluster');
  // the path can be used again: a new stream, empty
  const remade = await call(`${url(b)}${path}`, 'PUT', json);
  assert.equal(remade.status, 201, remade.text);
  assert.deepEqual((await readAll(url(a), path)).values, []);

  // streams are partitions: past the brokers' budget (maxPartitions 3) a new one is refused through any broker, and none is made
  for (const name of ['more-1', 'more-2']) assert.equal((await call(`${url(a)}/v1/stream/${name}`, 'PUT', json)).status, 201);
  for (const n of [1, 2, 3]) {
    const refused = await call(`${url(n)}/v1/stream/one-too-many`, 'PUT', json);
    assert.equal(refused.status, 422, `through broker ${n}: ${refused.status} ${refused.text}`);
    assert.match(refused.text, /maxPartitions/);
  }
  assert.equal((await getJson(`${url(a)}/v1/clusters/streams/topics`)).body.topics.length, 3);

  // an operator deletes a stream's topic through the topics API: the stream goes with it on every broker, and its path can be used again
  const more1 = await call(`${url(a)}/v1/stream/more-1`, 'POST', json, '[1]');
  assert.equal(more1.status, 204, more1.text);
  const more1Topic = (await call(`${url(a)}/v1/stream/more-1`, 'HEAD')).headers.get('webka-topic')!;
  assert.equal((await call(`${url(b)}/v1/clusters/streams/topics/${more1Topic}`, 'DELETE')).status, 204);
  for (const n of [1, 2, 3]) assert.equal((await call(`${url(n)}/v1/stream/more-1?offset=-1`, 'GET')).status, 404, `broker ${n} has no more-1`);
  assert.equal((await call(`${url(a)}/v1/stream/more-1`, 'PUT', json)).status, 201);
  assert.deepEqual((await readAll(url(b), '/v1/stream/more-1')).values, [], 'the stream made again starts empty');
});
