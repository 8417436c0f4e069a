/**
 * parseRecords (a produce request's records, JSON string values encoded together) must give what
 * parseRecord gives record by record: the same value bytes, keys, headers, partitions and
 * timestamps, and the same first error. writeRecord (fetch answers written as bytes) must give
 * renderRecord's text byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonBytes, parseRecord, parseRecords, renderRecord, writeRecord, type KeyFormat, type ReadValueFormat, type ValueFormat } from '../../src/http/record-json.js';
import { VALUE_FORMAT_JSON, VALUE_FORMAT_MASK, type DecodedRecord } from '../../src/storage/record-batch.js';
import type { ProduceInput } from '../../src/broker.js';

function oneByOne(list: unknown[], keyFormat: KeyFormat, valueFormat: ValueFormat): ProduceInput[] {
  return list.map((r, i) => parseRecord(r, i, keyFormat, valueFormat));
}

function outcome(fn: () => ProduceInput[]): unknown {
  try {
    // plain bytes: compare contents, not where the Buffers sit in memory
    return fn().map((r) => ({ ...r, key: r.key && [...r.key], value: r.value && [...r.value], headers: r.headers.map((h) => ({ key: h.key, value: h.value && [...h.value] })) }));
  } catch (e) {
    return { error: (e as { code?: string }).code, message: (e as Error).message };
  }
}

/** Strings that need no escaping, some that do, non-ASCII, astral characters and lone surrogates. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', 'plain', 'quote " here', 'back\\slash', 'line\nbreak', '\u0000', 'é', '日本', '😀', '\ud800', 'a\udc00b', '\u2028'),
);
const value = fc.oneof(text, text, fc.constant(null), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.jsonValue());
const record = fc.oneof(
  fc.record({ value, key: fc.option(text), partition: fc.nat(3), timestamp: fc.nat(), headers: fc.dictionary(text, text) }, { requiredKeys: ['value'] }),
  fc.record({ value }),
  // invalid ones: a missing value, an unknown field, a bad key, a bad partition, not an object
  fc.constantFrom<unknown>({}, { value: 'x', extra: 1 }, { value: 'x', key: 7 }, { value: 'x', partition: -1 }, 'not a record', null, { value: 'x', headers: 5 }),
);

test('parseRecords equals parseRecord on each record, errors included', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), fc.constantFrom<KeyFormat>('text', 'binary'), fc.constantFrom<ValueFormat>('json', 'text', 'binary'), (list, keyFormat, valueFormat) => {
      assert.deepEqual(outcome(() => parseRecords(list, keyFormat, valueFormat)), outcome(() => oneByOne(list, keyFormat, valueFormat)));
    }),
    { numRuns: 2000 },
  );
});

test('JSON string values are stored as their JSON text', () => {
  const list = [{ value: 'plain' }, { value: 'é' }, { value: 1 }, { value: 'two' }, { value: null }, { value: { a: 'b' } }];
  const texts = parseRecords(list, 'text', 'json').map((r) => r.value?.toString('utf8') ?? null);
  assert.deepEqual(texts, ['"plain"', '"é"', '1', '"two"', null, '{"a":"b"}']);
  // one that needs escaping makes the whole request take the one-at-a-time path
  const escaped = parseRecords([{ value: 'a"b' }, { value: 'c' }, { value: '\ud800' }], 'text', 'json').map((r) => r.value?.toString('utf8'));
  assert.deepEqual(escaped, ['"a\\"b"', '"c"', '"\\ud800"']);
});

test('requests whose string values need no escaping (the joined path) give what parseRecord gives', () => {
  // no quote, backslash, control character or surrogate: JSON.stringify(s) is '"' + s + '"'
  const plain = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '~', '\u007f', 'é', 'ß', '日', '本', '\u2028', '\u00a0', '\uffff') });
  fc.assert(
    fc.property(fc.array(fc.oneof(plain.map((v) => ({ value: v })), fc.constant({ value: 7 }), fc.constant({ value: null })), { minLength: 1, maxLength: 40 }), (list) => {
      assert.deepEqual(outcome(() => parseRecords(list, 'text', 'json')), outcome(() => oneByOne(list, 'text', 'json')));
    }),
    { numRuns: 2000 },
  );
});

test('writeRecord writes renderRecord\'s text as UTF-8, for stored keys, values, tags, headers and every read format', () => {
  // stored bytes: text (escaped or not, non-ASCII), JSON text, and bytes that are not UTF-8
  const bytes = fc.oneof(text.map((t) => Buffer.from(t, 'utf8')), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8')), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)));
  const stored = fc.record({
    // offsets and timestamps of every length (writeRecord writes their digits itself), and a timestamp of -1
    offset: fc.oneof(fc.nat(), fc.maxSafeNat()),
    timestamp: fc.oneof(fc.nat(), fc.maxSafeNat(), fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 }), fc.constant(-1)),
    key: fc.option(bytes),
    value: fc.option(bytes),
    headers: fc.array(fc.record({ key: text, value: fc.option(bytes) }), { maxLength: 3 }),
    attributes: fc.nat(VALUE_FORMAT_MASK),
  });
  fc.assert(
    fc.property(
      fc.array(stored, { maxLength: 8 }),
      fc.constantFrom<KeyFormat>('text', 'binary'),
      fc.constantFrom<ReadValueFormat>('as-produced', 'json', 'text', 'binary'),
      fc.constantFrom('', '"topic":"té","partition":3,'),
      (records: DecodedRecord[], keyFormat, valueFormat, prefix) => {
        const out = new JsonBytes(1); // grows as it goes
        let expected = '';
        for (const r of records) {
          // a JSON tag is only ever set on JSON text: the bytes are then spliced in unchecked
          if (((r.attributes ?? 0) & VALUE_FORMAT_MASK) === VALUE_FORMAT_JSON && r.value !== null) r.value = Buffer.from(JSON.stringify(r.value.toString('base64')));
          writeRecord(out, r, keyFormat, valueFormat, prefix === '' ? undefined : Buffer.from(prefix));
          expected += renderRecord(r, keyFormat, valueFormat, prefix);
        }
        assert.deepEqual(out.finish(), Buffer.from(expected, 'utf8'));
      },
    ),
    { numRuns: 500 },
  );
});
