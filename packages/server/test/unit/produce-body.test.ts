/**
 * The JSON produce path reads a body in one pass over its bytes (scanProduceBody) and falls back
 * to JSON.parse and parseProduceBody wherever it declines. It must never accept a body that the
 * JSON.parse path refuses, and for every body it accepts it must give the records that path
 * gives, byte for byte: then the API answers the same records and the same errors (code and
 * message) whichever way a body went. Bodies here are written as text by hand, not by
 * JSON.stringify, so they hold what clients really send: whitespace, every escape, numbers in
 * any form, repeated and numeric keys, "__proto__", a byte order mark, bytes that are not UTF-8,
 * escaped lone surrogates and nesting around the 1,000-level limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseProduceBody, scanProduceBody, type ParsedProduce } from '../../src/http/produce-body.js';
import { jsonDeeperThan, tooDeep } from '../../src/limits/json-depth.js';
import { WebkaError } from '../../src/errors.js';
import { parseFrame, produceRecords, readProduceFrame, type ProduceRequest } from '../../src/http/streaming/ws-frames.js';

const MAX_RECORDS = 50;

/** The JSON.parse path, as the produce route takes it: Fastify's parser (BOM dropped), the depth check, parseProduceBody. */
function reference(bytes: Buffer): ParsedProduce {
  let text = bytes.toString('utf8');
  if (text.length === 0) throw new WebkaError('INVALID_JSON', 'the body is empty; send a JSON document');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new WebkaError('INVALID_JSON', 'the body is not valid JSON');
  }
  if (jsonDeeperThan(body)) throw tooDeep('the body');
  return parseProduceBody(body, MAX_RECORDS);
}

/** Records as plain data (bytes as arrays), or the error's code and message. */
function outcome(fn: () => Pick<ParsedProduce, 'records' | 'producer'> & { transactionalId?: string }): unknown {
  try {
    const p = fn();
    const records = p.records.map((r) => ({ ...r, key: r.key && [...r.key], value: r.value && [...r.value], headers: r.headers.map((h) => ({ key: h.key, value: h.value && [...h.value] })) }));
    return { records, producer: p.producer, transactionalId: p.transactionalId };
  } catch (e) {
    if (!(e instanceof WebkaError)) throw e;
    return { error: e.code, message: e.message };
  }
}

/** The produce route's two ways: the scan, else the reference. */
function route(bytes: Buffer): ParsedProduce {
  return scanProduceBody(bytes, MAX_RECORDS)?.parsed ?? reference(bytes);
}

function checkSame(bytes: Buffer): boolean {
  const scanned = scanProduceBody(bytes, MAX_RECORDS);
  const want = outcome(() => reference(bytes));
  if (scanned !== null) {
    assert.ok(!('error' in (want as object)), `the scan accepted a body the JSON.parse path refuses: ${JSON.stringify(want)}\n${bytes.toString('utf8').slice(0, 500)}`);
    assert.deepEqual(outcome(() => scanned.parsed), want, bytes.toString('utf8').slice(0, 500));
  }
  assert.deepEqual(outcome(() => route(bytes)), want);
  return scanned !== null;
}

// ---- JSON text, written by hand -----------------------------------------------------------

const ws = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n  ');

/** One character of a string literal, written as itself or as any escape that means it. */
const char = fc.oneof(
  fc.constantFrom('a', 'Z', '0', ' ', '~', '/', '\u007f', 'é', '日', '😀', '\u2028', '\uffff'),
  fc.constantFrom('\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\u0041', '\\u00e9', '\\u00E9', '\\u0000', '\\u001f', '\\u001F', '\\ud800', '\\uDC00', '\\ud83d\\ude00', '\\u2028'),
  // not JSON inside a string: a raw control character, a bad escape
  fc.constantFrom('\n', '\u0001', '\\x', '\\u12'),
);
const stringText = fc.array(char, { maxLength: 6 }).map((cs) => `"${cs.join('')}"`);
const plainString = fc.stringMatching(/^[a-z0-9 é-]{0,12}$/).map((s) => `"${s}"`);
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('0', '-0', '1.0', '1e2', '1E+2', '1e-7', '0.1', '-1.5e-7', '123456789012345', '1234567890123456', '12345678901234567', '9007199254740993', '12345678901234567890', '1e400', '-1e400', '5e-324', '01', '1.', '.5', '-', '+1', '0x10'),
);
const keyText = fc.oneof(plainString, stringText, fc.constantFrom('"a"', '"a"', '"b"', '"0"', '"1"', '"10"', '"01"', '"__proto__"', '"constructor"', '""', '"\\u0061"'));

function jsonText(depth: number): fc.Arbitrary<string> {
  const leaf = fc.oneof(plainString, plainString, stringText, numberText, fc.constantFrom('true', 'false', 'null', 'nul', 'tru'));
  if (depth <= 0) return leaf;
  const inner = jsonText(depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.tuple(fc.array(fc.tuple(ws, inner, ws), { maxLength: 4 }), ws).map(([items, w]) => `[${items.map(([a, v, b]) => a + v + b).join(',') || w}]`) },
    { weight: 2, arbitrary: fc.tuple(fc.array(fc.tuple(ws, keyText, ws, ws, inner, ws), { maxLength: 5 }), ws).map(([ms, w]) => `{${ms.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',') || w}}`) },
  );
}

const value = jsonText(3);
const base64 = fc.constantFrom('"aGVsbG8="', '""', '"AA=="', '"not base64!"', '"QQ"');
const recordField = fc.oneof(
  fc.tuple(fc.constant('"value"'), fc.oneof(value, value, base64)),
  fc.tuple(fc.constant('"key"'), fc.oneof(plainString, stringText, base64, fc.constantFrom('null', '7', '{}'))),
  fc.tuple(fc.constant('"headers"'), fc.oneof(fc.constantFrom('null', '{}', '{"h":"v"}', '{"h":null}', '[{"key":"h","value":"v"}]', '[{"key":"h"}]', '5', '[1]', '{"h":1}'), fc.tuple(keyText, stringText).map(([k, v]) => `{${k}:${v}}`))),
  fc.tuple(fc.constant('"partition"'), fc.constantFrom('0', '1', '3', '-1', '1.5', '1.0', '1e0', '"1"', 'null')),
  fc.tuple(fc.constant('"timestamp"'), fc.constantFrom('0', '1700000000000', '-5', '1.5', '1e3', '"0"', 'null')),
  fc.tuple(fc.constantFrom('"extra"', '"\\u0076alue"', '"records"', '"keyFormat"'), value),
);

function object(fields: fc.Arbitrary<[string, string]>, min: number, max: number): fc.Arbitrary<string> {
  return fc.tuple(fc.array(fc.tuple(ws, fields, ws, ws), { minLength: min, maxLength: max }), ws).map(([fs, w]) => `{${fs.map(([a, [k, v], b, c]) => `${a}${k}${b}:${c}${v}`).join(',') || w}}`);
}

/** A record: mostly a value and a key, sometimes more, sometimes wrong. */
const record = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(value, fc.option(plainString)).map(([v, k]) => (k === null ? `{"value":${v}}` : `{"key":${k},"value":${v}}`)) },
  { weight: 3, arbitrary: object(recordField, 1, 5) },
  { weight: 1, arbitrary: fc.constantFrom('[]', '"r"', 'null', '{}') },
);

const envelopeField = fc.oneof(
  fc.tuple(fc.constant('"keyFormat"'), fc.constantFrom('"text"', '"binary"', '"other"', '1')),
  fc.tuple(fc.constant('"valueFormat"'), fc.constantFrom('"json"', '"json"', '"text"', '"binary"', '"xml"')),
  fc.tuple(fc.constant('"producerId"'), fc.constantFrom('1', '0', '-1', '"1"')),
  fc.tuple(fc.constant('"producerEpoch"'), fc.constantFrom('0', '32768')),
  fc.tuple(fc.constant('"sequence"'), fc.constantFrom('0', '2147483648')),
  fc.tuple(fc.constant('"transactionalId"'), fc.constantFrom('"t"', '5')),
  fc.tuple(fc.constantFrom('"extra"', '"value"'), value),
);

const recordsText = fc.tuple(fc.array(fc.tuple(ws, record, ws), { minLength: 0, maxLength: 8 }), ws).map(([rs, w]) => `[${rs.map(([a, r, b]) => a + r + b).join(',') || w}]`);
const envelope = fc.tuple(fc.array(envelopeField, { maxLength: 3 }), recordsText, fc.nat(3), ws).map(([fs, records, at, w]) => {
  const members = fs.map(([k, v]) => `${k}:${v}`);
  members.splice(Math.min(at, members.length), 0, `"records"${w}:${w}${records}`);
  return `${w}{${members.join(',')}}${w}`;
});
const body = fc.oneof({ weight: 4, arbitrary: envelope }, { weight: 1, arbitrary: record }, { weight: 1, arbitrary: value });

/** Byte-level damage: bytes that are not UTF-8, UTF-8 surrogates, a BOM, a cut, a stray byte. */
function damage(texts: fc.Arbitrary<string>, kinds: string[]): fc.Arbitrary<Buffer> {
  return fc.tuple(texts, fc.nat(), fc.constantFrom(...kinds)).map(([text, at, what]) => {
    const bytes = Buffer.from(text, 'utf8');
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    if (what === 'cut') return bytes.subarray(0, i);
    if (what === 'bom') return Buffer.concat([Buffer.from('efbbbf', 'hex'), bytes]);
    return Buffer.concat([bytes.subarray(0, i), Buffer.from(what, 'hex'), bytes.subarray(i)]);
  });
}
const damaged = damage(body, ['ff', 'c3', 'eda080', 'c0af', 'f4908080', 'efbbbf', 'cut', '00', '7b', 'bom']);

test('any body the scan accepts gives the records JSON.parse gives; any body it cannot, goes the JSON.parse way', () => {
  let accepted = 0;
  fc.assert(
    fc.property(body, (text) => {
      if (checkSame(Buffer.from(text, 'utf8'))) accepted++;
    }),
    { numRuns: 5000 },
  );
  assert.ok(accepted > 200, `the scan took only ${accepted} bodies of 5000`);
});

test('bytes that are not UTF-8, UTF-8 surrogates, byte order marks and cut bodies: the same records or the same error', () => {
  fc.assert(
    fc.property(damaged, (bytes) => {
      checkSame(bytes);
    }),
    { numRuns: 3000 },
  );
});

test('values nested near the 1,000-level limit: the scan takes them up to the limit and never past it', () => {
  const nest = (open: string, close: string, n: number): string => open.repeat(n) + close.repeat(n);
  for (const n of [1, 2, 996, 997, 998, 999, 1000, 1001, 5000]) {
    for (const inner of [nest('[', ']', n), nest('{"a":', '}', n - 1).replace(/^/, '').replace('{"a":}', '{"a":1}'), `[${nest('{"b":[', ']}', Math.floor(n / 2))}]`]) {
      // envelope (3 levels around the value) and single record (1 level)
      checkSame(Buffer.from(`{"records":[{"value":${inner}}]}`));
      checkSame(Buffer.from(`{"value":${inner}}`));
      checkSame(Buffer.from(`{"records":[{"value":1}],"extra":${inner}}`));
    }
  }
  assert.notEqual(scanProduceBody(Buffer.from(`{"records":[{"value":${nest('[', ']', 997)}}]}`), MAX_RECORDS), null);
  assert.equal(scanProduceBody(Buffer.from(`{"records":[{"value":${nest('[', ']', 998)}}]}`), MAX_RECORDS), null);
});

test('canonical values are stored as the bytes sent, and others as JSON.stringify writes them', () => {
  const stored = (valueText: string): string | null => {
    const bytes = Buffer.from(`{"records":[{"value":${valueText}}]}`);
    checkSame(bytes);
    return route(bytes).records[0].value?.toString('utf8') ?? null;
  };
  assert.equal(stored('{"page":"/a","ms":12,"tags":["x"],"ok":true,"n":null}'), '{"page":"/a","ms":12,"tags":["x"],"ok":true,"n":null}');
  assert.equal(stored('"line\\nbreak \\"q\\" \\\\"'), '"line\\nbreak \\"q\\" \\\\"');
  assert.equal(stored('{ "a" : 1 }'), '{"a":1}');
  assert.equal(stored('{"a":1,"a":2}'), '{"a":2}');
  assert.equal(stored('{"b":1,"1":2}'), '{"1":2,"b":1}');
  assert.equal(stored('{"__proto__":{"x":1}}'), '{"__proto__":{"x":1}}');
  assert.equal(stored('"\\u0041\\/"'), '"A/"');
  assert.equal(stored('"\\ud800"'), '"\\ud800"');
  assert.equal(stored('"\\uD83D\\uDE00"'), '"😀"');
  assert.equal(stored('[1.0,1e2,-0,1e400,0.1,12345678901234567890]'), '[1,100,0,null,0.1,12345678901234567000]');
  assert.equal(stored('null'), null);
});

test('the bodies clients send most are read by the scan, not by JSON.parse', () => {
  const strings = `{"records":[${Array.from({ length: 20 }, (_, i) => `{"value":"v${i}"}`).join(',')}]}`;
  const objects = `{"records":[${Array.from({ length: 20 }, (_, i) => JSON.stringify({ key: `user-${i}`, value: { page: `/p/${i}`, ms: i * 1.5, ok: true, tags: ['a'] } })).join(',')}]}`;
  const pretty = JSON.stringify({ records: [{ key: 'k', value: { a: [1, 2, { b: 'é😀' }] }, headers: { h: 'v' }, partition: 1, timestamp: 1700000000000 }], valueFormat: 'json' }, null, 2);
  const single = '{"key":"k","value":{"x":1}}';
  for (const text of [strings, objects, pretty, single, '\ufeff' + single]) {
    assert.notEqual(scanProduceBody(Buffer.from(text), MAX_RECORDS), null, text);
    checkSame(Buffer.from(text));
  }
});

// ---- WebSocket produce frames: the same scan, with the frame's own fields ----------------------

/** The JSON.parse path of a WebSocket produce frame: parseFrame (JSON, depth, schema), then produceRecords. */
function frameReference(bytes: Buffer): ProduceRequest {
  const parsed = parseFrame(bytes.toString('utf8'));
  if (!parsed.ok) throw parsed.error;
  if (parsed.frame.type !== 'produce') throw new WebkaError('INVALID_REQUEST', `a ${parsed.frame.type} frame`);
  return produceRecords(parsed.frame, MAX_RECORDS);
}

function frameOutcome(fn: () => ProduceRequest): unknown {
  const out = outcome(() => fn());
  if ('error' in (out as object)) return out;
  const { records: _records, ...head } = fn().frame;
  return { ...(out as object), head };
}

function checkSameFrame(bytes: Buffer): boolean {
  const scanned = readProduceFrame(bytes, MAX_RECORDS);
  if (scanned === null) return false;
  const want = frameOutcome(() => frameReference(bytes));
  assert.ok(!('error' in (want as object)), `the scan accepted a frame the JSON.parse path refuses: ${JSON.stringify(want)}\n${bytes.toString('utf8').slice(0, 500)}`);
  assert.deepEqual(frameOutcome(() => scanned), want, bytes.toString('utf8').slice(0, 500));
  return true;
}

const frameField = fc.oneof(
  fc.tuple(fc.constant('"type"'), fc.constantFrom('"produce"', '"produce"', '"ping"', '"Produce"', '1')),
  fc.tuple(fc.constant('"id"'), fc.constantFrom('1', '"a"', '""', '1.5', 'null', '-3', `"${'x'.repeat(129)}"`)),
  fc.tuple(fc.constant('"cluster"'), fc.constantFrom('"default"', '"bad name"', '""')),
  fc.tuple(fc.constant('"topic"'), fc.constantFrom('"t"', '"t.1"', '5', '"a/b"')),
  fc.tuple(fc.constant('"acks"'), fc.constantFrom('1', '0', '"all"', '2', '"1"')),
  envelopeField,
);
const HEAD = ['"type":"produce"', '"id":7', '"cluster":"default"', '"topic":"t"'];
/** Records of a frame: mostly good ones, so that most frames are taken and compared. */
const frameRecord = fc.oneof({ weight: 6, arbitrary: fc.tuple(fc.oneof(plainString, plainString, value), fc.option(plainString)).map(([v, k]) => (k === null ? `{"value":${v}}` : `{"key":${k},"value":${v}}`)) }, { weight: 1, arbitrary: record });
const frameRecords = fc.tuple(fc.array(fc.tuple(ws, frameRecord, ws), { minLength: 0, maxLength: 5 }), ws).map(([rs, w]) => `[${rs.map(([a, r, b]) => a + r + b).join(',') || w}]`);
const frame = fc.tuple(fc.array(fc.nat(9), { minLength: 4, maxLength: 4 }), fc.array(frameField, { maxLength: 2 }), frameRecords, fc.nat(7), ws).map(([keep, fs, records, at, w]) => {
  const members = [...HEAD.filter((_, i) => keep[i] > 0), ...fs.map(([k, v]) => `${k}:${v}`)];
  members.splice(Math.min(at, members.length), 0, `"records"${w}:${w}${records}`);
  return `${w}{${members.join(',')}}${w}`;
});
const damagedFrame = damage(frame, ['ff', 'c3', 'eda080', 'efbbbf', 'cut', '00', 'bom']);

test('any WebSocket produce frame the scan accepts gives the records, producer and fields the JSON.parse path gives', () => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.oneof({ weight: 4, arbitrary: frame }, { weight: 1, arbitrary: body }), (text) => {
      if (checkSameFrame(Buffer.from(text, 'utf8'))) accepted++;
    }),
    { numRuns: 5000 },
  );
  assert.ok(accepted > 200, `the scan took only ${accepted} frames of 5000`);
});

test('WebSocket produce frames with bytes that are not UTF-8, a byte order mark, cut or nested too deep: the scan declines what JSON.parse refuses', () => {
  fc.assert(fc.property(damagedFrame, (bytes) => void checkSameFrame(bytes)), { numRuns: 3000 });
  const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  for (const n of [996, 997, 998, 1001]) {
    checkSameFrame(Buffer.from(`{"type":"produce","id":1,"cluster":"default","topic":"t","records":[{"value":${nest(n)}}]}`));
    checkSameFrame(Buffer.from(`{"type":"produce","id":${nest(n)},"cluster":"default","topic":"t","records":[{"value":1}]}`));
  }
});

test('the WebSocket produce frames clients send most are read by the scan, with the schema\'s rules the scan alone would miss', () => {
  const head = '"type":"produce","id":"r1","cluster":"default","topic":"t","acks":1';
  const strings = `{${head},"records":[${Array.from({ length: 20 }, (_, i) => `{"value":"v${i}"}`).join(',')}]}`;
  const objects = `{${head},"records":[${Array.from({ length: 20 }, (_, i) => JSON.stringify({ key: `user-${i}`, value: { page: `/p/${i}`, ok: true } })).join(',')}],"producerId":3,"producerEpoch":0,"sequence":9}`;
  for (const text of [strings, objects]) assert.ok(checkSameFrame(Buffer.from(text)), text);
  // accepted by parseRecords but not by the frame schema: declined, so the schema's error is answered
  for (const record of ['{"value":1,"timestamp":-5}', '{"value":1,"headers":null}', '{"value":1,"headers":[{"key":"h"}]}']) {
    const text = `{${head},"records":[${record}]}`;
    assert.equal(readProduceFrame(Buffer.from(text), MAX_RECORDS), null, text);
    assert.throws(() => frameReference(Buffer.from(text)), WebkaError);
  }
  for (const text of [`{${head},"records":[]}`, `{${head},"records":[{"value":1}],"transactionalId":"x"}`, `{${head},"value":1}`, `{"id":1,"cluster":"default","topic":"t","records":[{"value":1}]}`]) {
    assert.equal(readProduceFrame(Buffer.from(text), MAX_RECORDS), null, text);
  }
});
