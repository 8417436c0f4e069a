/**
 * The search loop's own rules, over a log of records held in a list: steps of at most 1,000
 * records, a stop between steps when the caller has gone, and the matcher's handling of null
 * keys, values and header values and of bytes that are not UTF-8. The broker's answers to real
 * searches are checked in integration/fetch-search.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodedRecord } from '../../src/storage/record-batch.js';
import { recordMatcher, search, SCAN_STEP_RECORDS } from '../../src/http/record-match.js';

const rec = (offset: number, key: string | null, value: Buffer | string | null, headers: [string, string | null][] = []): DecodedRecord => ({
  offset,
  timestamp: 0,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
  headers: headers.map(([k, v]) => ({ key: k, value: v === null ? null : Buffer.from(v) })),
});

const LOG = Array.from({ length: 5_000 }, (_, i) => rec(i, `k${i}`, i % 10 === 0 ? 'hit' : 'miss'));

function reader(asked: [number | undefined, number][]) {
  return async (from: number | undefined, n: number) => {
    asked.push([from, n]);
    const start = from ?? 0;
    const records = LOG.slice(start, start + n);
    return { records, nextOffset: start + records.length };
  };
}

test('a search reads in steps of at most 1,000 records, from where the last step ended', async () => {
  const asked: [number | undefined, number][] = [];
  const r = await search(reader(asked), recordMatcher('hit', 'value'), { maxRecords: 10_000, maxBytes: 1e9, maxScan: 2_500 }, () => false);
  assert.deepEqual(asked, [[undefined, SCAN_STEP_RECORDS], [1_000, 1_000], [2_000, 500]]);
  assert.equal(r.scanned, 2_500);
  assert.equal(r.nextOffset, 2_500);
  assert.equal(r.records.length, 250);
});

test('a search stops between steps once the caller has gone', async () => {
  const asked: [number | undefined, number][] = [];
  let gone = false;
  const read = reader(asked);
  const r = await search(
    async (from, n) => {
      const step = await read(from, n);
      gone = true; // the client went away during the first step
      return step;
    },
    recordMatcher('hit', 'value'),
    { maxRecords: 10_000, maxBytes: 1e9, maxScan: 5_000 },
    () => gone,
  );
  assert.equal(asked.length, 1);
  assert.equal(r.scanned, 1_000);
  assert.equal(r.nextOffset, 1_000);
});

test('maxBytes of matches ends a search at the match that reaches it', async () => {
  const r = await search(reader([]), recordMatcher('hit', 'value'), { maxRecords: 10_000, maxBytes: 5 * 5, maxScan: 5_000 }, () => false);
  // matches hold "k0" + "hit" (5 bytes), then "k10" + "hit" (6) and so on: 23 after four, 29 after five
  assert.deepEqual(r.records.map((x) => x.offset), [0, 10, 20, 30, 40]);
  assert.equal(r.nextOffset, r.records.at(-1)!.offset + 1);
});

test('the matcher: nulls match nothing, a header is name=value, bytes that are not UTF-8 do not throw', () => {
  const nulls = rec(0, null, null, [['empty', null]]);
  assert.equal(recordMatcher('null', 'any')(nulls), false);
  assert.equal(recordMatcher('empty=', 'headers')(nulls), true);
  assert.equal(recordMatcher('empty=', 'key')(nulls), false);
  const binary = rec(1, 'k', Buffer.from([0xff, 0xfe, 0x41, 0x42]));
  assert.equal(recordMatcher('ab', 'value')(binary), true);
  assert.equal(recordMatcher('\ufffd', 'value')(binary), true, 'a byte that is not UTF-8 reads as U+FFFD');
  const unicode = rec(2, 'Straße', 'ÉVORA');
  assert.equal(recordMatcher('évora', 'value')(unicode), true);
  assert.equal(recordMatcher('STRASSE', 'key')(unicode), false, 'case is ignored, not folded (ß stays ß)');
  assert.equal(recordMatcher('STRAßE', 'key')(unicode), true);
});
