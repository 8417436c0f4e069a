/**
 * The producer writes each record's JSON by hand (encodeRecord), with a shortcut for a plain
 * string value: whatever the record, the text must be exactly what JSON.stringify gives for the
 * same fields, so the broker stores the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeRecord } from '../src/producer.js';
import type { ProducerRecord } from '../src/types.js';

const json = fc.jsonValue();
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\n', '\u2028', '\ud800', 'é日本', 'x'.repeat(300)));

test('encodeRecord writes the same JSON as JSON.stringify of the record, for any value, key and fields', () => {
  fc.assert(
    fc.property(
      fc.oneof(text, json),
      fc.option(text, { nil: undefined }),
      fc.option(fc.dictionary(fc.string(), fc.option(fc.string(), { nil: null })), { nil: undefined }),
      fc.option(fc.nat(1000), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
      (value, key, headers, partition, timestamp) => {
        const r: ProducerRecord = { value, key, headers, partition, timestamp } as ProducerRecord;
        const expected: Record<string, unknown> = { value };
        if (key !== undefined) expected.key = key;
        if (headers !== undefined) expected.headers = headers;
        if (partition !== undefined) expected.partition = partition;
        if (timestamp !== undefined) expected.timestamp = timestamp;
        const got = encodeRecord(r, 'json');
        assert.deepEqual(JSON.parse(got), JSON.parse(JSON.stringify(expected)));
        if (key === undefined && headers === undefined && partition === undefined && timestamp === undefined) {
          assert.equal(got, JSON.stringify({ value }), 'a value alone is exactly JSON.stringify');
        }
      },
    ),
    { numRuns: 3000 },
  );
});
