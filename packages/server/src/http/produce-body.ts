/**
 * The body of a JSON produce request, {"records":[...], keyFormat?, valueFormat?, producerId?,
 * producerEpoch?, sequence?, transactionalId?} or one record object, turned into the records to
 * append. Two ways that give the same records:
 *
 *   scanProduceBody  one pass over the bytes (json-scan.ts) that checks the JSON and notes where
 *                    each field lies, then the records: a JSON value whose text is already
 *                    canonical (what JSON.stringify would write) is stored as the bytes sent, a
 *                    text key as its bytes, without building any of them as JavaScript values.
 *                    It declines (null) whenever it is unsure, and on every error;
 *   parseProduceBody the body parsed by JSON.parse, each value stringified again. It is the
 *                    reference, and it runs whenever the scan declines, so every error the API
 *                    answers (which field, which record, which code) comes from it alone.
 *
 * The property tests of test/unit/produce-body.test.ts hold the two to the same records.
 */
import { isUtf8 } from 'node:buffer';
import type { ProduceInput } from '../broker.js';
import { WebkaError } from '../errors.js';
import { JsonScanner, NOT_JSON, NULL, STRING } from './json-scan.js';
import { convertKey, convertPartition, convertTextValue, convertTimestamp, FORMAT_TAG, parseHeaders, parseRecords, type KeyFormat, type ValueFormat } from './record-json.js';

export interface ParsedProduce {
  records: ProduceInput[];
  producer?: { producerId: number; producerEpoch: number; sequence: number };
  transactionalId?: string;
}

const PRODUCE_FIELDS = new Set(['records', 'keyFormat', 'valueFormat', 'producerId', 'producerEpoch', 'sequence', 'transactionalId']);

/** The reference: a produce body parsed by JSON.parse (`body`) to its records, or the first error. */
export function parseProduceBody(body: unknown, maxRecords: number): ParsedProduce {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new WebkaError('INVALID_REQUEST', 'the body must be {"records":[...]} or a single record object with "value"');
  }
  const b = body as Record<string, unknown>;
  const single = !('records' in b);
  if (!single) {
    for (const k in b) if (!PRODUCE_FIELDS.has(k)) throw new WebkaError('INVALID_REQUEST', `unknown field "${k}"; the body takes ${[...PRODUCE_FIELDS].join(', ')}`);
  }
  const list = single ? [b] : b.records;
  if (!Array.isArray(list)) throw new WebkaError('INVALID_REQUEST', '"records" must be an array');
  if (list.length === 0) throw new WebkaError('INVALID_REQUEST', '"records" is empty; send at least one record');
  if (list.length > maxRecords) throw new WebkaError('TOO_MANY_RECORDS', `${list.length} records in one request; the limit is ${maxRecords} (maxRecordsPerRequest)`);
  const [keyFormat, valueFormat] = formats(b, single);
  const out: ParsedProduce = { records: parseRecords(list, keyFormat, valueFormat) };
  producerFields(b, single, out);
  return out;
}

function formats(b: Record<string, unknown>, single: boolean): [KeyFormat, ValueFormat] {
  const keyFormat = (single ? 'text' : (b.keyFormat ?? 'text')) as KeyFormat;
  const valueFormat = (single ? 'json' : (b.valueFormat ?? 'json')) as ValueFormat;
  if (keyFormat !== 'text' && keyFormat !== 'binary') throw new WebkaError('INVALID_REQUEST', 'keyFormat must be text or binary');
  if (valueFormat !== 'json' && valueFormat !== 'text' && valueFormat !== 'binary') throw new WebkaError('INVALID_REQUEST', 'valueFormat must be json, text or binary');
  return [keyFormat, valueFormat];
}

function producerFields(b: Record<string, unknown>, single: boolean, out: ParsedProduce): void {
  if (!single && (b.producerId !== undefined || b.producerEpoch !== undefined || b.sequence !== undefined)) {
    const need = (k: string): number => {
      const v = b[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new WebkaError('INVALID_REQUEST', `${k} must be a non-negative integer; idempotent requests carry producerId, producerEpoch and sequence together`);
      return v;
    };
    out.producer = { producerId: need('producerId'), producerEpoch: need('producerEpoch'), sequence: need('sequence') };
    if (out.producer.producerEpoch > 32767) throw new WebkaError('INVALID_REQUEST', 'producerEpoch must be at most 32767');
    if (out.producer.sequence > 0x7fffffff) throw new WebkaError('INVALID_REQUEST', 'sequence must be at most 2147483647');
  }
  if (!single && b.transactionalId !== undefined) {
    if (typeof b.transactionalId !== 'string') throw new WebkaError('INVALID_REQUEST', 'transactionalId must be a string');
    if (out.producer === undefined) throw new WebkaError('INVALID_REQUEST', 'a transactional produce carries producerId, producerEpoch and sequence with transactionalId (from POST /v1/clusters/{cluster}/transactions)');
    out.transactionalId = b.transactionalId;
  }
}

/** A body the scan read to its records, with its bytes for what needs the parsed body (an Idempotency-Key's fingerprint). */
export class ScannedProduce {
  readonly parsed: ParsedProduce;
  readonly #bytes: Buffer;
  readonly #start: number;

  constructor(parsed: ParsedProduce, bytes: Buffer, start: number) {
    this.parsed = parsed;
    this.#bytes = bytes;
    this.#start = start;
  }

  /** The body's bytes as sent (the byte order mark dropped), for relaying it unchanged to another broker. */
  bytes(): Buffer {
    return this.#bytes.subarray(this.#start);
  }

  /** The body as JSON.parse gives it (the byte order mark dropped, as the JSON body parser does). */
  json(): unknown {
    return JSON.parse(this.#bytes.toString('utf8', this.#start));
  }
}

// Field ids: a record's fields first (also the single-record body's), then the envelope's, then
// those only a WebSocket produce frame has.
const NAMES = ['key', 'value', 'headers', 'partition', 'timestamp', 'records', 'keyFormat', 'valueFormat', 'producerId', 'producerEpoch', 'sequence', 'transactionalId', 'type', 'id', 'cluster', 'topic', 'acks'];
const NAME_BYTES = NAMES.map((n) => Buffer.from(n, 'latin1'));
const KEY = 0;
const VALUE = 1;
const HEADERS = 2;
const PARTITION = 3;
const TIMESTAMP = 4;
const RECORD_FIELD_COUNT = 5;
const RECORDS = 5;
const TRANSACTIONAL_ID = 11;
const FIELD_COUNT = NAMES.length;
const bit = (f: number): number => 1 << f;
/** The top-level fields of a produce request body: a record's and the envelope's. */
const BODY_FIELDS = bit(TRANSACTIONAL_ID + 1) - 1;
/** The top-level fields of a WebSocket produce frame: the envelope's but transactionalId, and the frame's own. */
const FRAME_FIELDS = (bit(FIELD_COUNT) - 1) & ~(bit(RECORDS) - 1) & ~bit(TRANSACTIONAL_ID);
/** What a WebSocket frame's fields other than records are taken as: the frame's head fields. */
const FRAME_HEAD = NAMES.map((_, f) => f).filter((f) => f !== RECORDS && (FRAME_FIELDS & bit(f)) !== 0);

/**
 * Where a record's fields lie in the body, STRIDE ints per record: start and end of each of
 * the RECORD_FIELD_COUNT fields' values (end 0: absent), then the value's kind, whether its text
 * is canonical (1) and the key's kind.
 */
const STRIDE = 2 * RECORD_FIELD_COUNT + 3;
const VALUE_KIND = 2 * RECORD_FIELD_COUNT;
const VALUE_CANONICAL = VALUE_KIND + 1;
const KEY_KIND = VALUE_KIND + 2;

/** Record slots, kept between bodies (scans run one at a time, on one thread) and grown as needed. */
let scratch = new Int32Array(STRIDE * 1024);

/** What the first pass found: the records' slots, and the top-level object's fields (a record's or the envelope's). */
class Layout {
  records = scratch;
  count = 0;
  /** The top-level object: as a record slot, then start and end of each envelope field at 2 * id. */
  top = new Int32Array(STRIDE + 2 * FIELD_COUNT);
  hasRecords = false;
  hasRecordFields = false;
  hasEnvelopeFields = false;

  add(): number {
    const at = this.count++ * STRIDE;
    if (at + STRIDE > this.records.length) {
      const grown = new Int32Array(this.records.length * 2);
      grown.set(this.records);
      this.records = scratch = grown;
    }
    this.records.fill(0, at, at + STRIDE);
    return at;
  }
}

function fieldOf(b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  for (let f = 0; f < FIELD_COUNT; f++) {
    const name = NAME_BYTES[f];
    if (name.length !== n) continue;
    let j = 0;
    while (j < n && b[start + j] === name[j]) j++;
    if (j === n) return f;
  }
  return -1;
}

/**
 * Scans the object at s.pos (a record, or the top level when `topFields` names the fields it
 * takes, a bit per field id), noting its fields in `slots` at `at`. False when the scan
 * declines: not JSON, too deep, a field the body does not take or takes once, records that are
 * not objects, more than maxRecords of them.
 */
function scanObject(s: JsonScanner, layout: Layout, slots: Int32Array, at: number, topFields: number, maxRecords: number): boolean {
  const b = s.bytes;
  const top = topFields !== 0;
  const depth = top ? 1 : 3;
  s.pos++;
  s.ws();
  if (s.peek() === 0x7d) {
    s.pos++;
    return true;
  }
  for (;;) {
    if (s.peek() !== 0x22) return false;
    const nameStart = s.pos + 1;
    if (s.string() !== STRING) return false;
    const f = fieldOf(b, nameStart, s.pos - 1);
    s.ws();
    if (s.peek() !== 0x3a) return false;
    s.pos++;
    s.ws();
    if (f === RECORDS && top) {
      if (layout.hasRecords || s.peek() !== 0x5b || !scanRecords(s, layout, maxRecords)) return false;
      layout.hasRecords = true;
    } else if (f >= 0 && (top ? (topFields & bit(f)) !== 0 : f < RECORD_FIELD_COUNT)) {
      const o = f < RECORD_FIELD_COUNT ? at + 2 * f : STRIDE + 2 * f;
      if (slots[o + 1] !== 0) return false; // given twice
      const start = s.pos;
      s.canonical = true;
      const kind = s.value(depth);
      if (kind === NOT_JSON) return false;
      slots[o] = start;
      slots[o + 1] = s.pos;
      if (f === VALUE) {
        slots[at + VALUE_KIND] = kind;
        slots[at + VALUE_CANONICAL] = s.canonical ? 1 : 0;
      } else if (f === KEY) slots[at + KEY_KIND] = kind;
      if (top) {
        if (f < RECORD_FIELD_COUNT) layout.hasRecordFields = true;
        else layout.hasEnvelopeFields = true;
      }
    } else return false;
    s.ws();
    const c = s.peek();
    s.pos++;
    if (c === 0x7d) return true;
    if (c !== 0x2c) return false;
    s.ws();
  }
}

function scanRecords(s: JsonScanner, layout: Layout, maxRecords: number): boolean {
  s.pos++;
  s.ws();
  for (;;) {
    if (s.peek() !== 0x7b || layout.count >= maxRecords) return false;
    const at = layout.add();
    if (!scanObject(s, layout, layout.records, at, 0, maxRecords)) return false;
    s.ws();
    const c = s.peek();
    s.pos++;
    if (c === 0x5d) return true;
    if (c !== 0x2c) return false;
    s.ws();
  }
}

function jsonAt(b: Buffer, start: number, end: number): unknown {
  return JSON.parse(b.toString('utf8', start, end));
}

/** The string or other JSON value at start..end: a string without escapes is read without JSON.parse. */
function valueAt(b: Buffer, start: number, end: number, kind: number): unknown {
  return kind === STRING ? b.toString('utf8', start + 1, end - 1) : jsonAt(b, start, end);
}

/**
 * Record i from its slot, as parseRecord would give it (which throws what this throws). Null
 * when it has no value, or when `headersOk` (given) refuses its headers.
 */
function recordAt(b: Buffer, r: Int32Array, at: number, i: number, keyFormat: KeyFormat, valueFormat: ValueFormat, headersOk?: (h: unknown) => boolean): ProduceInput | null {
  const valueEnd = r[at + 2 * VALUE + 1];
  if (valueEnd === 0) return null;
  const valueStart = r[at + 2 * VALUE];
  const valueKind = r[at + VALUE_KIND];
  let value: Buffer | null;
  if (valueKind === NULL) value = null;
  else if (valueFormat === 'json') value = r[at + VALUE_CANONICAL] === 1 ? b.subarray(valueStart, valueEnd) : Buffer.from(JSON.stringify(jsonAt(b, valueStart, valueEnd)), 'utf8');
  else if (valueFormat === 'text' && valueKind === STRING) value = b.subarray(valueStart + 1, valueEnd - 1);
  else value = convertTextValue(valueAt(b, valueStart, valueEnd, valueKind), i, valueFormat);

  let key: Buffer | null = null;
  const keyEnd = r[at + 2 * KEY + 1];
  if (keyEnd !== 0) {
    const keyStart = r[at + 2 * KEY];
    const keyKind = r[at + KEY_KIND];
    if (keyKind === STRING && keyFormat === 'text') key = b.subarray(keyStart + 1, keyEnd - 1);
    else key = convertKey(valueAt(b, keyStart, keyEnd, keyKind), i, keyFormat);
  }
  const partition = r[at + 2 * PARTITION + 1] === 0 ? undefined : convertPartition(jsonAt(b, r[at + 2 * PARTITION], r[at + 2 * PARTITION + 1]), i);
  const timestamp = r[at + 2 * TIMESTAMP + 1] === 0 ? undefined : convertTimestamp(jsonAt(b, r[at + 2 * TIMESTAMP], r[at + 2 * TIMESTAMP + 1]), i);
  const hasHeaders = r[at + 2 * HEADERS + 1] !== 0;
  const h = hasHeaders ? jsonAt(b, r[at + 2 * HEADERS], r[at + 2 * HEADERS + 1]) : null;
  if (hasHeaders && headersOk !== undefined && !headersOk(h)) return null;
  const headers = h === null ? [] : parseHeaders(h, `records[${i}].headers`);
  return { key, value, headers, partition, timestamp, attributes: FORMAT_TAG[valueFormat] };
}

/** The first pass over a body or frame from `start`: its layout, or null when the scan declines. */
function scanLayout(bytes: Buffer, start: number, topFields: number, maxRecords: number): Layout | null {
  if (!isUtf8(bytes)) return null;
  const s = new JsonScanner(bytes, start);
  s.ws();
  if (s.peek() !== 0x7b) return null;
  const layout = new Layout();
  if (!scanObject(s, layout, layout.top, 0, topFields, maxRecords)) return null;
  s.ws();
  return s.pos === s.end ? layout : null;
}

/** The top-level fields `ids` that are present, parsed by JSON.parse. */
function topValues(bytes: Buffer, layout: Layout, ids: Iterable<number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of ids) {
    const o = STRIDE + 2 * f;
    if (layout.top[o + 1] !== 0) out[NAMES[f]] = jsonAt(bytes, layout.top[o], layout.top[o + 1]);
  }
  return out;
}

/** Every record from its slot (recordAt), or null when one declines. */
function recordsAt(bytes: Buffer, slots: Int32Array, count: number, keyFormat: KeyFormat, valueFormat: ValueFormat, headersOk?: (h: unknown) => boolean): ProduceInput[] | null {
  const records = new Array<ProduceInput>(count);
  for (let i = 0; i < count; i++) {
    const record = recordAt(bytes, slots, i * STRIDE, i, keyFormat, valueFormat, headersOk);
    if (record === null) return null;
    records[i] = record;
  }
  return records;
}

const ENVELOPE = Array.from({ length: TRANSACTIONAL_ID - RECORDS }, (_, j) => RECORDS + 1 + j);

/**
 * The records of a JSON produce body read in one pass over its bytes, or null when the scan
 * declines (the body is then parsed by JSON.parse and given to parseProduceBody, which gives the
 * same records or the error to answer). Declines: bytes that are not UTF-8 or not JSON, nesting
 * past MAX_JSON_DEPTH, and anything parseProduceBody would refuse.
 */
export function scanProduceBody(bytes: Buffer, maxRecords: number): ScannedProduce | null {
  // a byte order mark is dropped, as by the JSON body parser
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const layout = scanLayout(bytes, start, BODY_FIELDS, maxRecords);
  if (layout === null) return null;
  const single = !layout.hasRecords;
  // parseProduceBody refuses a record's fields beside "records", and envelope fields in a single record
  if (single ? layout.hasEnvelopeFields : layout.hasRecordFields || layout.count === 0) return null;
  try {
    const envelope = topValues(bytes, layout, ENVELOPE);
    const [keyFormat, valueFormat] = formats(envelope, single);
    const records = recordsAt(bytes, single ? layout.top : layout.records, single ? 1 : layout.count, keyFormat, valueFormat);
    if (records === null) return null;
    const out: ParsedProduce = { records };
    producerFields(envelope, single, out);
    return new ScannedProduce(out, bytes, start);
  } catch (e) {
    if (e instanceof WebkaError) return null;
    throw e;
  }
}

/** A WebSocket produce frame read by scanProduceFrame: its fields but records, and its records. */
export interface ScannedFrame {
  head: Record<string, unknown>;
  records: ProduceInput[];
}

/**
 * A WebSocket produce frame ({"type":"produce","id":..,"cluster":..,"topic":..,"records":[...],
 * ...}) read in the same one pass as a produce body: its records as the JSON.parse path
 * (ws-frames.ts) gives them, or null when the scan declines. The frame schema asks more of a
 * frame than parseRecords does, so the caller judges what the scan cannot: `headOk` the fields
 * but records (parsed), `headersOk` each record's headers. Declines as scanProduceBody does, and
 * also a byte order mark (a frame is JSON text, which has none), a single record without
 * "records", no records, and a negative timestamp.
 */
export function scanProduceFrame(bytes: Buffer, maxRecords: number, headOk: (head: Record<string, unknown>) => boolean, headersOk: (h: unknown) => boolean): ScannedFrame | null {
  const layout = scanLayout(bytes, 0, FRAME_FIELDS, maxRecords);
  if (layout === null || !layout.hasRecords || layout.count === 0) return null;
  try {
    const head = topValues(bytes, layout, FRAME_HEAD);
    if (!headOk(head)) return null;
    const records = recordsAt(bytes, layout.records, layout.count, (head.keyFormat ?? 'text') as KeyFormat, (head.valueFormat ?? 'json') as ValueFormat, headersOk);
    if (records === null) return null;
    for (const r of records) if (r.timestamp !== undefined && r.timestamp < 0) return null;
    return { head, records };
  } catch (e) {
    if (e instanceof WebkaError) return null;
    throw e;
  }
}
