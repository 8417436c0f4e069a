/**
 * Records between JSON and bytes. On disk a key is its UTF-8 bytes and a JSON value is its JSON
 * text, as any Kafka JSON producer writes them; text and binary values are stored as given.
 *
 * Produce: per request, keyFormat (text | binary) and valueFormat (json | text | binary) say how
 * to read `key` and `value`; binary is base64. Fetch: the same query parameters say how to show
 * them; a value that cannot be shown in the asked format (bytes that are not JSON, say) comes
 * as base64 with "valueEncoding": "base64" beside it, so nothing is ever lost or mangled.
 */
import { isUtf8 } from 'node:buffer';
import type { DecodedRecord, RecordHeader } from '../storage/record-batch.js';
import type { ProduceInput } from '../broker.js';
import { WebkaError } from '../errors.js';

export type KeyFormat = 'text' | 'binary';
export type ValueFormat = 'json' | 'text' | 'binary';

const RECORD_FIELDS = new Set(['key', 'value', 'headers', 'partition', 'timestamp']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(s: string, where: string): Buffer {
  if (s.length % 4 !== 0 || !BASE64.test(s)) throw new WebkaError('INVALID_REQUEST', `${where} is not valid base64`);
  return Buffer.from(s, 'base64');
}

function parseHeaders(h: unknown, where: string): RecordHeader[] {
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
  const where = `records[${i}]`;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new WebkaError('INVALID_REQUEST', `${where} must be an object with at least "value"`);
  const rec = r as Record<string, unknown>;
  for (const k in rec) {
    if (!RECORD_FIELDS.has(k)) throw new WebkaError('INVALID_REQUEST', `${where} has unknown field "${k}"; records take key, value, headers, partition, timestamp`);
  }
  if (!('value' in rec)) throw new WebkaError('INVALID_REQUEST', `${where} has no "value" (use null for a tombstone)`);
  let key: Buffer | null = null;
  if (rec.key !== undefined && rec.key !== null) {
    if (typeof rec.key !== 'string') throw new WebkaError('INVALID_REQUEST', `${where}.key must be a string or null (keys are text, or base64 with keyFormat binary)`);
    key = keyFormat === 'binary' ? decodeBase64(rec.key, `${where}.key`) : Buffer.from(rec.key, 'utf8');
  }
  let value: Buffer | null;
  const v = rec.value;
  if (v === null) value = null;
  else if (valueFormat === 'json') value = Buffer.from(JSON.stringify(v), 'utf8');
  else if (typeof v !== 'string') throw new WebkaError('INVALID_REQUEST', `${where}.value must be a string with valueFormat ${valueFormat}`);
  else value = valueFormat === 'binary' ? decodeBase64(v, `${where}.value`) : Buffer.from(v, 'utf8');
  let partition: number | undefined;
  if (rec.partition !== undefined) {
    if (typeof rec.partition !== 'number' || !Number.isInteger(rec.partition) || rec.partition < 0) {
      throw new WebkaError('INVALID_REQUEST', `${where}.partition must be a non-negative integer`);
    }
    partition = rec.partition;
  }
  let timestamp: number | undefined;
  if (rec.timestamp !== undefined) {
    if (typeof rec.timestamp !== 'number' || !Number.isInteger(rec.timestamp)) throw new WebkaError('INVALID_TIMESTAMP', `${where}.timestamp must be an integer of milliseconds since the epoch`);
    timestamp = rec.timestamp;
  }
  return { key, value, headers: parseHeaders(rec.headers, `${where}.headers`), partition, timestamp };
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/** The JSON text of a key: a string, null, or base64 (with keyEncoding). */
function renderBytes(b: Buffer, asText: boolean): [string, boolean] {
  if (asText && isUtf8(b)) return [quote(b.toString('utf8')), false];
  return [quote(b.toString('base64')), true];
}

function renderValue(v: Buffer, format: ValueFormat): [string, boolean] {
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
export function renderRecord(r: DecodedRecord, keyFormat: KeyFormat, valueFormat: ValueFormat, prefix = ''): string {
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
    const [text, b64] = renderValue(r.value, valueFormat);
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
