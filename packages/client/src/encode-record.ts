/**
 * A record's JSON text in a JSON produce body (the producer's wireFormat json, the transactional
 * producer, and a page's keepalive flush), checked so that a bad record fails alone.
 */
import { WebkaError } from './errors.js';
import type { ProducerRecord, ValueFormat } from './types.js';

/** One record's JSON text in the produce body; validated here so a bad record fails alone. */
export function encodeRecord(r: ProducerRecord, format: ValueFormat): string {
  if (r === null || typeof r !== 'object' || !('value' in r)) throw new WebkaError('INVALID_REQUEST', 'a record needs a "value" (null for a tombstone)');
  let value = r.value;
  if (value === undefined) throw new WebkaError('INVALID_REQUEST', 'record value is undefined; use null for a tombstone');
  if (format === 'text' && value !== null && typeof value !== 'string') throw new WebkaError('INVALID_REQUEST', 'with valueFormat text, values are strings');
  if (format === 'binary' && value !== null) {
    if (!(value instanceof Uint8Array)) throw new WebkaError('INVALID_REQUEST', 'with valueFormat binary, values are Uint8Array');
    value = toBase64(value);
  }
  // Written by hand rather than JSON.stringify of a new object: this runs once per record and
  // is most of the producer's own CPU time. The commonest record, a plain string value and
  // nothing else, is one concatenation.
  if (typeof value === 'string' && r.key === undefined && r.headers === undefined && r.partition === undefined && r.timestamp === undefined && isPlain(value)) {
    return '{"value":"' + value + '"}';
  }
  let out = '{"value":' + (typeof value === 'string' ? quote(value) : JSON.stringify(value));
  if (r.key !== undefined && r.key !== null) {
    if (typeof r.key !== 'string') throw new WebkaError('INVALID_REQUEST', 'a record key is a string (or null)');
    out += ',"key":' + quote(r.key);
  }
  if (r.headers !== undefined) out += ',"headers":' + JSON.stringify(r.headers);
  if (r.partition !== undefined) {
    if (!Number.isInteger(r.partition) || r.partition < 0) throw new WebkaError('INVALID_REQUEST', 'a record partition is a non-negative integer');
    out += ',"partition":' + r.partition;
  }
  if (r.timestamp !== undefined) {
    if (!Number.isInteger(r.timestamp)) throw new WebkaError('INVALID_TIMESTAMP', 'a record timestamp is an integer of milliseconds since the epoch');
    out += ',"timestamp":' + r.timestamp;
  }
  return out + '}';
}

/** Strings without characters that need escaping (the common case) skip JSON.stringify. */
const PLAIN = /^[^"\\\u0000-\u001f\u2028\u2029\ud800-\udfff]*$/;
function isPlain(s: string): boolean {
  return s.length < 256 && PLAIN.test(s);
}
function quote(s: string): string {
  return isPlain(s) ? '"' + s + '"' : JSON.stringify(s);
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
