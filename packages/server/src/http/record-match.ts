/**
 * A fetch's search (`?match=&matchIn=&maxScan=`): the broker looks through at most maxScan
 * records from the fetch's start and answers only those whose key, value or headers contain the
 * text, ignoring case, so a reader (the console, curl) can find a record in a partition without
 * downloading the partition. Keys, values and header values are matched as UTF-8 text, as stored
 * (a JSON value as its compact JSON text); a header as `name=value`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DecodedRecord } from '../storage/record-batch.js';

/** Where a search looks (the fetch's matchIn; its schema admits these and no other). */
export type MatchIn = 'any' | 'key' | 'value' | 'headers';

/** Records looked through when a search names no maxScan. */
export const DEFAULT_SCAN_RECORDS = 10_000;
/** Records read per step of a search: the event loop is given back between steps. */
export const SCAN_STEP_RECORDS = 1_000;

const utf8 = new TextDecoder();

const contains = (bytes: Uint8Array | null, needle: string): boolean => bytes !== null && utf8.decode(bytes).toLowerCase().includes(needle);

/** Whether a record holds `text` (ignoring case) where `where` says. */
export function recordMatcher(text: string, where: MatchIn): (r: DecodedRecord) => boolean {
  const needle = text.toLowerCase();
  const inKey = (r: DecodedRecord): boolean => contains(r.key, needle);
  const inValue = (r: DecodedRecord): boolean => contains(r.value, needle);
  const inHeaders = (r: DecodedRecord): boolean => r.headers.some((h) => `${h.key}=${h.value === null ? '' : utf8.decode(h.value)}`.toLowerCase().includes(needle));
  switch (where) {
    case 'key':
      return inKey;
    case 'value':
      return inValue;
    case 'headers':
      return inHeaders;
    case 'any':
      return (r) => inKey(r) || inValue(r) || inHeaders(r);
  }
}

export interface SearchStep {
  records: DecodedRecord[];
  nextOffset: number;
}

export interface SearchResult<S extends SearchStep> {
  /** The matching records, at most maxRecords, in offset order. */
  records: DecodedRecord[];
  /** Where a search on resumes: past the last record looked through. */
  nextOffset: number;
  /** Records looked through. */
  scanned: number;
  /** The last step's answer (its offsets: high watermark, log start). */
  last: S;
}

/**
 * Runs a search: `read(offset, maxRecords)` gives the records from an offset (the first call
 * with offset undefined: the fetch's own start, and its wait); steps go on until maxRecords
 * match, maxBytes of matches are held, maxScan records were looked through, a step finds
 * nothing (the end), or `stop()` says the caller has gone.
 */
export async function search<S extends SearchStep>(
  read: (offset: number | undefined, maxRecords: number) => Promise<S>,
  matches: (r: DecodedRecord) => boolean,
  limits: { maxRecords: number; maxBytes: number; maxScan: number },
  stop: () => boolean,
): Promise<SearchResult<S>> {
  const found: DecodedRecord[] = [];
  let scanned = 0;
  let bytes = 0;
  let step = await read(undefined, Math.min(SCAN_STEP_RECORDS, limits.maxScan));
  let nextOffset = step.nextOffset;
  for (;;) {
    for (const r of step.records) {
      scanned++;
      nextOffset = r.offset + 1;
      if (matches(r)) {
        found.push(r);
        bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
        if (found.length >= limits.maxRecords || bytes >= limits.maxBytes) return { records: found, nextOffset, scanned, last: step };
      }
      if (scanned >= limits.maxScan) return { records: found, nextOffset, scanned, last: step };
    }
    // past markers and aborted records too
    nextOffset = Math.max(nextOffset, step.nextOffset);
    if (step.records.length === 0 || stop()) return { records: found, nextOffset, scanned, last: step };
    // a read is synchronous under its promise: other requests get their turn between steps
    await nextTurn();
    if (stop()) return { records: found, nextOffset, scanned, last: step };
    step = await read(nextOffset, Math.min(SCAN_STEP_RECORDS, limits.maxScan - scanned));
  }
}
