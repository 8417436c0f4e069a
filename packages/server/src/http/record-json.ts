/**
 * Records between JSON and bytes: Webka's one value model (docs/values.md). On disk a key is its
 * UTF-8 bytes and a JSON value is its JSON text, as any Kafka JSON producer writes them; text and
 * binary values are stored as given. Each record also keeps how its value was produced (the
 * format tag in its attributes byte, storage/record-batch.ts), because the bytes alone cannot
 * tell the text "10001" from the JSON number 10001.
 *
 * Produce: per request, keyFormat (text | binary) and valueFormat (json | text | binary) say how
 * to read `key` and `value`; binary is base64. Reading (fetch, group polls, SSE, WebSocket):
 * without valueFormat a value is shown as it was produced: JSON as JSON, text as a JSON string
 * of the same text, binary as base64 with "valueEncoding": "base64". A record without a tag (a
 * Kafka client's) shows as JSON when its bytes are JSON, else as text when they are UTF-8, else
 * as base64. A reader that asks for a format gets it; a value that cannot be shown in it (bytes
 * that are not JSON, say) comes as base64 with valueEncoding, so nothing is lost or mangled.
 */
import { isUtf8 } from 'node:buffer';
import {
  VALUE_FORMAT_BINARY,
  VALUE_FORMAT_JSON,
  VALUE_FORMAT_MASK,
  VALUE_FORMAT_TEXT,
  type DecodedRecord,
  type RecordHeader,
} from '../storage/record-batch.js';
import type { ProduceInput } from '../broker.js';
import { WebkaError } from '../errors.js';

export type KeyFormat = 'text' | 'binary';
export type ValueFormat = 'json' | 'text' | 'binary';
/** How a reader asked to see values: a format, or (no valueFormat given) as each was produced. */
export type ReadValueFormat = ValueFormat | 'as-produced';

/** The attributes byte of a record whose value was produced in this format (storage/record-batch.ts VALUE_FORMAT_*). */
export const FORMAT_TAG: Record<ValueFormat, number> = { json: VALUE_FORMAT_JSON, text: VALUE_FORMAT_TEXT, binary: VALUE_FORMAT_BINARY };

/** The read format of a query's valueFormat (validated by the route's schema): as produced when absent. */
export function readFormat(valueFormat: string | undefined): ReadValueFormat {
  return (valueFormat ?? 'as-produced') as ReadValueFormat;
}

const RECORD_FIELDS = new Set(['key', 'value', 'headers', 'partition', 'timestamp']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(s: string, where: string): Buffer {
  if (s.length % 4 !== 0 || !BASE64.test(s)) throw new WebkaError('INVALID_REQUEST', `${where} is not valid base64`);
  return Buffer.from(s, 'base64');
}

/** A record's headers: an object of strings (or nulls), or an array of {key, value}. */
export function parseHeaders(h: unknown, where: string): RecordHeader[] {
  if (h === undefined || h === null) return [];
  const out: RecordHeader[] = [];
  const one = (key: unknown, value: unknown, at: string): void => {
    if (typeof key !== 'string') throw new WebkaError('INVALID_REQUEST', `${at} key must be a string`);
    if (value !== null && typeof value !== 'string') throw new WebkaError('INVALID_REQUEST', `${at} value must be a string or null`);
    out.push({ key, value: value === null ? null : Buffer.from(value, 'utf8') });
  };
  if (Array.isArray(h)) {
    h.forEach((e, i) => {
      if (e === null || typeof e !== 'object') throw new WebkaError('INVALID_REQUEST', `${where}[${i}] must be {"key":..,"value":..}`);
      one((e as { key?: unknown }).key, (e as { value?: unknown }).value ?? null, `${where}[${i}]`);
    });
  } else if (typeof h === 'object') {
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) one(k, v, `${where}.${k}`);
  } else {
    throw new WebkaError('INVALID_REQUEST', `${where} must be an object of strings or an array of {key, value}`);
  }
  return out;
}

/** Validates and converts one JSON record of a produce request. */
export function parseRecord(r: unknown, i: number, keyFormat: KeyFormat, valueFormat: ValueFormat): ProduceInput {
  return convertRecord(r, i, keyFormat, valueFormat, null);
}

/**
 * Validates and converts every record of a produce request, in order: the same records, and the
 * same first error, as parseRecord on each. Faster for many records: JSON values that are
 * strings are encoded together (see encodeJsonStrings) rather than one JSON.stringify and one
 * Buffer each, which cost most of a small record's parsing.
 */
export function parseRecords(list: readonly unknown[], keyFormat: KeyFormat, valueFormat: ValueFormat): ProduceInput[] {
  const out = new Array<ProduceInput>(list.length);
  const strings: JsonStrings | null = valueFormat === 'json' ? { values: [], at: [] } : null;
  for (let i = 0; i < list.length; i++) out[i] = convertRecord(list[i], i, keyFormat, valueFormat, strings);
  if (strings !== null && strings.values.length > 0) encodeJsonStrings(strings, out);
  return out;
}

/** JSON values that are strings, left to encode after validation, with their records' indexes. */
interface JsonStrings {
  values: string[];
  at: number[];
}

/**
 * Sets each record's value to the UTF-8 bytes of JSON.stringify(its string), byte for byte what
 * parseRecord stores. The strings are stringified as one array, `["s0","s1",...]`, and encoded
 * as one Buffer whose slices become the values. Escaping only ever lengthens a string's text, so
 * when the array's text is exactly as long as its strings, each quoted, plus brackets and commas,
 * no string was escaped and element j is '"' + s_j + '"' at a known place; its byte length is its
 * character length + 2 when the whole text is ASCII, else Buffer.byteLength(s_j) + 2 (a lone
 * surrogate, which would encode differently, is always escaped). Otherwise: one string at a time.
 */
function encodeJsonStrings(strings: JsonStrings, out: ProduceInput[]): void {
  const { values, at } = strings;
  const text = JSON.stringify(values);
  let plain = values.length + 1;
  for (let j = 0; j < values.length; j++) plain += values[j].length + 2;
  if (text.length !== plain) {
    for (let j = 0; j < values.length; j++) out[at[j]].value = Buffer.from(JSON.stringify(values[j]), 'utf8');
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  const ascii = bytes.length === text.length;
  let pos = 1; // after '['
  for (let j = 0; j < values.length; j++) {
    const n = (ascii ? values[j].length : Buffer.byteLength(values[j], 'utf8')) + 2;
    out[at[j]].value = bytes.subarray(pos, pos + n);
    pos += n + 1; // and the ','
  }
}

/** A record's key as given in JSON (absent, null or a string) as the bytes stored. */
export function convertKey(k: unknown, i: number, keyFormat: KeyFormat): Buffer | null {
  if (k === undefined || k === null) return null;
  if (typeof k !== 'string') throw new WebkaError('INVALID_REQUEST', `records[${i}].key must be a string or null (keys are text, or base64 with keyFormat binary)`);
  return keyFormat === 'binary' ? decodeBase64(k, `records[${i}].key`) : Buffer.from(k, 'utf8');
}

/** A non-null value with valueFormat text or binary: a string, stored as its UTF-8 bytes or decoded from base64. */
export function convertTextValue(v: unknown, i: number, valueFormat: 'text' | 'binary'): Buffer {
  if (typeof v !== 'string') throw new WebkaError('INVALID_REQUEST', `records[${i}].value must be a string with valueFormat ${valueFormat}`);
  return valueFormat === 'binary' ? decodeBase64(v, `records[${i}].value`) : Buffer.from(v, 'utf8');
}

export function convertPartition(p: unknown, i: number): number | undefined {
  if (p === undefined) return undefined;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) throw new WebkaError('INVALID_REQUEST', `records[${i}].partition must be a non-negative integer`);
  return p;
}

export function convertTimestamp(t: unknown, i: number): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !Number.isInteger(t)) throw new WebkaError('INVALID_TIMESTAMP', `records[${i}].timestamp must be an integer of milliseconds since the epoch`);
  return t;
}

/** parseRecord; a JSON string value is left null and added to `strings` when that is given. */
function convertRecord(r: unknown, i: number, keyFormat: KeyFormat, valueFormat: ValueFormat, strings: JsonStrings | null): ProduceInput {
  // error messages name the record as records[i]; built only when one is thrown
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new WebkaError('INVALID_REQUEST', `records[${i}] must be an object with at least "value"`);
  const rec = r as Record<string, unknown>;
  for (const k in rec) {
    if (!RECORD_FIELDS.has(k)) throw new WebkaError('INVALID_REQUEST', `records[${i}] has unknown field "${k}"; records take key, value, headers, partition, timestamp`);
  }
  if (!('value' in rec)) throw new WebkaError('INVALID_REQUEST', `records[${i}] has no "value" (use null for a tombstone)`);
  const key = convertKey(rec.key, i, keyFormat);
  let value: Buffer | null;
  let deferred = false;
  const v = rec.value;
  if (v === null) value = null;
  else if (valueFormat === 'json') {
    if (typeof v === 'string' && strings !== null) {
      value = null;
      deferred = true;
    } else value = Buffer.from(JSON.stringify(v), 'utf8');
  } else value = convertTextValue(v, i, valueFormat);
  const partition = convertPartition(rec.partition, i);
  const timestamp = convertTimestamp(rec.timestamp, i);
  const h = rec.headers;
  const headers = h === undefined || h === null ? [] : parseHeaders(h, `records[${i}].headers`);
  // only once the record is valid, so that `strings` holds valid records' values alone
  if (deferred) {
    strings!.values.push(v as string);
    strings!.at.push(i);
  }
  return { key, value, headers, partition, timestamp, attributes: FORMAT_TAG[valueFormat] };
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/** The JSON text of a key: a string, null, or base64 (with keyEncoding). */
function renderBytes(b: Buffer, asText: boolean): [string, boolean] {
  if (asText && isUtf8(b)) return [quote(b.toString('utf8')), false];
  return [quote(b.toString('base64')), true];
}

function renderValue(v: Buffer, format: ReadValueFormat, attributes: number): [string, boolean] {
  if (format === 'as-produced') {
    const tag = attributes & VALUE_FORMAT_MASK;
    // produced as JSON over HTTP: JSON.stringify's text, valid as it is
    if (tag === VALUE_FORMAT_JSON) return [v.toString('utf8'), false];
    if (tag === VALUE_FORMAT_TEXT) return renderBytes(v, true);
    if (tag === VALUE_FORMAT_BINARY) return [quote(v.toString('base64')), true];
    // untagged (a Kafka client's record): JSON when it parses, else text, else bytes
    if (!isUtf8(v)) return [quote(v.toString('base64')), true];
    const text = v.toString('utf8');
    try {
      JSON.parse(text);
      return [text, false];
    } catch {
      return [quote(text), false];
    }
  }
  if (format === 'json' && isUtf8(v)) {
    const text = v.toString('utf8');
    try {
      JSON.parse(text);
      return [text, false];
    } catch {
      return [quote(v.toString('base64')), true];
    }
  }
  return renderBytes(v, format === 'text');
}

/**
 * One record as the fetch API, SSE and WebSocket show it, written straight to JSON text: a JSON
 * value is spliced in as stored, without parsing it into objects and printing it again.
 */
export function renderRecord(r: DecodedRecord, keyFormat: KeyFormat, valueFormat: ReadValueFormat, prefix = ''): string {
  let out = `{${prefix}"offset":${r.offset},"timestamp":${r.timestamp},"key":`;
  let extra = '';
  if (r.key === null) out += 'null';
  else {
    const [text, b64] = renderBytes(r.key, keyFormat === 'text');
    out += text;
    if (b64) extra += ',"keyEncoding":"base64"';
  }
  out += ',"value":';
  if (r.value === null) out += 'null';
  else {
    const [text, b64] = renderValue(r.value, valueFormat, r.attributes ?? 0);
    out += text;
    if (b64) extra += ',"valueEncoding":"base64"';
  }
  out += ',"headers":{';
  for (let i = 0; i < r.headers.length; i++) {
    const h = r.headers[i];
    if (i > 0) out += ',';
    out += quote(h.key) + ':' + (h.value === null ? 'null' : quote(h.value.toString('utf8')));
  }
  return out + '}' + extra + '}';
}

/**
 * JSON text built straight into bytes: a fetch or poll answer of a thousand records is one Buffer
 * that goes to the socket as it is, with each stored JSON value copied in as its bytes, rather
 * than a string of concatenated pieces that is then measured and encoded as UTF-8 again.
 */
export class JsonBytes {
  #buf: Buffer;
  #len = 0;

  constructor(sizeHint: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(256, sizeHint));
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  /** Text of ASCII characters only (punctuation, field names, numbers, base64). */
  ascii(s: string): void {
    const n = s.length;
    this.#room(n);
    if (n > 64) {
      this.#len += this.#buf.write(s, this.#len, 'latin1');
      return;
    }
    // a record's short pieces: a loop costs less than the call into Buffer#write (2.5x, measured)
    const buf = this.#buf;
    const at = this.#len;
    for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
    this.#len = at + n;
  }

  /** An integer's decimal digits (a record's offset and timestamp), without a string in between. */
  int(v: number): void {
    if (v < 0 || v > Number.MAX_SAFE_INTEGER || Math.floor(v) !== v) {
      this.ascii(String(v));
      return;
    }
    this.#room(16);
    if (v < 1e8) {
      this.#small(v, 0);
      return;
    }
    // parts below 1e8, so that the digits come from small-integer arithmetic (a 13-digit timestamp)
    const high = Math.floor(v / 1e8);
    const low = v - high * 1e8;
    if (high < 1e8) this.#small(high, 0);
    else {
      const top = Math.floor(high / 1e8);
      this.#small(top, 0);
      this.#small(high - top * 1e8, 8);
    }
    this.#small(low, 8);
  }

  /** The digits of 0 <= v < 1e8, left-padded with zeros to `width`. */
  #small(v: number, width: number): void {
    let digits = v < 1e4 ? (v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : 4) : v < 1e6 ? (v < 1e5 ? 5 : 6) : v < 1e7 ? 7 : 8;
    if (digits < width) digits = width;
    const buf = this.#buf;
    const start = this.#len;
    let x = v | 0;
    for (let at = start + digits - 1; at >= start; at--) {
      const q = (x / 10) | 0;
      buf[at] = 48 + x - q * 10;
      x = q;
    }
    this.#len = start + digits;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.#room(s.length * 3);
    this.#len += this.#buf.write(s, this.#len, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /**
   * Bytes as a JSON string, quoted, when they are printable ASCII without '"' or '\\' (then
   * JSON.stringify of their text is the same bytes in quotes); false, with nothing written, else.
   */
  plainString(b: Buffer): boolean {
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
    }
    this.#room(b.length + 2);
    const buf = this.#buf;
    buf[this.#len] = 0x22;
    buf.set(b, this.#len + 1);
    buf[this.#len + b.length + 1] = 0x22;
    this.#len += b.length + 2;
    return true;
  }

  /** The text so far (a view of the writer's memory: write no more once it is taken). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

/** A size to start a JsonBytes of these records with: their keys and values and some per record. */
export function renderedSizeHint(records: readonly DecodedRecord[], perRecord = 96): number {
  let n = 128;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    n += perRecord + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  }
  return n;
}

/**
 * renderRecord's text written into `out`: the same JSON, byte for byte. A JSON value (and a text
 * key or value that needs no escaping) is copied in as stored; anything else goes through
 * renderRecord's own rendering.
 */
export function writeRecord(out: JsonBytes, r: DecodedRecord, keyFormat: KeyFormat, valueFormat: ReadValueFormat, prefix?: Uint8Array): void {
  if (prefix === undefined) out.ascii('{"offset":');
  else {
    out.ascii('{');
    out.bytes(prefix);
    out.ascii('"offset":');
  }
  out.int(r.offset);
  out.ascii(',"timestamp":');
  out.int(r.timestamp);
  out.ascii(',"key":');
  let extra = '';
  if (r.key === null) out.ascii('null');
  else if (keyFormat !== 'text' || !out.plainString(r.key)) {
    const [text, b64] = renderBytes(r.key, keyFormat === 'text');
    out.text(text);
    if (b64) extra += ',"keyEncoding":"base64"';
  }
  out.ascii(',"value":');
  const v = r.value;
  if (v === null) out.ascii('null');
  else {
    const tag = (r.attributes ?? 0) & VALUE_FORMAT_MASK;
    if (valueFormat === 'as-produced' && tag === VALUE_FORMAT_JSON) out.bytes(v);
    else if (!(valueFormat === 'as-produced' && tag === VALUE_FORMAT_TEXT && out.plainString(v))) {
      const [text, b64] = renderValue(v, valueFormat, r.attributes ?? 0);
      out.text(text);
      if (b64) extra += ',"valueEncoding":"base64"';
    }
  }
  if (r.headers.length === 0) {
    out.ascii(`,"headers":{}${extra}}`);
    return;
  }
  out.ascii(',"headers":{');
  for (let i = 0; i < r.headers.length; i++) {
    const h = r.headers[i];
    if (i > 0) out.ascii(',');
    out.text(quote(h.key) + ':' + (h.value === null ? 'null' : quote(h.value.toString('utf8'))));
  }
  out.ascii(`}${extra}}`);
}
