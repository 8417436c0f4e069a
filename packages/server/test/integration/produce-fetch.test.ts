import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks, type Rest } from '../support/rest.js';
import { partitionForKey } from '@webka/protocol';

let broker: TestBroker;
let api: Rest;
const T = '/v1/clusters/default/topics';

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  for (const [name, partitions] of [['one', 1], ['six', 6], ['formats', 1], ['acks', 1], ['poll', 2], ['ts', 1], ['together', 2]] as const) {
    const r = await api.post(T, { name, partitions });
    assert.equal(r.status, 201, r.text);
  }
});
after(() => broker.close());

async function fetchAll(topic: string, partition: number, query = ''): Promise<any> {
  const r = await api.get(`${T}/${topic}/partitions/${partition}/records?offset=earliest&maxRecords=10000${query}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('produce answers 200 with partition, offset and timestamp in request order; fetch returns them', async () => {
  const values = [{ any: 'json' }, [1, 2, { x: null }], 'a string', 42, 3.5, -0.25, true, false, null, { nested: { deep: ['é', '日本', '\u0000'] } }];
  const before = Date.now();
  const r = await api.post(`${T}/one/records`, { records: values.map((value, i) => ({ value, key: `k${i}`, headers: { h: `v${i}`, n: null } })) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body), ['records']);
  assert.equal(r.body.records.length, values.length);
  r.body.records.forEach((rec: any, i: number) => {
    assert.deepEqual(Object.keys(rec).sort(), ['offset', 'partition', 'timestamp']);
    assert.equal(rec.partition, 0);
    assert.equal(rec.offset, i);
    assert.ok(rec.timestamp >= before && rec.timestamp <= Date.now() + 1);
  });
  const f = await fetchAll('one', 0);
  assert.deepEqual(Object.keys(f).sort(), ['highWatermark', 'lastStableOffset', 'logStartOffset', 'nextOffset', 'records']);
  assert.equal(f.highWatermark, values.length);
  assert.equal(f.nextOffset, values.length);
  assert.equal(f.logStartOffset, 0);
  f.records.forEach((rec: any, i: number) => {
    assert.deepEqual(Object.keys(rec), ['offset', 'timestamp', 'key', 'value', 'headers']);
    assert.equal(rec.offset, i);
    assert.equal(rec.key, `k${i}`);
    assert.deepEqual(rec.value, values[i]);
    assert.deepEqual(rec.headers, { h: `v${i}`, n: null });
    assert.equal(rec.timestamp, r.body.records[i].timestamp);
  });
});

test('concurrent requests written together (one write per partition per turn) each get their own offsets and records', async () => {
  // 200 requests in flight at once, acks=1 and acks=all, one or two partitions each: the broker
  // gathers the appends that arrive in one turn of its event loop into one write per partition.
  const sent = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const records = i % 5 === 0 ? [{ value: { i, part: 0 }, partition: 0 }, { value: { i, part: 1 }, partition: 1 }] : [{ value: { i }, partition: i % 2 }];
      const r = await api.post(`${T}/together/records?acks=${i % 2 === 0 ? '1' : 'all'}`, { records });
      assert.equal(r.status, 200, r.text);
      return { records, answer: r.body.records as Array<{ partition: number; offset: number }> };
    }),
  );
  for (const partition of [0, 1]) {
    const answered = sent.flatMap((s) => s.answer.map((a, j) => ({ ...a, value: s.records[j].value }))).filter((a) => a.partition === partition);
    // acks=1 answers come before the fsync: wait (a long poll) until the last is readable
    const last = Math.max(...answered.map((a) => a.offset));
    assert.equal((await api.get(`${T}/together/partitions/${partition}/records?offset=${last}&maxWaitMs=10000`)).body.records.length, 1);
    const f = await fetchAll('together', partition);
    assert.equal(f.records.length, answered.length, 'every answered record is in the log, once');
    assert.deepEqual(answered.map((a) => a.offset).sort((a, b) => a - b), [...Array(answered.length).keys()], 'offsets are dense and handed out once');
    const byOffset = new Map(f.records.map((r: any) => [r.offset, r.value]));
    for (const a of answered) assert.deepEqual(byOffset.get(a.offset), a.value, `offset ${a.offset} holds the record that was answered with it`);
  }
  // a request's two records in one partition keep their order within the request
  const twin = await api.post(`${T}/together/records`, { records: [{ value: 'first', partition: 1 }, { value: 'second', partition: 1 }] });
  assert.equal(twin.body.records[1].offset, twin.body.records[0].offset + 1);
});

test('a single record object is accepted; only value is required; given timestamps are kept', async () => {
  const r = await api.post(`${T}/ts/records`, { value: { single: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.records.length, 1);
  const r2 = await api.post(`${T}/ts/records`, { key: 'k', value: 1, timestamp: 1_000_000, headers: [{ key: 'a', value: 'b' }] });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.body.records[0].timestamp, 1_000_000);
  const f = await fetchAll('ts', 0);
  assert.deepEqual(f.records[0].value, { single: true });
  assert.equal(f.records[0].key, null);
  assert.deepEqual(f.records[0].headers, {});
  assert.equal(f.records[1].timestamp, 1_000_000);
  assert.deepEqual(f.records[1].headers, { a: 'b' });
  assertError(await api.post(`${T}/ts/records`, { records: [{ key: 'no value' }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/ts/records`, { key: 'no value' }), 400, 'INVALID_REQUEST');
});

test('text and binary keys and values come back byte for byte', async () => {
  const bin = [randomBytes(0), randomBytes(1), randomBytes(300), Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from('{"looks":"like json"}')];
  const keys = bin.map(() => randomBytes(17));
  const r = await api.post(`${T}/formats/records`, {
    keyFormat: 'binary',
    valueFormat: 'binary',
    records: bin.map((b, i) => ({ key: keys[i].toString('base64'), value: b.toString('base64') })),
  });
  assert.equal(r.status, 200, r.text);
  const texts = ['plain text', '', '  spaces  ', 'é ü 日本 🎉', '"quoted"', '123', 'not json {'];
  const t = await api.post(`${T}/formats/records`, { valueFormat: 'text', records: texts.map((value) => ({ key: 'ключ', value })) });
  assert.equal(t.status, 200, t.text);

  const asBinary = await fetchAll('formats', 0, '&valueFormat=binary&keyFormat=binary');
  for (let i = 0; i < bin.length; i++) {
    assert.deepEqual(Buffer.from(asBinary.records[i].value, 'base64'), bin[i], `binary value ${i}`);
    assert.deepEqual(Buffer.from(asBinary.records[i].key, 'base64'), keys[i], `binary key ${i}`);
  }
  const asText = await fetchAll('formats', 0, '&valueFormat=text');
  for (let i = 0; i < texts.length; i++) {
    const rec = asText.records[bin.length + i];
    assert.equal(rec.value, texts[i]);
    assert.equal(rec.key, 'ключ');
  }
  // bytes that are not UTF-8 still come back intact under the text format, flagged as base64
  const odd = asText.records[3];
  assert.equal(odd.valueEncoding, 'base64');
  assert.deepEqual(Buffer.from(odd.value, 'base64'), bin[3]);
  assert.equal(odd.keyEncoding === 'base64' || Buffer.from(odd.key, 'utf8').equals(keys[3]), true);
  // with no format asked, each value comes as it was produced: bytes as base64 (even when they
  // look like JSON), text as the same text (even when it looks like a number or a string)
  const asProduced = await fetchAll('formats', 0);
  for (let i = 0; i < bin.length; i++) {
    assert.equal(asProduced.records[i].valueEncoding, 'base64');
    assert.deepEqual(Buffer.from(asProduced.records[i].value, 'base64'), bin[i]);
  }
  assert.deepEqual(asProduced.records.slice(bin.length).map((x: any) => [x.value, x.valueEncoding]), texts.map((x) => [x, undefined]));
  // under json the JSON-looking bytes are shown as JSON, the rest as base64
  const asJson = await fetchAll('formats', 0, '&valueFormat=json');
  assert.deepEqual(asJson.records[4].value, { looks: 'like json' });
  assert.equal(asJson.records[bin.length + 5].value, 123);
  assert.equal(asJson.records[bin.length].valueEncoding, 'base64');
  assert.deepEqual(Buffer.from(asJson.records[bin.length].value, 'base64').toString('utf8'), 'plain text');

  assertError(await api.post(`${T}/formats/records`, { valueFormat: 'binary', records: [{ value: 'not base64!' }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/formats/records`, { keyFormat: 'binary', records: [{ key: '@@@', value: 1 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/formats/records`, { valueFormat: 'text', records: [{ value: 5 }] }), 400, 'INVALID_REQUEST');
  assertError(await api.post(`${T}/formats/records`, { valueFormat: 'xml', records: [{ value: 'x' }] }), 400, 'INVALID_REQUEST');
  assertError(await api.get(`${T}/formats/partitions/0/records?valueFormat=xml`), 400, 'INVALID_REQUEST');
});

test('acks=0, 1 and all are accepted; anything else is 400 INVALID_ACKS and writes nothing', async () => {
  const ok: Array<[string, number]> = [['', 200], ['?acks=all', 200], ['?acks=1', 200], ['?acks=-1', 200], ['?acks=0', 202]];
  for (const [q, status] of ok) {
    const r = await api.post(`${T}/acks/records${q}`, { value: q });
    assert.equal(r.status, status, `${q}: ${r.text}`);
  }
  // acks=0 and 1 answer before the fsync: their records are readable once it completes
  const last = await api.get(`${T}/acks/partitions/0/records?offset=${ok.length - 1}&maxWaitMs=10000`);
  assert.equal(last.body.records.length, 1, last.text);
  const hw = await highWatermarks(api, 'default', 'acks');
  for (const bad of ['2', 'none', 'ALL', '', '1.0', 'all&acks=1']) {
    const msg = assertError(await api.post(`${T}/acks/records?acks=${bad}`, { value: 'x' }), 400, 'INVALID_ACKS');
    assert.match(msg, /0, 1 or all/);
  }
  assert.deepEqual(await highWatermarks(api, 'default', 'acks'), hw);
  assert.equal(hw[0], ok.length);
});

test('keyed records land where Kafka puts them (murmur2); keyless records spread', async () => {
  const keys = Array.from({ length: 60 }, (_, i) => `user-${i}`);
  const r = await api.post(`${T}/six/records`, { records: keys.map((key) => ({ key, value: key })) });
  assert.equal(r.status, 200, r.text);
  r.body.records.forEach((rec: any, i: number) => assert.equal(rec.partition, partitionForKey(Buffer.from(keys[i], 'utf8'), 6), keys[i]));
  // binary keys hash their bytes
  const raw = randomBytes(9);
  const b = await api.post(`${T}/six/records`, { keyFormat: 'binary', records: [{ key: raw.toString('base64'), value: 1 }] });
  assert.equal(b.body.records[0].partition, partitionForKey(raw, 6));
  // an explicit partition wins over the key
  const e = await api.post(`${T}/six/records`, { records: [{ key: 'user-1', partition: (partitionForKey(Buffer.from('user-1'), 6) + 1) % 6, value: 1 }] });
  assert.equal(e.body.records[0].partition, (partitionForKey(Buffer.from('user-1'), 6) + 1) % 6);

  // sticky: one request's keyless records share a partition; requests move between partitions
  const seen = new Set<number>();
  for (let i = 0; i < 30; i++) {
    const k = await api.post(`${T}/six/records`, { records: [{ value: 1 }, { value: 2 }, { value: 3 }] });
    const parts = new Set(k.body.records.map((x: any) => x.partition));
    assert.equal(parts.size, 1, 'one keyless request goes to one partition');
    seen.add(k.body.records[0].partition);
  }
  assert.ok(seen.size >= 3, `keyless requests used only partitions ${[...seen]}`);
});

test('a batch is appended atomically per partition: a bad record refuses the whole request', async () => {
  const hw = await highWatermarks(api, 'default', 'six');
  assertError(await api.post(`${T}/six/records`, { records: [{ value: 1, partition: 0 }, { value: 2, partition: 9 }] }), 404, 'PARTITION_NOT_FOUND');
  assertError(await api.post(`${T}/six/records`, { records: [{ value: 1, partition: 0 }, { value: 2, timestamp: -1 }] }), 422, 'INVALID_TIMESTAMP');
  assertError(await api.post(`${T}/six/records`, { records: [{ value: 1 }, { value: 2, bogus: 1 }] }), 400, 'INVALID_REQUEST');
  assert.deepEqual(await highWatermarks(api, 'default', 'six'), hw);

  // one request's records to one partition get consecutive offsets even while others produce
  const many = Array.from({ length: 50 }, (_, i) => ({ value: i, partition: 2 }));
  const results = await Promise.all(Array.from({ length: 8 }, () => api.post(`${T}/six/records`, { records: many })));
  for (const r of results) {
    assert.equal(r.status, 200);
    const offs = r.body.records.map((x: any) => x.offset);
    for (let i = 1; i < offs.length; i++) assert.equal(offs[i], offs[0] + i);
  }
});

test('fetch: offset number, earliest, latest, timestamp, maxRecords, maxBytes', async () => {
  await api.post(T, { name: 'seek' });
  const base = 1_700_000_000_000;
  const records = Array.from({ length: 20 }, (_, i) => ({ value: { i }, timestamp: base + i * 1000 }));
  for (let i = 0; i < 20; i += 5) await api.post(`${T}/seek/records`, { records: records.slice(i, i + 5) });

  let f = (await api.get(`${T}/seek/partitions/0/records?offset=7&maxRecords=3`)).body;
  assert.deepEqual(f.records.map((r: any) => r.offset), [7, 8, 9]);
  assert.equal(f.nextOffset, 10);
  assert.equal(f.highWatermark, 20);

  f = (await api.get(`${T}/seek/partitions/0/records?offset=earliest&maxRecords=2`)).body;
  assert.deepEqual(f.records.map((r: any) => r.offset), [0, 1]);
  f = (await api.get(`${T}/seek/partitions/0/records`)).body;
  assert.equal(f.records[0].offset, 0, 'default is earliest');
  f = (await api.get(`${T}/seek/partitions/0/records?offset=latest`)).body;
  assert.deepEqual(f.records, []);
  assert.equal(f.nextOffset, 20);
  f = (await api.get(`${T}/seek/partitions/0/records?offset=20`)).body;
  assert.deepEqual(f.records, []);

  f = (await api.get(`${T}/seek/partitions/0/records?timestamp=${base + 12_500}&maxRecords=1`)).body;
  assert.equal(f.records[0].offset, 13);
  assert.equal(f.records[0].timestamp, base + 13_000);

  // maxBytes bounds the answer but always makes progress
  f = (await api.get(`${T}/seek/partitions/0/records?offset=0&maxBytes=1`)).body;
  assert.ok(f.records.length >= 1);
  assert.equal(f.nextOffset, f.records[f.records.length - 1].offset + 1);
  const all = (await api.get(`${T}/seek/partitions/0/records?offset=0&maxBytes=100000`)).body;
  assert.equal(all.records.length, 20);
  assert.ok(f.records.length < 20);

  // list offsets
  const o = await api.get(`${T}/seek/partitions/0/offsets`);
  assert.equal(o.status, 200, o.text);
  assert.equal(o.body.earliest, 0);
  assert.equal(o.body.latest, 20);
  assert.equal((await api.get(`${T}/seek/partitions/0/offsets?timestamp=${base + 5000}`)).body.offsetForTimestamp, 5);
  assert.equal((await api.get(`${T}/seek/partitions/0/offsets?timestamp=${base + 999_999}`)).body.offsetForTimestamp, 20);
  assert.equal((await api.get(`${T}/seek/partitions/0/offsets?timestamp=0`)).body.offsetForTimestamp, 0);
  assertError(await api.get(`${T}/seek/partitions/1/offsets`), 404, 'PARTITION_NOT_FOUND');
  assertError(await api.get(`${T}/seek/partitions/0/offsets?timestamp=-1`), 400, 'INVALID_REQUEST');
});

test('fetch: an offset outside the log names the valid range', async () => {
  const r = await api.get(`${T}/seek/partitions/0/records?offset=21`);
  assert.ok(r.status === 416 || r.status === 400, r.text);
  assert.equal(r.body.error.code, 'OFFSET_OUT_OF_RANGE');
  assert.match(r.body.error.message, /0 to 20/);
  const big = await api.get(`${T}/seek/partitions/0/records?offset=9007199254740991`);
  assert.equal(big.body.error.code, 'OFFSET_OUT_OF_RANGE', big.text);
  for (const bad of ['-1', 'abc', '1.5', '99999999999999999999', 'first']) {
    const b = await api.get(`${T}/seek/partitions/0/records?offset=${bad}`);
    assert.equal(b.status, 400, `${bad}: ${b.text}`);
    assert.equal(typeof b.body.error.code, 'string');
  }
  assertError(await api.get(`${T}/seek/partitions/0/records?offset=1&timestamp=1`), 400, 'INVALID_REQUEST');
  assertError(await api.get(`${T}/seek/partitions/1/records`), 404, 'PARTITION_NOT_FOUND');
  assertError(await api.get(`${T}/seek/partitions/-1/records`), 400, 'INVALID_REQUEST');
  assertError(await api.get(`${T}/nope/partitions/0/records`), 404, 'TOPIC_NOT_FOUND');
  assertError(await api.get(`/v1/clusters/nope/topics/seek/partitions/0/records`), 404, 'CLUSTER_NOT_FOUND');
  for (const q of ['maxRecords=0', 'maxRecords=-1', 'maxRecords=999999999', 'maxBytes=0', 'maxWaitMs=-5', 'maxRecords=x']) {
    const b = await api.get(`${T}/seek/partitions/0/records?${q}`);
    assert.equal(b.status, 400, `${q}: ${b.text}`);
  }
});

test('fetch: a long poll is woken by an append and returns the appended record', async () => {
  const hw = (await highWatermarks(api, 'default', 'poll'))[1];
  const started = Date.now();
  const poll = api.get(`${T}/poll/partitions/1/records?offset=${hw}&maxWaitMs=20000`);
  await new Promise((r) => setTimeout(r, 100));
  const p = await api.post(`${T}/poll/records`, { records: [{ value: { woke: 'me' }, partition: 1 }] });
  assert.equal(p.status, 200);
  const f = await poll;
  assert.equal(f.status, 200);
  assert.equal(f.body.records.length, 1);
  assert.deepEqual(f.body.records[0].value, { woke: 'me' });
  assert.equal(f.body.records[0].offset, p.body.records[0].offset);
  // woken by the append, not by the 20 s timeout (a generous bound, not a speed check)
  assert.ok(Date.now() - started < 15_000);

  // an append to another partition does not answer the poll; the timeout does, with no records
  const quiet = api.get(`${T}/poll/partitions/1/records?offset=latest&maxWaitMs=300`);
  await api.post(`${T}/poll/records`, { records: [{ value: 'elsewhere', partition: 0 }] });
  const q = await quiet;
  assert.equal(q.status, 200);
  assert.deepEqual(q.body.records, []);
});

test('fetch below the log start offset (after retention) names the valid range', async () => {
  const b = await startBroker({ config: { retentionCheckIntervalMs: 100 } });
  try {
    const x = rest(b.url);
    assert.equal((await x.post(T, { name: 'short', configs: { 'segment.bytes': 1024, 'retention.bytes': 1024 } })).status, 201);
    for (let i = 0; i < 10; i++) assert.equal((await x.post(`${T}/short/records`, { records: [{ value: 'r'.repeat(400) }, { value: i }] })).status, 200);
    let start = 0;
    for (let i = 0; i < 50 && start === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      start = (await x.get(`${T}/short/partitions/0/offsets`)).body.earliest;
    }
    assert.ok(start > 0, 'retention never moved the log start offset');
    const d = await x.get(`${T}/short`);
    assert.equal(d.body.partitionInfo[0].logStartOffset, start);
    const r = await x.get(`${T}/short/partitions/0/records?offset=0`);
    assert.equal(r.body.error?.code, 'OFFSET_OUT_OF_RANGE', r.text);
    assert.ok(r.body.error.message.includes(`${start} to 20`), r.body.error.message);
    const e = await x.get(`${T}/short/partitions/0/records?offset=earliest`);
    assert.equal(e.body.records[0].offset, start);
    assert.equal(e.body.logStartOffset, start);
  } finally {
    await b.close();
  }
});

test('topic configs take effect: LogAppendTime stamps records, gzip batches read back intact', async () => {
  assert.equal((await api.post(T, { name: 'stamped', configs: { 'message.timestamp.type': 'LogAppendTime' } })).status, 201);
  const before = Date.now();
  const r = await api.post(`${T}/stamped/records`, { records: [{ value: 1, timestamp: 5 }, { value: 2, timestamp: 6 }] });
  assert.equal(r.status, 200, r.text);
  for (const rec of r.body.records) assert.ok(rec.timestamp >= before, `timestamp ${rec.timestamp} is not the broker's clock`);
  const f = await fetchAll('stamped', 0);
  assert.deepEqual(f.records.map((x: any) => x.timestamp), r.body.records.map((x: any) => x.timestamp));

  assert.equal((await api.post(T, { name: 'zipped', configs: { 'compression.type': 'gzip' } })).status, 201);
  const values = Array.from({ length: 50 }, (_, i) => ({ i, text: 'compressible '.repeat(20) }));
  assert.equal((await api.post(`${T}/zipped/records`, { records: values.map((value) => ({ value })) })).status, 200);
  const z = await fetchAll('zipped', 0);
  assert.deepEqual(z.records.map((x: any) => x.value), values);
  const info = (await api.get(`${T}/zipped`)).body.partitionInfo[0];
  assert.ok(info.sizeBytes < JSON.stringify(values).length / 2, `gzip did not shrink the batch (${info.sizeBytes} bytes)`);
  // reading from the middle of a compressed batch starts at the asked offset
  const mid = await api.get(`${T}/zipped/partitions/0/records?offset=25&maxRecords=2`);
  assert.deepEqual(mid.body.records.map((x: any) => x.offset), [25, 26]);
  assert.equal(mid.body.nextOffset, 27);
});
