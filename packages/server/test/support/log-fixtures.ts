/**
 * Small helpers shared by the storage tests: a LogConfig with overrides, batches whose values say
 * what they are, a FileSystem wrapper that counts calls, and a validating reader that decodes what
 * Log.read returns the way the partition does (CRC checked on every batch).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileSystem } from '../../src/storage/file-system.js';
import type { Log, LogConfig } from '../../src/storage/log.js';
import { encodeBatch, decodeRecords, validateBatch, type DecodedRecord } from '../../src/storage/record-batch.js';
import { LOG_OVERHEAD, BATCH_LENGTH, lastOffsetAt } from '../../src/storage/batch-fields.js';

export const T0 = 1_700_000_000_000;

export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    segmentBytes: 1 << 20,
    segmentMs: 7 * 24 * 3600_000,
    indexIntervalBytes: 4096,
    retentionMs: -1,
    retentionBytes: -1,
    maxBatchBytes: 1 << 20,
    ...overrides,
  };
}

export interface BatchSpec {
  values: string[];
  timestamp: number;
}

export function batchOf(spec: BatchSpec): Buffer {
  return encodeBatch(
    spec.values.map((v, i) => ({ key: null, value: Buffer.from(v), timestamp: spec.timestamp + i })),
    0,
  );
}

/** Appends spec as one batch; returns its base offset. */
export function appendSpec(log: Log, spec: BatchSpec): number {
  return log.append(batchOf(spec), spec.values.length, spec.timestamp + spec.values.length - 1);
}

/** Every batch of a whole segment file, as [position, size] (stops at the first incomplete one). */
export function batchBounds(bytes: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let pos = 0;
  while (pos + LOG_OVERHEAD <= bytes.length) {
    const size = LOG_OVERHEAD + bytes.readInt32BE(pos + BATCH_LENGTH);
    if (size < 61 || pos + size > bytes.length) break;
    out.push([pos, size]);
    pos += size;
  }
  return out;
}

/** Decodes every batch in data after checking its CRC; throws when one fails. */
export function decodeChecked(data: Buffer, fromOffset = -Infinity): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let pos = 0;
  while (pos + LOG_OVERHEAD <= data.length) {
    const size = LOG_OVERHEAD + data.readInt32BE(pos + BATCH_LENGTH);
    const problem = validateBatch(data, pos, size);
    if (problem !== null) throw new Error(`batch at ${pos} is corrupt: ${problem}`);
    decodeRecords(data, pos, out, fromOffset);
    pos += size;
  }
  return out;
}

/** Reads every record from logStartOffset to nextOffset, one Log.read at a time. */
export function readAll(log: Log, maxBytes = 1 << 16): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.nextOffset) {
    const data = log.read(offset, maxBytes);
    if (data.length === 0) throw new Error(`read at ${offset} returned nothing below nextOffset ${log.nextOffset}`);
    const records = decodeChecked(data, offset);
    out.push(...records);
    let end = 0;
    let last = offset - 1;
    while (end + LOG_OVERHEAD <= data.length) {
      last = lastOffsetAt(data, end);
      end += LOG_OVERHEAD + data.readInt32BE(end + BATCH_LENGTH);
    }
    offset = last + 1;
  }
  return out;
}

export function values(records: DecodedRecord[]): string[] {
  return records.map((r) => (r.value === null ? '<null>' : r.value.toString()));
}

export type Counts = Record<keyof FileSystem, number>;

/** Wraps a FileSystem, counting every call by method name. */
export function countingFs(inner: FileSystem): { fs: FileSystem; counts: Partial<Counts> } {
  const counts: Partial<Counts> = {};
  const fs = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const key = prop as keyof FileSystem;
        counts[key] = (counts[key] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { fs, counts };
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-log-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
