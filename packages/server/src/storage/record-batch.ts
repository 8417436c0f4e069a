/**
 * Kafka RecordBatch v2 (magic 2): the unit Webka stores, replicates and serves, byte for byte the
 * format of Kafka's `DefaultRecordBatch` / `DefaultRecord`, so a batch can go to a Kafka client
 * unchanged. All fixed-width integers are big-endian; int64 fields are written as two int32
 * halves and must stay within ±2^53 (offsets, timestamps and producer ids always do).
 *
 * Batch header, 61 bytes (BATCH_HEADER_SIZE):
 *   offset size field
 *        0    8 baseOffset            int64  offset of the first record; assigned by the log at
 *                                            append time (setBaseOffset), outside the CRC
 *        8    4 batchLength           int32  bytes after this field: total size - 12; >= 49
 *       12    4 partitionLeaderEpoch  int32  leader epoch that appended it, -1 if none; outside
 *                                            the CRC, so the leader can stamp it in place
 *       16    1 magic                 int8   always 2
 *       17    4 crc                   uint32 CRC-32C of bytes 21 .. end of batch
 *       21    2 attributes            int16  bits 0-2 compression codec (0 none, 1 gzip,
 *                                            2 snappy, 3 lz4, 4 zstd), bit 3 timestampType
 *                                            (0 CreateTime, 1 LogAppendTime), bit 4
 *                                            isTransactional, bit 5 isControl; others 0
 *       23    4 lastOffsetDelta       int32  offset delta of the last record (count - 1, except in a
 *                                            batch rewritten by the log cleaner, which keeps the original)
 *       27    8 baseTimestamp         int64  timestamp of the first record (ms)
 *       35    8 maxTimestamp          int64  largest record timestamp; with LogAppendTime, the
 *                                            timestamp of every record
 *       43    8 producerId            int64  -1 when not idempotent
 *       51    2 producerEpoch         int16  -1 when not idempotent
 *       53    4 baseSequence          int32  sequence of the first record, -1 when not idempotent
 *       57    4 recordsCount          int32  number of records that follow
 *       61    - records               recordsCount records; when the codec is not 0 this whole
 *                                     region is one compressed stream (e.g. a gzip member) and
 *                                     only the header above stays readable
 *
 * Record (varint/varlong are zigzag, see varint.ts):
 *   length          varint  bytes after this field
 *   attributes      int8    unused by Kafka (its clients write 0 and ignore it). Webka keeps in
 *                           bits 0-1 how the value was produced (VALUE_FORMAT_*: 0 unknown,
 *                           e.g. a Kafka client's record; 1 JSON, 2 text, 3 binary) so that
 *                           readers show it the same way; other bits 0
 *   timestampDelta  varlong timestamp - baseTimestamp
 *   offsetDelta     varint  offset - baseOffset (the record's index, except after
 *                           compaction: survivors keep theirs, leaving gaps)
 *   keyLength       varint  -1 for a null key
 *   key             bytes
 *   valueLength     varint  -1 for a null value
 *   value           bytes
 *   headerCount     varint
 *   headers         headerCount times: keyLength varint, key UTF-8 bytes (never null),
 *                   valueLength varint (-1 for null), value bytes
 *
 * A crash can leave a torn batch at the tail of a segment: batchLength then points past the data
 * (batchSizeAt says so) or the CRC fails (validateBatch says so); the log truncates there.
 */

import { CODEC_NAMES, compress, decompress } from './codecs.js';
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_ID,
  readInt64,
  writeInt64,
} from './batch-fields.js';
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  VALUE_FORMAT_MASK,
  VALUE_FORMAT_TAGS,
  writeVarint,
  writeVarlong,
} from '@webka/protocol';

export interface RecordHeader { key: string; value: Buffer | null }
export interface RecordInput {
  key: Buffer | null; value: Buffer | null; headers?: RecordHeader[]; timestamp: number;
  /** The record's attributes byte: a VALUE_FORMAT_* (default 0). */
  attributes?: number;
  /** offset - baseOffset; defaults to the record's index. The log cleaner keeps survivors' original deltas, so they can have gaps. */
  offsetDelta?: number;
}
export interface BatchMeta {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional?: boolean;
  isControl?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: 0 | 1;
  /** Defaults to the last record's offsetDelta; a cleaned batch keeps its original one, so its last offset never moves. */
  lastOffsetDelta?: number;
}
export interface BatchHeader {
  baseOffset: number; batchLength: number; partitionLeaderEpoch: number; magic: number; crc: number;
  attributes: number; lastOffsetDelta: number; baseTimestamp: number; maxTimestamp: number;
  producerId: number; producerEpoch: number; baseSequence: number; recordCount: number;
  compression: number; isTransactional: boolean; isControl: boolean; timestampType: number;
}
export interface DecodedRecord {
  offset: number; timestamp: number; key: Buffer | null; value: Buffer | null; headers: RecordHeader[];
  /** The record's attributes byte (decodeRecords always sets it); `& VALUE_FORMAT_MASK` is how the value was produced. */
  attributes?: number;
}

/** How a value was produced, kept in bits 0-1 of its record's attributes byte (the tags are the contract's, @webka/protocol). */
export { VALUE_FORMAT_MASK };
export const VALUE_FORMAT_UNKNOWN = 0;
export const VALUE_FORMAT_JSON = VALUE_FORMAT_TAGS.json;
export const VALUE_FORMAT_TEXT = VALUE_FORMAT_TAGS.text;
export const VALUE_FORMAT_BINARY = VALUE_FORMAT_TAGS.binary;
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4';

export { BATCH_HEADER_SIZE, LOG_OVERHEAD };

const MAGIC_V2 = 2;
const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;
const BATCH_LENGTH_OFFSET = BATCH_LENGTH;
const PARTITION_LEADER_EPOCH_OFFSET = PARTITION_LEADER_EPOCH;
const MAGIC_OFFSET = MAGIC;
const CRC_OFFSET = CRC;
const ATTRIBUTES_OFFSET = ATTRIBUTES;
const CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

// Body size (after the length varint) of each record, computed in the sizing pass and reused by
// the writing pass. Grows to the largest batch seen; encodeBatch is synchronous, so one suffices.
let bodySizes = new Int32Array(1024);
// Decoding is synchronous too, so one cursor serves every call without allocating.
const cursor: Cursor = { pos: 0 };
// encodeTransientBatch's buffer, reused by every call: a fresh multi-megabyte buffer per batch
// costs page faults on its first touch. Grows to the largest batch up to TRANSIENT_MAX_BYTES;
// larger batches get a buffer of their own, so that no more than that stays allocated.
const TRANSIENT_MAX_BYTES = 2 << 20;
let transient = Buffer.alloc(0);

/**
 * Encode `records` into one batch. Pass baseOffset 0 when the log assigns it at append time.
 * Timestamps are integer milliseconds. Throws RangeError for an empty list.
 */
export function encodeBatch(
  records: RecordInput[],
  baseOffset: number,
  meta: Partial<BatchMeta> = {},
  compression: Compression = 'none',
): Buffer {
  return encode(records, baseOffset, meta, compression, false);
}

/**
 * encodeBatch into a buffer that the next call overwrites: the result is valid only until then.
 * For a caller that writes the batch out and keeps no reference before it returns
 * (Partition.append); anything that holds a batch past that uses encodeBatch.
 */
export function encodeTransientBatch(
  records: RecordInput[],
  baseOffset: number,
  meta: Partial<BatchMeta> = {},
  compression: Compression = 'none',
): Buffer {
  return encode(records, baseOffset, meta, compression, true);
}

function encode(records: RecordInput[], baseOffset: number, meta: Partial<BatchMeta>, compression: Compression, reuse: boolean): Buffer {
  const n = records.length;
  if (n === 0) throw new RangeError('a RecordBatch holds at least one record');
  if (bodySizes.length < n) bodySizes = new Int32Array(Math.max(n, bodySizes.length * 2));
  const sizes = bodySizes;

  const baseTimestamp = records[0].timestamp;
  let maxTimestamp = baseTimestamp;
  let recordsBytes = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i];
    const { key, value, headers } = r;
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    let body = 1 + sizeOfVarlong(r.timestamp - baseTimestamp) + sizeOfVarint(r.offsetDelta ?? i);
    body += key === null ? 1 : sizeOfVarint(key.length) + key.length;
    body += value === null ? 1 : sizeOfVarint(value.length) + value.length;
    body += headers === undefined ? 1 : sizeOfHeaders(headers);
    sizes[i] = body;
    recordsBytes += sizeOfVarint(body) + body;
  }

  const size = BATCH_HEADER_SIZE + recordsBytes;
  let buf: Buffer;
  if (reuse && size <= TRANSIENT_MAX_BYTES) {
    if (transient.length < size) transient = Buffer.allocUnsafeSlow(Math.min(TRANSIENT_MAX_BYTES, Math.max(size, transient.length * 2, 64 * 1024)));
    buf = transient.subarray(0, size);
  } else {
    buf = Buffer.allocUnsafe(size);
  }
  let pos = BATCH_HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const r = records[i];
    const { key, value, headers } = r;
    pos = writeVarint(buf, sizes[i], pos);
    buf[pos++] = r.attributes ?? 0;
    pos = writeVarlong(buf, r.timestamp - baseTimestamp, pos);
    pos = writeVarint(buf, r.offsetDelta ?? i, pos);
    if (key === null) {
      buf[pos++] = 1; // zigzag(-1)
    } else {
      pos = writeVarint(buf, key.length, pos);
      buf.set(key, pos); // TypedArray#set: cheaper per call than Buffer#copy
      pos += key.length;
    }
    if (value === null) {
      buf[pos++] = 1;
    } else {
      pos = writeVarint(buf, value.length, pos);
      buf.set(value, pos);
      pos += value.length;
    }
    if (headers === undefined) buf[pos++] = 0;
    else pos = writeHeaders(buf, headers, pos);
  }

  let codec = 0;
  if (compression !== 'none') {
    codec = CODEC_NAMES.indexOf(compression);
    if (codec < 1 || codec > 3) throw new RangeError(`unsupported compression '${String(compression)}'; use 'none', 'gzip', 'snappy' or 'lz4'`);
    const compressed = compress(codec, buf.subarray(BATCH_HEADER_SIZE));
    const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
    compressed.copy(out, BATCH_HEADER_SIZE);
    buf = out;
  }

  let attributes = codec;
  if (meta.timestampType === 1) attributes |= TIMESTAMP_TYPE_BIT;
  if (meta.isTransactional) attributes |= TRANSACTIONAL_BIT;
  if (meta.isControl) attributes |= CONTROL_BIT;

  writeInt64(buf, BASE_OFFSET, baseOffset);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(meta.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  buf[MAGIC_OFFSET] = MAGIC_V2;
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(meta.lastOffsetDelta ?? records[n - 1].offsetDelta ?? n - 1, 23);
  writeInt64(buf, BASE_TIMESTAMP, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP, maxTimestamp);
  writeInt64(buf, PRODUCER_ID, meta.producerId ?? -1);
  buf.writeInt16BE(meta.producerEpoch ?? -1, 51);
  buf.writeInt32BE(meta.baseSequence ?? -1, 53);
  buf.writeInt32BE(n, 57);
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET, buf.length), CRC_OFFSET);
  return buf;
}

/** Rewrite baseOffset of the batch at the start of `batch`; the CRC does not cover it. */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  writeInt64(batch, BASE_OFFSET, baseOffset);
}

/** Rewrite partitionLeaderEpoch of the batch at the start of `batch`; the CRC does not cover it. */
export function setPartitionLeaderEpoch(batch: Buffer, partitionLeaderEpoch: number): void {
  batch.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Marks the batch at the start of `batch` as LogAppendTime with `now` as its maxTimestamp (the
 * timestamp of every record under LogAppendTime) and recomputes its CRC, which covers both
 * fields; the records themselves stay as they are.
 */
export function stampLogAppendTime(batch: Buffer, now: number): void {
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_BIT, ATTRIBUTES_OFFSET);
  writeInt64(batch, MAX_TIMESTAMP, now);
  const end = LOG_OVERHEAD + batch.readInt32BE(BATCH_LENGTH_OFFSET);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, end), CRC_OFFSET);
}

/** Read the 61-byte header at `pos`, without validating it. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  return {
    baseOffset: readInt64(buf, pos),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes,
    lastOffsetDelta: buf.readInt32BE(pos + 23),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP),
    producerId: readInt64(buf, pos + PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + 51),
    baseSequence: buf.readInt32BE(pos + 53),
    recordCount: buf.readInt32BE(pos + 57),
    compression: attributes & CODEC_MASK,
    isTransactional: (attributes & TRANSACTIONAL_BIT) !== 0,
    isControl: (attributes & CONTROL_BIT) !== 0,
    timestampType: (attributes & TIMESTAMP_TYPE_BIT) >> 3,
  };
}

/** Total size of the batch at `pos` (12 + batchLength), or -1 when fewer than 12 bytes remain. */
export function batchSizeAt(buf: Buffer, pos: number): number {
  if (buf.length - pos < LOG_OVERHEAD) return -1;
  return LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
}

/**
 * Check the batch at `pos`, which must fit in the `size` bytes from there (pass batchSizeAt's
 * result, or the bytes left in a request). Returns null when sound, else a short reason.
 */
export function validateBatch(buf: Buffer, pos: number, size: number): string | null {
  const available = Math.min(size, buf.length - pos);
  if (available < BATCH_HEADER_SIZE) return `truncated: ${available} bytes, a batch header needs ${BATCH_HEADER_SIZE}`;
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) return `unsupported magic ${magic}, expected ${MAGIC_V2}`;
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) return `batchLength ${batchLength} is below the minimum ${MIN_BATCH_LENGTH}`;
  if (LOG_OVERHEAD + batchLength > available) {
    return `batchLength ${batchLength} runs past the ${available} bytes available`;
  }
  if (buf.readInt32BE(pos + 57) < 0) return 'negative recordsCount';
  const end = pos + LOG_OVERHEAD + batchLength;
  const stored = buf.readUInt32BE(pos + CRC_OFFSET);
  const computed = crc32c(buf, pos + ATTRIBUTES_OFFSET, end);
  if (stored !== computed) return `CRC mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`;
  return null;
}

/**
 * Append the records of the batch at `pos` to `out`, skipping those with offset < fromOffset.
 * Keys and values are views into `batch` (or into the decompressed copy), not copies. Throws on
 * unknown codecs (5-7), data its codec cannot decompress (codecs.ts), and records whose lengths
 * disagree with their fields.
 */
export function decodeRecords(batch: Buffer, pos: number, out: DecodedRecord[], fromOffset = -Infinity): void {
  const batchEnd = pos + LOG_OVERHEAD + batch.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchEnd > batch.length) throw new RangeError(`batch at ${pos} runs past the end of the buffer`);
  const baseOffset = readInt64(batch, pos);
  // Whole batch before fromOffset: skip without decompressing. lastOffsetDelta, not the count,
  // because compaction leaves gaps in the offsets.
  if (baseOffset + batch.readInt32BE(pos + 23) < fromOffset) return;
  const count = batch.readInt32BE(pos + 57);
  const attributes = batch.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const baseTimestamp = readInt64(batch, pos + BASE_TIMESTAMP);
  const logAppendTime = (attributes & TIMESTAMP_TYPE_BIT) !== 0;
  const maxTimestamp = readInt64(batch, pos + MAX_TIMESTAMP);

  let data = batch;
  let p = pos + BATCH_HEADER_SIZE;
  let end = batchEnd;
  const codec = attributes & CODEC_MASK;
  if (codec !== 0) {
    data = decompress(codec, batch.subarray(p, end));
    p = 0;
    end = data.length;
  }

  const c = cursor;
  for (let i = 0; i < count; i++) {
    c.pos = p;
    const length = readVarint(data, c);
    const recordEnd = c.pos + length;
    if (length < 0 || recordEnd > end) throw corrupt(baseOffset, i, `length ${length} runs past the batch`);
    const recordAttributes = data[c.pos++];
    const timestampDelta = readVarlong(data, c);
    const offset = baseOffset + readVarint(data, c);
    p = recordEnd;
    if (offset < fromOffset) continue;

    let key: Buffer | null = null;
    const keyLength = readVarint(data, c);
    if (keyLength >= 0) key = data.subarray(c.pos, (c.pos += keyLength));
    let value: Buffer | null = null;
    const valueLength = readVarint(data, c);
    if (valueLength >= 0) value = data.subarray(c.pos, (c.pos += valueLength));
    const headerCount = readVarint(data, c);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hkLength = readVarint(data, c);
      if (hkLength < 0) throw corrupt(baseOffset, i, 'null header key');
      const hkey = data.toString('utf8', c.pos, (c.pos += hkLength));
      const hvLength = readVarint(data, c);
      headers.push({ key: hkey, value: hvLength < 0 ? null : data.subarray(c.pos, (c.pos += hvLength)) });
    }
    if (c.pos !== recordEnd) throw corrupt(baseOffset, i, `length ${length} disagrees with its fields`);
    out.push({ offset, timestamp: logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta, key, value, headers, attributes: recordAttributes });
  }
  if (p !== end) throw corrupt(baseOffset, count, `${end - p} bytes left after recordsCount records`);
}

function sizeOfHeaders(headers: RecordHeader[]): number {
  let size = sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const { key, value } = headers[i];
    const keyBytes = Buffer.byteLength(key, 'utf8');
    size += sizeOfVarint(keyBytes) + keyBytes;
    size += value === null ? 1 : sizeOfVarint(value.length) + value.length;
  }
  return size;
}

function writeHeaders(buf: Buffer, headers: RecordHeader[], pos: number): number {
  pos = writeVarint(buf, headers.length, pos);
  for (let i = 0; i < headers.length; i++) {
    const { key, value } = headers[i];
    pos = writeVarint(buf, Buffer.byteLength(key, 'utf8'), pos);
    pos += buf.write(key, pos, 'utf8');
    if (value === null) {
      buf[pos++] = 1;
    } else {
      pos = writeVarint(buf, value.length, pos);
      pos += value.copy(buf, pos);
    }
  }
  return pos;
}

function corrupt(baseOffset: number, index: number, why: string): Error {
  return new Error(`corrupt record ${index} in batch at offset ${baseOffset}: ${why}`);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
