/**
 * The binary produce body (Content-Type application/vnd.webka.recordbatch): RecordBatch v2 per
 * partition, built by @webka/protocol's RecordBatchBuilder, appended as sent. Valid batches read
 * back as the JSON body's records do (over HTTP and over the Kafka listener); every malformed
 * one is a 400 with a stable code that writes nothing; producer fields follow the JSON body's
 * idempotence rules.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordBatchBuilder, RECORD_BATCH_CONTENT_TYPE, produceBody, crc32c, type BatchHeader } from '@webka/protocol';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks, type Rest, type Answer } from '../support/rest.js';
import { kcat } from '../support/kafka-clients.js';
import { needDebianPackages, KCAT } from '../support/debian-packages.js';

const T = '/v1/clusters/default/topics';
const T0 = 1_700_000_000_000;
let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
});
after(() => broker.close());

interface Rec { key: string | null; value: string | null; timestamp: number; headers: Array<[string, string | null]> }

function frame(partition: number, records: Rec[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Uint8Array {
  const b = new RecordBatchBuilder();
  for (const r of records) b.append(r.key, r.value, r.timestamp, r.headers.length > 0 ? (r.headers as BatchHeader[]) : undefined);
  return b.finish(partition, producer);
}

async function postBinary(topic: string, body: Uint8Array, query = '', headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${broker.url}${T}/${topic}/records${query}`, { method: 'POST', headers: { 'content-type': RECORD_BATCH_CONTENT_TYPE, ...headers }, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

async function topic(name: string, partitions = 2): Promise<string> {
  const r = await api.post(T, { name, partitions });
  assert.equal(r.status, 201, r.text);
  return name;
}

async function fetchAll(name: string, partition: number): Promise<unknown[]> {
  const r = await api.get(`${T}/${name}/partitions/${partition}/records?offset=0&maxRecords=10000&valueFormat=text`);
  assert.equal(r.status, 200, r.text);
  return r.body.records;
}

const SAMPLE: Rec[] = [
  { key: 'user-1', value: '{"page":"/home","ms":132}', timestamp: T0, headers: [['trace', 'abc']] },
  { key: null, value: 'é ünïcödé ✓ 😀', timestamp: T0 + 7, headers: [] },
  { key: 'tomb', value: null, timestamp: T0 - 3, headers: [['n', null]] },
  { key: 'k'.repeat(100), value: 'v'.repeat(5000), timestamp: T0 + 1, headers: [] },
];

test('a binary body of two partitions is appended as sent: the answer gives each base offset, and fetch returns the records the JSON body would have written', async () => {
  const bin = await topic('bin-roundtrip');
  const json = await topic('json-roundtrip');
  const a = await postBinary(bin, produceBody([frame(0, SAMPLE), frame(1, SAMPLE.slice(0, 2))]));
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.body, { partitions: [{ partition: 0, baseOffset: 0, count: 4, logAppendTime: -1 }, { partition: 1, baseOffset: 0, count: 2, logAppendTime: -1 }] });
  const toJson = (p: number, rs: Rec[]) => rs.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, partition: p, headers: r.headers.map(([key, value]) => ({ key, value })) }));
  const j = await api.post(`${T}/${json}/records`, { valueFormat: 'text', records: [...toJson(0, SAMPLE), ...toJson(1, SAMPLE.slice(0, 2))] });
  assert.equal(j.status, 200, j.text);
  assert.deepEqual(await fetchAll(bin, 0), await fetchAll(json, 0));
  assert.deepEqual(await fetchAll(bin, 1), await fetchAll(json, 1));
  // a second request continues the offsets
  const b = await postBinary(bin, frame(1, SAMPLE.slice(2)), '?acks=1');
  assert.equal(b.status, 200, b.text);
  assert.deepEqual(b.body.partitions[0], { partition: 1, baseOffset: 2, count: 2, logAppendTime: -1 });
});

const noKcat = needDebianPackages(KCAT);
if (noKcat !== null) console.log(`# skipping the kcat read of a binary body: ${noKcat}`);

test('a Kafka client reads the records of a binary body', { skip: noKcat ?? false }, async () => {
  const name = await topic('bin-kafka', 1);
  const rs: Rec[] = [1, 2, 3].map((i) => ({ key: `k${i}`, value: `v${i}`, timestamp: T0 + i, headers: [] }));
  assert.equal((await postBinary(name, frame(0, rs))).status, 200);
  const out = await kcat(broker.server.kafkaPort!, ['-C', '-t', name, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k=%s@%T\n']);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(out.stdout.trim().split('\n'), rs.map((r) => `${r.key}=${r.value}@${r.timestamp}`));
});

test('a LogAppendTime topic stamps the batch and answers the time', async () => {
  const r = await api.post(T, { name: 'bin-lat', partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } });
  assert.equal(r.status, 201, r.text);
  const before = Date.now();
  const a = await postBinary('bin-lat', frame(0, SAMPLE.slice(0, 2)));
  assert.equal(a.status, 200, a.text);
  const stamped = a.body.partitions[0].logAppendTime;
  assert.ok(stamped >= before, a.text);
  const got = (await fetchAll('bin-lat', 0)) as Array<{ timestamp: number }>;
  assert.deepEqual(got.map((x) => x.timestamp), [stamped, stamped]);
});

// ---- malformed bodies: 400 (or the JSON body's code) and nothing written

/** A valid one-partition body to damage; bytes from 4 on are the batch. */
function good(records: Rec[] = SAMPLE.slice(0, 3)): Buffer {
  return Buffer.from(frame(0, records));
}

/** Recomputes the batch CRC after a change to covered bytes, so that the check under test is reached. */
function reCrc(body: Buffer, at = 0): Buffer {
  const b = at + 4;
  body.writeUInt32BE(crc32c(body, b + 21, b + 12 + body.readInt32BE(b + 8)), b + 17);
  return body;
}

/** good()'s header over a zstd frame of 520 RLE blocks of 128 KiB: 2 KB that would decompress to 65 MiB. */
function zstdBomb(): Buffer {
  const blocks: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3])];
  for (let i = 0; i < 520; i++) {
    const h = ((128 * 1024) << 3) | (1 << 1) | (i === 519 ? 1 : 0);
    blocks.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x78]));
  }
  const b = Buffer.concat([good().subarray(0, 4 + 61), ...blocks]);
  b.writeInt32BE(b.length - 4 - 12, 4 + 8);
  b.writeInt16BE(4, 4 + 21);
  return reCrc(b);
}

const MALFORMED: Array<[string, () => Uint8Array, number, string, RegExp]> = [
  ['a flipped byte (CRC mismatch)', () => { const b = good(); b[b.length - 3] ^= 0xff; return b; }, 400, 'INVALID_RECORD_BATCH', /CRC-32C/],
  ['a truncated batch', () => good().subarray(0, 80), 400, 'INVALID_RECORD_BATCH', /truncated/],
  ['a body shorter than a batch header', () => good().subarray(0, 30), 400, 'INVALID_RECORD_BATCH', /truncated/],
  ['a partition number with no batch', () => Buffer.concat([good(), Buffer.from([0, 0, 0])]), 400, 'INVALID_RECORD_BATCH', /ends with 3 bytes/],
  ['an empty body', () => new Uint8Array(0), 400, 'INVALID_RECORD_BATCH', /empty/],
  ['recordsCount above the records held', () => { const b = good(); b.writeInt32BE(4, 4 + 57); b.writeInt32BE(3, 4 + 23); return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /claims 4 records and holds 3/],
  ['recordsCount below the records held', () => { const b = good(); b.writeInt32BE(2, 4 + 57); b.writeInt32BE(1, 4 + 23); return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /bytes follow the last/],
  ['lastOffsetDelta not recordsCount - 1', () => { const b = good(); b.writeInt32BE(5, 4 + 23); return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /lastOffsetDelta/],
  ['magic 1', () => { const b = good(); b[4 + 16] = 1; return b; }, 400, 'INVALID_RECORD_BATCH', /magic 1/],
  ['a control batch', () => { const b = good(); b.writeInt16BE(0x20, 4 + 21); return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /control/],
  ['codec 7 (no such codec)', () => { const b = good(); b.writeInt16BE(7, 4 + 21); return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /codec 7 does not exist/],
  ['zstd in its attributes but not zstd data', () => { const b = good(); b.writeInt16BE(4, 4 + 21); return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /cannot be decompressed/],
  ['a zstd batch that would decompress to more than 64 MiB', zstdBomb, 413, 'RECORD_TOO_LARGE', /more than 64 MiB/],
  ['a record whose length runs past the batch', () => { const b = good(); b[4 + 61] = 0x7e; return reCrc(b); }, 400, 'INVALID_RECORD_BATCH', /record 0/],
  ['two batches for one partition', () => produceBody([good(), good()]), 400, 'INVALID_RECORD_BATCH', /two batches/],
  ['batches with different producer fields', () => produceBody([frame(0, SAMPLE.slice(0, 1)), frame(1, SAMPLE.slice(0, 1), { producerId: 1, producerEpoch: 0, baseSequence: 0 })]), 400, 'INVALID_RECORD_BATCH', /same producer fields/],
  ['a timestamp out of range', () => frame(0, [{ key: null, value: 'x', timestamp: 8_640_000_000_000_001, headers: [] }]), 422, 'INVALID_TIMESTAMP', /timestamp/],
  ['a partition the topic does not have', () => frame(7, SAMPLE.slice(0, 1)), 404, 'PARTITION_NOT_FOUND', /partitions 0 to 1/],
];

for (const [what, body, status, code, message] of MALFORMED) {
  test(`a binary body with ${what} is refused (${status} ${code}) and writes nothing`, async () => {
    const name = `bad-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`;
    await topic(name);
    const ends = await highWatermarks(api, 'default', name);
    const r = await postBinary(name, body());
    assert.match(assertError(r, status, code), message);
    assert.deepEqual(await highWatermarks(api, 'default', name), ends);
  });
}

// ---- producer fields: the JSON body's idempotence rules

test('producer fields: a retry of a sequence writes nothing and answers the first offsets; a stale epoch is fenced; an id never issued is not found', async () => {
  const name = await topic('bin-idem');
  const issued = await api.post('/v1/clusters/default/producers', { name: 'bin-idem' });
  assert.equal(issued.status, 201, issued.text);
  const { producerId, producerEpoch } = issued.body;
  const body = (seq: number) => produceBody([frame(0, SAMPLE.slice(0, 2), { producerId, producerEpoch, baseSequence: seq }), frame(1, SAMPLE.slice(0, 1), { producerId, producerEpoch, baseSequence: seq })]);
  const first = await postBinary(name, body(0));
  assert.equal(first.status, 200, first.text);
  const retry = await postBinary(name, body(0));
  assert.equal(retry.status, 200, retry.text);
  assert.deepEqual(retry.body.partitions.map((p: { baseOffset: number }) => p.baseOffset), first.body.partitions.map((p: { baseOffset: number }) => p.baseOffset));
  assert.deepEqual(await highWatermarks(api, 'default', name), [2, 1]);
  // a retry with another record count is the JSON body's SEQUENCE_REUSED
  const changed = await postBinary(name, frame(0, SAMPLE.slice(0, 3), { producerId, producerEpoch, baseSequence: 0 }));
  assertError(changed, 409, 'SEQUENCE_REUSED');
  const gap = await postBinary(name, frame(0, SAMPLE.slice(0, 1), { producerId, producerEpoch, baseSequence: 5 }));
  assertError(gap, 409, 'OUT_OF_ORDER_SEQUENCE');
  const next = await postBinary(name, body(1));
  assert.equal(next.status, 200, next.text);
  const bumped = await api.post('/v1/clusters/default/producers', { name: 'bin-idem' });
  assert.equal(bumped.status, 201, bumped.text);
  assert.equal(bumped.body.producerEpoch, producerEpoch + 1);
  assertError(await postBinary(name, body(2)), 409, 'PRODUCER_FENCED');
  const never = await postBinary(name, frame(0, SAMPLE.slice(0, 1), { producerId: 987_654, producerEpoch: 0, baseSequence: 0 }));
  assertError(never, 404, 'PRODUCER_NOT_FOUND');
  assert.deepEqual(await highWatermarks(api, 'default', name), [4, 2]);
});

test('an Idempotency-Key makes a binary retry answer the first attempt', async () => {
  const name = await topic('bin-key', 1);
  const body = frame(0, SAMPLE.slice(0, 2));
  const first = await postBinary(name, body, '', { 'idempotency-key': 'bin-1' });
  const again = await postBinary(name, body, '', { 'idempotency-key': 'bin-1' });
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(again.body, first.body);
  assert.deepEqual(await highWatermarks(api, 'default', name), [2]);
  const other = await postBinary(name, frame(0, SAMPLE.slice(0, 1)), '', { 'idempotency-key': 'bin-1' });
  assertError(other, 409, 'IDEMPOTENCY_KEY_REUSED');
});

// ---- property: any records, binary or JSON, fetch the same

test('any records produced through a binary body or a JSON body fetch identically', async () => {
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
  const rec = fc.record({
    key: fc.option(text, { nil: null }),
    value: fc.option(text, { nil: null }),
    timestamp: fc.integer({ min: 0, max: 8_640_000_000_000_000 }),
    headers: fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.option(text, { nil: null })), { maxLength: 3 }),
    partition: fc.integer({ min: 0, max: 2 }),
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(rec, { minLength: 1, maxLength: 30 }), async (records) => {
      run++;
      const bin = await topic(`prop-bin-${run}`, 3);
      const json = await topic(`prop-json-${run}`, 3);
      const frames: Uint8Array[] = [];
      for (let p = 0; p < 3; p++) {
        const mine = records.filter((r) => r.partition === p);
        if (mine.length > 0) frames.push(frame(p, mine));
      }
      const a = await postBinary(bin, produceBody(frames));
      assert.equal(a.status, 200, a.text);
      const j = await api.post(`${T}/${json}/records`, {
        valueFormat: 'text',
        records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, partition: r.partition, headers: r.headers.map(([key, value]) => ({ key, value })) })),
      });
      assert.equal(j.status, 200, j.text);
      for (let p = 0; p < 3; p++) assert.deepEqual(await fetchAll(bin, p), await fetchAll(json, p), `partition ${p}`);
    }),
    { numRuns: 25 },
  );
});
