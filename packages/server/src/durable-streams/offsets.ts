/**
 * Durable Streams offsets and cursors.
 *
 * An offset names a position in a stream: the Webka offset of the next record to read. It is
 * written as two fixed-width decimal fields, `HHHHHHHHHHHHHHHH_LLLLLLLLLLLLLLLL` (16 + "_" + 16
 * digits), so that comparing two offsets as strings (as the protocol lets clients do) is
 * comparing them as numbers:
 *
 *   H  always 0 today; reserved so that a later layout (say, a leader epoch) still sorts above
 *   L  the record offset, zero-padded. A stream's offsets are its records' offsets: one record per
 *      binary/text append, one per JSON value (a JSON array append is flattened into records).
 *
 * `0000000000000000_0000000000000000` is the start of every stream. The protocol's sentinels
 * `-1` (start) and `now` (tail) are accepted but never handed out.
 */

export const ZERO_OFFSET = '0000000000000000_0000000000000000';
const OFFSET = /^(\d{16})_(\d{16})$/;

export type OffsetParam = { kind: 'start' } | { kind: 'now' } | { kind: 'at'; offset: number };

export function encodeOffset(offset: number): string {
  return '0000000000000000_' + String(offset).padStart(16, '0');
}

/**
 * Parses an offset the server handed out (or a sentinel). Returns null for anything else.
 * Offsets beyond what a number can hold (or with a non-zero high field) parse as Infinity:
 * "after everything", which callers treat as past the tail.
 */
export function parseOffset(raw: string): OffsetParam | null {
  if (raw === '-1') return { kind: 'start' };
  if (raw === 'now') return { kind: 'now' };
  const m = OFFSET.exec(raw);
  if (m === null) return null;
  const low = Number(m[2]);
  if (Number(m[1]) !== 0 || !Number.isSafeInteger(low)) return { kind: 'at', offset: Number.POSITIVE_INFINITY };
  return { kind: 'at', offset: low };
}

/**
 * The fork point of Stream-Fork-Offset: the protocol allows any `digits_digits`, so only the
 * shape is checked here; a value past the source's tail is refused by the caller.
 */
export function parseForkOffset(raw: string): number | null {
  const m = /^(\d+)_(\d+)$/.exec(raw);
  if (m === null) return null;
  const high = BigInt(m[1]);
  const low = BigInt(m[2]);
  if (high !== 0n || low > BigInt(Number.MAX_SAFE_INTEGER)) return Number.POSITIVE_INFINITY;
  return Number(low);
}

// Cursors (protocol section 8.1): the number of 20-second intervals since 2024-10-09T00:00Z. When
// a client echoes a cursor at or beyond the current interval, answer a strictly greater one (with
// jitter) so that a CDN never serves the same cached live response in a loop.
const CURSOR_EPOCH = Date.UTC(2024, 9, 9);
const CURSOR_INTERVAL_MS = 20_000;

export function nextCursor(clientCursor: unknown, now = Date.now()): string {
  const current = Math.floor((now - CURSOR_EPOCH) / CURSOR_INTERVAL_MS);
  if (typeof clientCursor !== 'string' || !/^\d{1,15}$/.test(clientCursor)) return String(current);
  const given = Number(clientCursor);
  if (given < current) return String(current);
  const jitter = 1 + Math.floor(Math.random() * (3600_000 / CURSOR_INTERVAL_MS));
  return String(given + jitter);
}
