/**
 * Transactions over HTTP against a real broker: every state transition (init, join, commit,
 * abort, timeout, fence), markers never shown as records with offsets dense, read_committed
 * stopping at the last stable offset with interleaved transactions, transactional offsets
 * visible only after commit, and recovery of a commit a crash left between its decision and
 * its markers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, type Rest } from '../support/rest.js';
import { SseClient } from '../support/sse-client.js';
import { WsClient } from '../support/ws-client.js';
import { TxnStateLog } from '../../src/transactions/txn-state-log.js';
import { commitRounds } from '../../src/storage/commit-rounds.js';

let broker: TestBroker;
let api: Rest;
const C = '/v1/clusters/default';
const T = `${C}/topics`;
const X = `${C}/transactions`;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  for (const name of ['t1', 't2', 'lso', 'fence', 'offsets-in', 'offsets-out', 'timeout', 'restart', 'prepared', 'polled', 'sse-rc', 'ws-rc']) assert.equal((await api.post(T, { name, partitions: 1 })).status, 201);
});
after(() => broker.close());

interface Producer {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  sequence: number;
}

async function init(transactionalId: string, timeoutMs?: number): Promise<Producer> {
  const r = await api.post(X, { transactionalId, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  assert.equal(r.status, 200, r.text);
  return { transactionalId, ...r.body, sequence: 0 };
}

async function send(p: Producer, topic: string, values: unknown[]): Promise<number[]> {
  const { transactionalId, producerId, producerEpoch } = p;
  const r = await api.post(`${T}/${topic}/records`, { transactionalId, producerId, producerEpoch, sequence: p.sequence++, records: values.map((value) => ({ value, partition: 0 })) });
  assert.equal(r.status, 200, r.text);
  return r.body.records.map((x: { offset: number }) => x.offset);
}

async function end(p: Producer, type: 'commit' | 'abort'): Promise<any> {
  const r = await api.post(`${X}/${p.transactionalId}/${type}`, { producerId: p.producerId, producerEpoch: p.producerEpoch });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function plain(topic: string, values: unknown[]): Promise<void> {
  const r = await api.post(`${T}/${topic}/records`, { records: values.map((value) => ({ value, partition: 0 })) });
  assert.equal(r.status, 200, r.text);
}

async function read(topic: string, isolation: string, offset = 0): Promise<{ values: unknown[]; offsets: number[]; body: any }> {
  const r = await api.get(`${T}/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000&isolation=${isolation}`);
  assert.equal(r.status, 200, r.text);
  return { values: r.body.records.map((x: any) => x.value), offsets: r.body.records.map((x: any) => x.offset), body: r.body };
}

/** Reads until the partition's high watermark reaches `hw` (acks=all answers once durable; markers too). */
async function describe(id: string): Promise<any> {
  const r = await api.get(`${X}/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('init, produce, commit: the transaction goes Empty -> Ongoing -> CompleteCommit; markers take an offset but are never records', async () => {
  const p = await init('tx-basic');
  assert.equal((await describe('tx-basic')).state, 'Empty');
  const offsets = await send(p, 't1', ['a', 'b']);
  assert.deepEqual(offsets, [0, 1]);
  const d = await describe('tx-basic');
  assert.equal(d.state, 'Ongoing');
  assert.deepEqual(d.partitions, [{ topic: 't1', partition: 0 }]);
  assert.ok(d.ageMs >= 0);
  // open: read_uncommitted sees it, read_committed stops at its first offset
  assert.deepEqual((await read('t1', 'read_uncommitted')).values, ['a', 'b']);
  const open = await read('t1', 'read_committed');
  assert.deepEqual(open.values, []);
  assert.equal(open.body.lastStableOffset, 0);
  assert.equal(open.body.nextOffset, 0);
  const done = await end(p, 'commit');
  assert.equal(done.state, 'CompleteCommit');
  assert.deepEqual(done.partitions, []);
  // the marker is offset 2; the next record gets 3; nobody sees offset 2
  await plain('t1', ['c']);
  for (const isolation of ['read_committed', 'read_uncommitted']) {
    const r = await read('t1', isolation);
    assert.deepEqual(r.values, ['a', 'b', 'c']);
    assert.deepEqual(r.offsets, [0, 1, 3]);
    assert.equal(r.body.nextOffset, 4);
    assert.equal(r.body.lastStableOffset, 4);
  }
  // a commit repeated (a retry) answers as the first did
  assert.equal((await end(p, 'commit')).state, 'CompleteCommit');
  assertError(await api.post(`${X}/tx-basic/abort`, { producerId: p.producerId, producerEpoch: p.producerEpoch }), 409, 'INVALID_TXN_STATE');
});

test('abort: read_committed never returns the aborted records; read_uncommitted does', async () => {
  const p = await init('tx-abort');
  await send(p, 't2', ['x1', 'x2']);
  await plain('t2', ['plain']);
  assert.equal((await end(p, 'abort')).state, 'CompleteAbort');
  await send(p, 't2', ['y']);
  await end(p, 'commit');
  assert.deepEqual((await read('t2', 'read_committed')).values, ['plain', 'y']);
  assert.deepEqual((await read('t2', 'read_uncommitted')).values, ['x1', 'x2', 'plain', 'y']);
  // a read starting inside the aborted range skips the rest of it
  assert.deepEqual((await read('t2', 'read_committed', 1)).values, ['plain', 'y']);
});

test('interleaved transactions on one partition: the LSO is the first offset of the oldest open one', async () => {
  const a = await init('tx-lso-a');
  const b = await init('tx-lso-b');
  await plain('lso', ['p0']); // 0
  await send(a, 'lso', ['a1']); // 1
  await send(b, 'lso', ['b1']); // 2
  await send(a, 'lso', ['a2']); // 3
  let r = await read('lso', 'read_committed');
  assert.equal(r.body.lastStableOffset, 1);
  assert.deepEqual(r.values, ['p0']);
  await end(b, 'commit'); // marker 4: b is decided, but a (from 1) is still open
  r = await read('lso', 'read_committed');
  assert.equal(r.body.lastStableOffset, 1);
  assert.deepEqual(r.values, ['p0']);
  await end(a, 'abort'); // marker 5
  r = await read('lso', 'read_committed');
  assert.equal(r.body.lastStableOffset, 6);
  assert.deepEqual(r.values, ['p0', 'b1']);
  assert.equal(r.body.nextOffset, 6);
});

test('a new epoch fences the old one (PRODUCER_FENCED) and aborts what it left open', async () => {
  const old = await init('tx-fence');
  await send(old, 'fence', ['zombie']);
  const fresh = await init('tx-fence');
  assert.equal(fresh.producerId, old.producerId);
  assert.equal(fresh.producerEpoch, old.producerEpoch + 1);
  const stale = await api.post(`${T}/fence/records`, { transactionalId: 'tx-fence', producerId: old.producerId, producerEpoch: old.producerEpoch, sequence: 1, records: [{ value: 'late', partition: 0 }] });
  assertError(stale, 409, 'PRODUCER_FENCED');
  assertError(await api.post(`${X}/tx-fence/commit`, { producerId: old.producerId, producerEpoch: old.producerEpoch }), 409, 'PRODUCER_FENCED');
  await send(fresh, 'fence', ['ok']);
  await end(fresh, 'commit');
  assert.deepEqual((await read('fence', 'read_committed')).values, ['ok']);
});

test('bad input: 4xx with a stable code, nothing changed', async () => {
  assertError(await api.post(X, { transactionalId: 'bad id!' }), 400, 'INVALID_REQUEST');
  assertError(await api.post(X, { transactionalId: 'x', timeoutMs: 5 }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${C.replace('default', 'nope')}/transactions`, { transactionalId: 'x' }), 404, 'CLUSTER_NOT_FOUND');
  assertError(await api.get(`${X}/never-seen`), 404, 'TRANSACTION_NOT_FOUND');
  assertError(await api.post(`${X}/never-seen/commit`, { producerId: 1, producerEpoch: 0 }), 404, 'TRANSACTION_NOT_FOUND');
  const p = await init('tx-bad');
  assertError(await api.post(`${T}/t1/records`, { transactionalId: 'never-seen', producerId: p.producerId, producerEpoch: p.producerEpoch, sequence: 0, records: [{ value: 1 }] }), 404, 'TRANSACTION_NOT_FOUND');
  assertError(await api.post(`${X}/tx-bad/abort`, { producerId: p.producerId }), 400, 'INVALID_REQUEST');
  assert.equal((await describe('tx-bad')).state, 'Empty');
  assertError(await api.post(`${T}/t1/records`, { transactionalId: 'x', records: [{ value: 1 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.get(`${T}/t1/partitions/0/records?isolation=serializable`), 400, 'INVALID_REQUEST');
});

test('transactional offsets: checked against the generation, visible to the group only after commit', async () => {
  await plain('offsets-in', ['i0', 'i1', 'i2']);
  const join = await api.post(`${C}/groups/g-txn/members`, { topics: ['offsets-in'], autoOffsetReset: 'earliest', autoCommit: false });
  assert.equal(join.status, 201, join.text);
  const { memberId } = join.body;
  let poll = await api.get(`${C}/groups/g-txn/members/${memberId}/records?maxWaitMs=2000`);
  for (let i = 0; i < 20 && poll.body.generation === undefined; i++) poll = await api.get(`${C}/groups/g-txn/members/${memberId}/records?maxWaitMs=2000`);
  assert.equal(poll.status, 200, poll.text);
  const generation = poll.body.generation;
  const p = await init('tx-offsets');
  const body = { producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: 'g-txn', memberId, offsets: [{ topic: 'offsets-in', partition: 0, offset: 3 }] };
  assertError(await api.post(`${X}/tx-offsets/offsets`, { ...body, generation: generation + 5 }), 409, 'STALE_GENERATION');
  assert.equal((await api.post(`${X}/tx-offsets/offsets`, { ...body, generation })).status, 204);
  assert.equal((await describe('tx-offsets')).offsets.length, 1);
  const committed = async (): Promise<unknown> => (await api.get(`${C}/groups/g-txn/offsets`)).body.offsets?.find((o: any) => o.topic === 'offsets-in')?.committed;
  await send(p, 'offsets-out', ['out']);
  assert.equal(await committed(), undefined);
  // the answer waits for PrepareCommit's fsync, then for the markers' and the offsets' in one
  // commit round, not for CompleteCommit's (a stray background round may add one)
  const rounds = commitRounds.rounds;
  await end(p, 'commit');
  assert.ok(commitRounds.rounds - rounds <= 3, `the commit waited for ${commitRounds.rounds - rounds} commit rounds`);
  assert.equal(await committed(), 3);
  assert.deepEqual((await read('offsets-out', 'read_committed')).values, ['out']);
  // an aborted transaction's offsets never reach the group
  assert.equal((await api.post(`${X}/tx-offsets/offsets`, { ...body, generation, offsets: [{ topic: 'offsets-in', partition: 0, offset: 1 }] })).status, 204);
  await end(p, 'abort');
  assert.equal(await committed(), 3);
});

test('a transaction older than its timeout is aborted by the broker, and its producer fenced', async () => {
  const p = await init('tx-timeout', 1000);
  await send(p, 'timeout', ['late']);
  // watched closely: the abort is never shown as done while the producer still has its old epoch
  let d = await describe('tx-timeout');
  for (let i = 0; i < 2000 && d.state !== 'CompleteAbort'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    d = await describe('tx-timeout');
  }
  assert.equal(d.state, 'CompleteAbort');
  assert.equal(d.producerEpoch, p.producerEpoch + 1);
  assertError(await api.post(`${X}/tx-timeout/commit`, { producerId: p.producerId, producerEpoch: p.producerEpoch }), 409, 'PRODUCER_FENCED');
  assert.deepEqual((await read('timeout', 'read_committed')).values, []);
  assert.equal((await read('timeout', 'read_committed')).body.lastStableOffset, 2);
});

test('list and describe; an operator abort fences the producer', async () => {
  const p = await init('tx-admin');
  await send(p, 't1', ['admin']);
  const list = await api.get(X);
  assert.equal(list.status, 200);
  assert.ok(list.body.transactions.some((t: any) => t.transactionalId === 'tx-admin' && t.state === 'Ongoing'));
  const r = await api.post(`${X}/tx-admin/abort`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'CompleteAbort');
  assertError(await api.post(`${X}/tx-admin/commit`, { producerId: p.producerId, producerEpoch: p.producerEpoch }), 409, 'PRODUCER_FENCED');
});

test('state survives a restart: an open transaction stays open and can commit; markers and aborted ranges are rebuilt', async () => {
  const p = await init('tx-restart');
  await send(p, 'restart', ['r1']);
  const q = await init('tx-restart-2');
  await send(q, 'restart', ['gone']);
  await end(q, 'abort');
  broker = await broker.restart();
  api = rest(broker.url);
  assert.equal((await describe('tx-restart')).state, 'Ongoing');
  assert.deepEqual((await read('restart', 'read_committed')).values, []);
  await end(p, 'commit');
  assert.deepEqual((await read('restart', 'read_committed')).values, ['r1']);
});

test('a commit decided (PrepareCommit durable) but not marked when the broker stopped is finished at start', async () => {
  const p = await init('tx-prepared');
  await send(p, 'prepared', ['decided']);
  const state = await describe('tx-prepared');
  // the state a crash between phase 1 and phase 2 leaves: PrepareCommit on disk, no marker
  await new TxnStateLog(broker.server.broker).write('default', {
    transactionalId: 'tx-prepared', producerId: p.producerId, producerEpoch: p.producerEpoch, timeoutMs: state.timeoutMs, state: 'PrepareCommit',
    partitions: [{ topic: 'prepared', partition: 0 }], offsets: [], startedAt: state.startedAt, updatedAt: Date.now(), principal: state.principal,
  });
  assert.deepEqual((await read('prepared', 'read_committed')).values, []);
  broker = await broker.restart();
  api = rest(broker.url);
  assert.equal((await describe('tx-prepared')).state, 'CompleteCommit');
  const r = await read('prepared', 'read_committed');
  assert.deepEqual(r.values, ['decided']);
  assert.equal(r.body.lastStableOffset, 2);
});

test('group polls take isolation too: read_committed members get a transaction\'s records once it commits', async () => {
  const p = await init('tx-polled');
  await send(p, 'polled', ['in-txn']);
  await plain('polled', ['after']);
  const join = await api.post(`${C}/groups/g-polled/members`, { topics: ['polled'], autoOffsetReset: 'earliest', autoCommit: false });
  assert.equal(join.status, 201, join.text);
  const poll = async (): Promise<unknown[]> => {
    const r = await api.get(`${C}/groups/g-polled/members/${join.body.memberId}/records?isolation=read_committed&maxWaitMs=0`);
    assert.equal(r.status, 200, r.text);
    return r.body.records.map((x: any) => x.value);
  };
  assert.deepEqual(await poll(), []);
  await end(p, 'commit');
  assert.deepEqual(await poll(), ['in-txn', 'after']);
});

/**
 * Writes, on partition 0 of `topic`: an open transaction's "aborted" (offset 0), another's
 * "committed" (1) and a plain "after" (2); `decide` then aborts the first and commits the second.
 */
async function undecided(topic: string): Promise<{ decide(): Promise<void> }> {
  const a = await init(`tx-${topic}-a`);
  const b = await init(`tx-${topic}-b`);
  await send(a, topic, ['aborted']);
  await send(b, topic, ['committed']);
  await plain(topic, ['after']);
  return {
    async decide() {
      await end(a, 'abort');
      await end(b, 'commit');
    },
  };
}

test('group SSE streams take isolation: a read_committed stream waits for the decisions and never shows an aborted record', async () => {
  const txns = await undecided('sse-rc');
  const join = await api.post(`${C}/groups/g-sse-rc/members`, { topics: ['sse-rc'], autoOffsetReset: 'earliest', autoCommit: false });
  assert.equal(join.status, 201, join.text);
  const s = await SseClient.open(`${broker.url}${C}/groups/g-sse-rc/members/${join.body.memberId}/records?isolation=read_committed`);
  try {
    assert.equal(s.status, 200);
    await s.until((c) => c.messages.some((m) => m.event === 'rebalance'), 5000, 'the assignment');
    await txns.decide();
    // without isolation the stream would have sent "aborted" (offset 0) first
    await s.until((c) => c.records().length >= 2, 5000, 'two records');
    assert.deepEqual(s.records().map((r) => r.value), ['committed', 'after']);
    assert.deepEqual(s.records().map((r) => r.offset), [1, 2]);
  } finally {
    s.close();
  }
});

test('group WebSocket subscriptions take isolation: a read_committed member waits for the decisions and never gets an aborted record', async () => {
  const txns = await undecided('ws-rc');
  const ws = await WsClient.connect(broker.url);
  try {
    const sub = await ws.request({ type: 'subscribe', id: 'rc', cluster: 'default', group: 'g-ws-rc', topics: ['ws-rc'], autoOffsetReset: 'earliest', isolation: 'read_committed' });
    assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
    await ws.waitFor((f) => f.type === 'rebalance', 5000, 'the assignment');
    await txns.decide();
    const values = (): unknown[] => ws.frames.filter((f) => f.type === 'records').flatMap((f) => f.records.map((r: any) => r.value));
    await ws.waitFor(() => values().length >= 2, 5000, 'two records');
    assert.deepEqual(values(), ['committed', 'after']);
  } finally {
    ws.ws.close();
  }
});
