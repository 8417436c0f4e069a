/**
 * Fixed positions of the RecordBatch v2 header fields (see record-batch.ts for the full layout),
 * and the int64 helpers every reader and writer of batch headers uses: the one place these
 * numbers live, so the codec, the log, recovery and the cleaner cannot disagree.
 */
export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORDS_COUNT = 57;
/** baseOffset + batchLength: the bytes that precede what batchLength counts. */
export const LOG_OVERHEAD = 12;
/** baseOffset .. recordsCount: every batch starts with this many bytes. */
export const BATCH_HEADER_SIZE = 61;

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 4294967296 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  buf.writeInt32BE(Math.floor(value / 4294967296), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

export function baseOffsetAt(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + BASE_OFFSET);
}

export function lastOffsetAt(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + BASE_OFFSET) + buf.readInt32BE(pos + LAST_OFFSET_DELTA);
}

export function maxTimestampAt(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + MAX_TIMESTAMP);
}
