/**
 * Reading a stream: records from an offset, across the partitions a fork reads through, and
 * the body they make (bytes concatenated, or a JSON array of the stored JSON values).
 */
import type { StreamState, StreamStore } from './stream-store.js';
import { isJson } from './stream-meta.js';
import { StreamError } from './stream-error.js';
import { jsonDeeperThan, tooDeep } from '../limits/json-depth.js';

const EMPTY = Buffer.alloc(0);

export interface Slice {
  values: Buffer[];
  bytes: number;
  /** The offset after the last value returned (where the next read starts). */
  next: number;
}

/**
 * Reads values from stream offset `from`, about maxBytes of them (at least one when there is
 * one). Offsets held by no record (compaction gaps) are skipped.
 */
export function readSlice(store: StreamStore, s: StreamState, from: number, maxBytes: number): Slice {
  const values: Buffer[] = [];
  let bytes = 0;
  let pos = from;
  for (const seg of store.segments(s)) {
    if (pos >= seg.end) continue;
    if (pos < seg.base) pos = seg.base;
    const log = seg.partition.log;
    const stop = Math.min(seg.end - seg.base, log.highWatermark);
    let t = Math.max(pos - seg.base, log.logStartOffset);
    while (t < stop && bytes < maxBytes) {
      const r = seg.partition.read(t, { maxRecords: 10_000, maxBytes: maxBytes - bytes });
      let moved = false;
      for (const rec of r.records) {
        if (rec.offset >= stop) break;
        const v = rec.value ?? EMPTY;
        values.push(v);
        bytes += v.length;
        t = rec.offset + 1;
        moved = true;
      }
      const after = Math.min(r.nextOffset, stop);
      if (after > t) {
        t = after;
        moved = true;
      }
      if (!moved) break;
    }
    pos = seg.base + Math.min(t, stop);
    if (pos < seg.end && pos < seg.base + log.highWatermark) break; // stopped early: maxBytes reached
    if (seg.end === Number.POSITIVE_INFINITY) break;
    if (pos < seg.end) pos = seg.end; // the source holds nothing more below the fork point
  }
  return { values, bytes, next: pos };
}

/** The response body for values: bytes as stored, or `[v1,v2,...]` for a JSON stream. */
export function renderBody(contentType: string, values: Buffer[]): Buffer {
  if (!isJson(contentType)) return values.length === 1 ? values[0] : Buffer.concat(values);
  const parts: Buffer[] = [Buffer.from('[')];
  for (let i = 0; i < values.length; i++) {
    if (i > 0) parts.push(Buffer.from(','));
    parts.push(values[i]);
  }
  parts.push(Buffer.from(']'));
  return Buffer.concat(parts);
}

/**
 * Splits an append body into the records to store: one record for bytes; for JSON, one per
 * element of a top-level array (flattened one level) or one for any other value, each stored as
 * compact JSON text. `allowEmpty` admits `[]` (a PUT's empty initial content).
 */
export function splitBody(contentType: string, body: Buffer, allowEmpty: boolean): Buffer[] {
  if (!isJson(contentType)) return body.length === 0 ? [] : [body];
  if (body.length === 0) {
    if (allowEmpty) return [];
    throw new StreamError(400, 'the body is empty; a JSON stream takes a JSON value or array');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new StreamError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (jsonDeeperThan(parsed)) throw new StreamError(400, tooDeep('the body').message);
  if (!Array.isArray(parsed)) return [Buffer.from(JSON.stringify(parsed))];
  if (parsed.length === 0 && !allowEmpty) throw new StreamError(400, 'an empty JSON array appends nothing; send at least one value');
  return parsed.map((v) => Buffer.from(JSON.stringify(v === undefined ? null : v)));
}
