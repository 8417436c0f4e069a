/**
 * A fetch's search (?match=&matchIn=&maxScan=) against a real broker: the answers agree with a
 * model that applies the documented rule (key, value as stored, or a header as name=value,
 * contains the text ignoring case) to what was produced; maxScan and maxRecords bound each answer
 * and a search resumed from each nextOffset finds every match exactly once; a long poll with a
 * search wakes on the next append; bad searches are refused with a message and change nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, type Rest } from '../support/rest.js';

let broker: TestBroker;
let api: Rest;
const T = '/v1/clusters/default/topics';
const SCAN_CAP = 5_000;

interface Sent {
  key: string | null;
  value: unknown;
  headers?: Record<string, string | null>;
}

const CITIES = ['Paris', 'Berlin', 'Zürich', 'ÉVORA', 'Oslo'];
/** 2,600 records: more than two steps of a search (1,000 records each). */
const SENT: Sent[] = Array.from({ length: 2_600 }, (_, i) => ({
  key: i % 97 === 0 ? null : `user-${i}`,
  value: i % 3 === 0 ? `plain text ${CITIES[i % 5]} #${i}` : { n: i, city: CITIES[i % 5] },
  ...(i % 4 === 0 ? { headers: { source: i % 8 === 0 ? 'paris-app' : 'web', empty: null } } : {}),
}));

/** The documented rule, applied to what was produced (a JSON value as the text it was sent as). */
function model(text: string, where: 'any' | 'key' | 'value' | 'headers'): number[] {
  const needle = text.toLowerCase();
  const has = (s: string | null | undefined) => s != null && s.toLowerCase().includes(needle);
  const out: number[] = [];
  SENT.forEach((r, offset) => {
    const key = has(r.key);
    const value = has(typeof r.value === 'string' ? r.value : JSON.stringify(r.value));
    const headers = Object.entries(r.headers ?? {}).some(([k, v]) => has(`${k}=${v ?? ''}`));
    if ({ key, value, headers, any: key || value || headers }[where]) out.push(offset);
  });
  return out;
}

before(async () => {
  broker = await startBroker({ config: { maxFetchScanRecords: SCAN_CAP } });
  api = rest(broker.url);
  assert.equal((await api.post(T, { name: 'people', partitions: 1 })).status, 201);
  for (let i = 0; i < SENT.length; i += 500) {
    const r = await api.post(`${T}/people/records`, { records: SENT.slice(i, i + 500).map((s) => ({ ...s, partition: 0 })) });
    assert.equal(r.status, 200, r.text);
  }
});
after(() => broker.close());

const search = (query: string) => api.get(`${T}/people/partitions/0/records?${query}`);

/** Every match from `from` on, resuming at each answer's nextOffset; checks each answer's bounds. */
async function searchAll(query: string, maxRecords: number, maxScan: number): Promise<number[]> {
  const offsets: number[] = [];
  let from = 0;
  for (let rounds = 0; ; rounds++) {
    assert.ok(rounds < 10_000, 'the search made no progress');
    const r = await search(`${query}&offset=${from}&maxRecords=${maxRecords}&maxScan=${maxScan}`);
    assert.equal(r.status, 200, r.text);
    const { records, nextOffset, scanned, highWatermark } = r.body;
    assert.ok(records.length <= maxRecords && scanned <= maxScan, `${records.length} records, ${scanned} scanned`);
    assert.ok(records.every((rec: { offset: number }) => rec.offset >= from && rec.offset < nextOffset), 'records lie between the start and nextOffset');
    assert.ok(nextOffset > from || nextOffset === highWatermark, 'each answer moves on, unless at the end');
    offsets.push(...records.map((rec: { offset: number }) => rec.offset));
    if (nextOffset === highWatermark) return offsets;
    from = nextOffset;
  }
}

test('a search answers what the rule says of each produced record, for each place it looks', async () => {
  const cases: [string, 'any' | 'key' | 'value' | 'headers'][] = [
    ['USER-12', 'key'],
    ['user-12', 'any'],
    ['zürich', 'value'],
    ['ZÜRICH', 'any'],
    ['évora', 'value'],
    ['"city":"oslo"', 'value'],
    ['plain TEXT', 'value'],
    ['paris', 'headers'],
    ['paris', 'any'],
    ['empty=', 'headers'],
    ['source=web', 'headers'],
    ['no such text', 'any'],
  ];
  for (const [text, where] of cases) {
    const r = await search(`offset=earliest&maxRecords=10000&maxScan=${SCAN_CAP}&match=${encodeURIComponent(text)}&matchIn=${where}`);
    assert.equal(r.status, 200, r.text);
    const want = model(text, where);
    assert.deepEqual(r.body.records.map((rec: { offset: number }) => rec.offset), want, `${text} in ${where}`);
    assert.equal(r.body.scanned, SENT.length, 'looked through the whole partition');
    assert.equal(r.body.nextOffset, SENT.length);
    if (text === 'no such text') assert.equal(want.length, 0);
    else assert.ok(want.length > 0, `the model finds ${text} somewhere`);
  }
  // the records come as a plain fetch gives them
  const one = await search('offset=5&maxRecords=1&match=user-5&matchIn=key');
  const plain = await search('offset=5&maxRecords=1');
  assert.deepEqual(one.body.records, plain.body.records);
  assert.equal(plain.body.scanned, undefined, 'a plain fetch says nothing of scanning');
  // matchIn defaults to any
  const byDefault = await search(`offset=earliest&maxRecords=10000&maxScan=${SCAN_CAP}&match=paris`);
  assert.deepEqual(byDefault.body.records.map((rec: { offset: number }) => rec.offset), model('paris', 'any'));
});

test('maxScan and maxRecords bound each answer, and resuming at nextOffset finds every match once', async () => {
  const limited = await search('offset=0&maxScan=100&match=user');
  assert.equal(limited.status, 200, limited.text);
  assert.equal(limited.body.scanned, 100);
  assert.equal(limited.body.nextOffset, 100);
  assert.deepEqual(limited.body.records.map((r: { offset: number }) => r.offset), model('user', 'key').filter((o) => o < 100));

  const first = await search('offset=0&maxRecords=3&match=berlin&matchIn=value');
  assert.deepEqual(first.body.records.map((r: { offset: number }) => r.offset), model('berlin', 'value').slice(0, 3));
  assert.equal(first.body.nextOffset, first.body.records[2].offset + 1, 'resumes just past the last match it answered');

  for (const [maxRecords, maxScan] of [[7, 1_000], [1, 333], [50, 999], [10_000, 1]]) {
    assert.deepEqual(await searchAll('match=paris&matchIn=any', maxRecords!, maxScan!), model('paris', 'any'), `maxRecords ${maxRecords}, maxScan ${maxScan}`);
  }
});

test('a long poll with a search answers the next matching append, and moves past one that does not match', async () => {
  assert.equal((await api.post(T, { name: 'waiting', partitions: 1 })).status, 201);
  const waiting = api.get(`${T}/waiting/partitions/0/records?offset=0&maxWaitMs=10000&match=wanted`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await api.post(`${T}/waiting/records`, { records: [{ value: 'the wanted one' }] })).status, 200);
  const got = await waiting;
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.records.map((r: { value: unknown }) => r.value), ['the wanted one']);

  const other = api.get(`${T}/waiting/partitions/0/records?offset=1&maxWaitMs=10000&match=wanted`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await api.post(`${T}/waiting/records`, { records: [{ value: 'something else' }] })).status, 200);
  const none = await other;
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.body.records, []);
  assert.equal(none.body.scanned, 1);
  assert.equal(none.body.nextOffset, 2, 'past the record that did not match');
});

test('a bad search is refused with a message that says what to fix', async () => {
  const refusals: [string, RegExp][] = [
    ['match=', /match/],
    [`match=${'x'.repeat(257)}`, /match/],
    ['match=a&matchIn=everywhere', /matchIn/],
    [`match=a&maxScan=${SCAN_CAP + 1}`, new RegExp(`maxScan must be an integer from 1 to ${SCAN_CAP}`)],
    ['match=a&maxScan=0', /maxScan/],
    ['matchIn=key', /go with match/],
    ['maxScan=10', /go with match/],
  ];
  for (const [query, message] of refusals) {
    const r = await search(query);
    assert.match(assertError(r, 400, 'INVALID_REQUEST'), message, query);
  }
});
