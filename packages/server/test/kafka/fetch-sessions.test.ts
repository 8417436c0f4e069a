/**
 * Fetch sessions (KIP-227) on the Kafka listener, spoken with Fetch version 11 through the
 * listener's own message table: a full fetch opens a session, incremental fetches name only what
 * changed and are answered only what is new, forgotten partitions leave the session, epochs are
 * checked, and epoch -1 closes it. Records are produced over HTTP. Version 13 names topics by
 * their ids, and an id no topic has is answered UNKNOWN_TOPIC_ID.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { Fetch } from '../../src/kafka/messages-core.js';
import { decodeStruct, encodeStruct, type Message } from '../../src/kafka/schema.js';
import { WireReader, WireWriter } from '../../src/kafka/wire.js';
import { decodeRecords, type DecodedRecord } from '../../src/storage/record-batch.js';
import { topicUuid } from '../../src/kafka/apis/metadata.js';

const VERSION = 11;
let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'sessions', partitions: 3 })).status, 201);
});
after(async () => broker?.close());

/** One connection sending Fetch requests (v11 unless told) one at a time. */
async function connect(version = VERSION): Promise<{ fetch(body: Message): Promise<Message>; close(): void }> {
  const socket = net.connect(broker.server.kafkaPort!, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = Buffer.alloc(0);
  let waiting: ((frame: Buffer) => void) | null = null;
  socket.on('data', (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0) && waiting !== null) {
      const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
      buffered = buffered.subarray(4 + frame.length);
      const w = waiting;
      waiting = null;
      w(frame);
    }
  });
  let correlationId = 0;
  return {
    async fetch(body) {
      const w = new WireWriter();
      w.int32(0);
      w.int16(Fetch.key);
      w.int16(version);
      w.int32(++correlationId);
      w.string('fetch-sessions-test', false);
      if (version >= 12) w.uvarint(0);
      encodeStruct(w, Fetch.request, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, forgottenTopicsData: [], rackId: '', ...body }, version, version >= 12);
      const chunks = w.finish();
      chunks[0].writeInt32BE(w.byteLength - 4, 0);
      const answered = new Promise<Buffer>((resolve) => (waiting = resolve));
      for (const c of chunks) socket.write(c);
      const frame = await answered;
      const r = new WireReader(frame);
      assert.equal(r.int32(), correlationId);
      if (version >= 12) assert.equal(r.uvarint(), 0);
      return decodeStruct(r, Fetch.response, version, version >= 12);
    },
    close: () => socket.destroy(),
  };
}

const want = (offsets: Record<number, number>, topic = 'sessions'): Message[] => [
  { topic, partitions: Object.entries(offsets).map(([p, o]) => ({ partition: Number(p), fetchOffset: o, logStartOffset: -1, partitionMaxBytes: 1 << 20 })) },
];

/** partition -> values of the records answered for it (partitions not answered are absent). */
function answered(res: Message): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const t of res.responses as Message[]) {
    for (const p of t.partitions as Message[]) {
      assert.equal(p.errorCode, 0);
      const records: DecodedRecord[] = [];
      const data = p.records as Buffer | null;
      for (let pos = 0; data !== null && pos < data.length; pos += 12 + data.readInt32BE(pos + 8)) decodeRecords(data, pos, records);
      out[p.partitionIndex] = records.map((r) => r.value!.toString());
    }
  }
  return out;
}

const produce = async (partition: number, value: string, topic = 'sessions'): Promise<void> => {
  const r = await api.post(`/v1/clusters/default/topics/${topic}/records`, { records: [{ value, partition }] });
  assert.ok(r.status < 300, r.text);
};

test('a session answers only partitions with news, keeps what the client did not repeat, forgets on request and checks epochs', async () => {
  await produce(0, 'a0');
  await produce(1, 'b0');
  const c = await connect();
  try {
    // epoch 0: a full fetch that opens a session and answers every partition
    const first = await c.fetch({ sessionId: 0, sessionEpoch: 0, topics: want({ 0: 0, 1: 0, 2: 0 }) });
    assert.equal(first.errorCode, 0);
    const id = first.sessionId as number;
    assert.notEqual(id, 0);
    assert.deepEqual(answered(first), { 0: ['"a0"'], 1: ['"b0"'], 2: [] });

    // epoch 1: the client moved past what it got on 0 and 1 and says only that; nothing new anywhere
    const quiet = await c.fetch({ sessionId: id, sessionEpoch: 1, topics: want({ 0: 1, 1: 1 }) });
    assert.equal(quiet.errorCode, 0);
    assert.equal(quiet.sessionId, id);
    assert.deepEqual(answered(quiet), {});

    // epoch 2, naming no partition: only partition 1, which got a record, is answered
    await produce(1, 'b1');
    assert.deepEqual(answered(await c.fetch({ sessionId: id, sessionEpoch: 2, topics: [] })), { 1: ['"b1"'] });

    // a wrong epoch, or an unknown session, is refused and changes nothing
    const stale = await c.fetch({ sessionId: id, sessionEpoch: 2, topics: [] });
    assert.equal(stale.errorCode, 71);
    assert.deepEqual(stale.responses, []);
    assert.equal((await c.fetch({ sessionId: id + 1, sessionEpoch: 1, topics: [] })).errorCode, 70);

    // epoch 3: forget partition 2, move 1 on; then records on 2 are not answered, those on 0 are
    assert.deepEqual(answered(await c.fetch({ sessionId: id, sessionEpoch: 3, topics: want({ 1: 2 }), forgottenTopicsData: [{ topic: 'sessions', partitions: [2] }] })), {});
    await produce(2, 'c0');
    await produce(0, 'a1');
    assert.deepEqual(answered(await c.fetch({ sessionId: id, sessionEpoch: 4, topics: [] })), { 0: ['"a1"'] });

    // the session outlives the connection: another connection goes on with epoch 5
    const other = await connect();
    try {
      assert.deepEqual(answered(await other.fetch({ sessionId: id, sessionEpoch: 5, topics: want({ 0: 2 }) })), {});
      // epoch -1 closes it, with a sessionless full fetch
      const closing = await other.fetch({ sessionId: id, sessionEpoch: -1, topics: want({ 2: 0 }) });
      assert.equal(closing.sessionId, 0);
      assert.deepEqual(answered(closing), { 2: ['"c0"'] });
      assert.equal((await other.fetch({ sessionId: id, sessionEpoch: 6, topics: [] })).errorCode, 70);
    } finally {
      other.close();
    }
  } finally {
    c.close();
  }
});

test('sessionless fetches (epoch -1) are answered in full and open no session', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'sessionless', partitions: 2 })).status, 201);
  await produce(1, 'x', 'sessionless');
  const c = await connect();
  try {
    for (let i = 0; i < 2; i++) {
      const r = await c.fetch({ sessionId: 0, sessionEpoch: -1, topics: want({ 0: 0, 1: 0 }, 'sessionless') });
      assert.equal(r.errorCode, 0);
      assert.equal(r.sessionId, 0);
      assert.deepEqual(answered(r), { 0: [], 1: ['"x"'] });
    }
    // and an incremental request naming no session is refused
    assert.equal((await c.fetch({ sessionId: 0, sessionEpoch: 1, topics: [] })).errorCode, 70);
  } finally {
    c.close();
  }
});

test('version 13 names topics by id: records are answered under the id, forgotten by id, and an unknown id is UNKNOWN_TOPIC_ID', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'by-id', partitions: 2 })).status, 201);
  await produce(0, 'i0', 'by-id');
  await produce(1, 'i1', 'by-id');
  const id = topicUuid(broker.server.broker.listTopics('default').find((t) => t.name === 'by-id')!.id);
  const byId = (offsets: Record<number, number>, topicId = id): Message[] =>
    want(offsets).map((t) => ({ topicId, partitions: t.partitions }));
  const c = await connect(13);
  try {
    const first = await c.fetch({ sessionId: 0, sessionEpoch: 0, topics: byId({ 0: 0, 1: 0 }) });
    assert.equal(first.errorCode, 0);
    assert.equal((first.responses as Message[]).length, 1);
    assert.deepEqual((first.responses as Message[])[0].topicId, id);
    assert.deepEqual(answered(first), { 0: ['"i0"'], 1: ['"i1"'] });

    await produce(0, 'i0b', 'by-id');
    await produce(1, 'i1b', 'by-id');
    const next = await c.fetch({ sessionId: first.sessionId, sessionEpoch: 1, topics: byId({ 0: 1 }), forgottenTopicsData: [{ topicId: id, partitions: [1] }] });
    assert.equal(next.errorCode, 0);
    assert.deepEqual((next.responses as Message[])[0].topicId, id);
    assert.deepEqual(answered(next), { 0: ['"i0b"'] });

    const unknown = Buffer.alloc(16, 7);
    const bad = await c.fetch({ sessionId: 0, sessionEpoch: -1, topics: byId({ 0: 0 }, unknown) });
    const [t] = bad.responses as Message[];
    assert.deepEqual(t.topicId, unknown);
    assert.equal((t.partitions as Message[])[0].errorCode, 100); // UNKNOWN_TOPIC_ID
  } finally {
    c.close();
  }
});
