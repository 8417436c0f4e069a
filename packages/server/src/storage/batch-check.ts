/**
 * The check a client's RecordBatch v2 passes before the broker appends its bytes as they are:
 * the HTTP binary produce body (http/record-batch-body.ts) and the Kafka listener's Produce
 * (kafka/apis/produce.ts) both call checkProducedBatch, so the two doors take the same batches.
 *
 * Nothing is decoded into objects: the records are walked once over their varints, checking
 * each length against the batch's end. What a batch must be (see record-batch.ts for the bytes):
 *   - whole (12 + batchLength bytes present, batchLength >= 49), magic 2, CRC-32C matching;
 *   - attributes: a codec this broker reads (codecs.ts: none, gzip, snappy, lz4, zstd), CreateTime, not a control batch, no unknown bits;
 *   - compressed records that decompress within codecs.ts's MAX_DECOMPRESSED_BYTES ('too-large');
 *   - recordsCount >= 1, lastOffsetDelta = recordsCount - 1, and exactly recordsCount records
 *     whose offsetDelta is their index, whose key, value and header lengths stay inside their
 *     record, whose header keys are non-null UTF-8, and nothing after the last record;
 *   - every record's timestamp (baseTimestamp + timestampDelta) within 0 .. 8.64e15 ms;
 *   - producer fields: producerId -1 (then epoch and baseSequence are -1 too) or an id with a
 *     non-negative epoch and baseSequence; a transactional batch has a producer id.
 * maxTimestamp is what the broker's time index trusts: when it is not the largest record
 * timestamp, it is set to that and the CRC recomputed, as Kafka's LogValidator does; nothing
 * else of the batch is changed here (the log assigns baseOffset, which the CRC does not cover).
 */
import { isUtf8 } from 'node:buffer';
import { readVarint, readVarlong, type Cursor } from '@webka/protocol';
import { crc32c } from './crc32c.js';
import { DecompressedTooLarge, decompress, unsupportedCodec } from './codecs.js';
import { ATTRIBUTES, BASE_TIMESTAMP, BATCH_HEADER_SIZE, BATCH_LENGTH, CRC, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PRODUCER_ID, readInt64, writeInt64 } from './batch-fields.js';

/** Why a batch was refused: each adapter maps the kind to its own stable error code. */
export type BatchProblem = 'corrupt' | 'magic' | 'invalid' | 'compression' | 'timestamp' | 'too-large';

export class BatchCheckError extends Error {
  readonly problem: BatchProblem;
  constructor(problem: BatchProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

export interface CheckedBatch {
  /** The batch's bytes: a view into the buffer checked. */
  batch: Buffer;
  count: number;
  /** The first record's timestamp and the largest one. */
  firstTimestamp: number;
  maxTimestamp: number;
  /** Bytes of the largest record as stored (its length varint included). */
  largestRecord: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
}

const MAX_TIMESTAMP_MS = 8_640_000_000_000_000;
const KNOWN_ATTRIBUTES = 0x3f;
const CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;
const cursor: Cursor = { pos: 0 };

/**
 * Checks the batch that starts at `pos` and must end by `end`; throws BatchCheckError naming
 * the first problem. `what` names the batch in messages ("batch 0", "partition 3's batch").
 */
export function checkProducedBatch(buf: Buffer, pos: number, end: number, what: string): CheckedBatch {
  const available = end - pos;
  if (available < BATCH_HEADER_SIZE) throw new BatchCheckError('corrupt', `${what} is truncated: ${available} bytes, a RecordBatch header needs ${BATCH_HEADER_SIZE}`);
  const magic = buf.readInt8(pos + MAGIC);
  if (magic !== 2) throw new BatchCheckError('magic', `${what} has magic ${magic}; Webka takes RecordBatch v2 (magic 2)`);
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) throw new BatchCheckError('corrupt', `${what} has batchLength ${batchLength}, below the minimum ${BATCH_HEADER_SIZE - LOG_OVERHEAD}`);
  const size = LOG_OVERHEAD + batchLength;
  if (size > available) throw new BatchCheckError('corrupt', `${what} is truncated: its batchLength ${batchLength} needs ${size} bytes, ${available} remain`);
  const batchEnd = pos + size;
  const stored = buf.readUInt32BE(pos + CRC);
  const computed = crc32c(buf, pos + ATTRIBUTES, batchEnd);
  if (stored !== computed) throw new BatchCheckError('corrupt', `${what} fails its CRC-32C check: stored ${hex32(stored)}, computed ${hex32(computed)} over bytes 21 to ${size}`);

  const attributes = buf.readInt16BE(pos + ATTRIBUTES);
  if ((attributes & ~KNOWN_ATTRIBUTES) !== 0) throw new BatchCheckError('invalid', `${what} has attributes ${attributes} with unknown bits set`);
  if ((attributes & CONTROL_BIT) !== 0) throw new BatchCheckError('invalid', `${what} is a control batch; clients may not write control batches`);
  if ((attributes & TIMESTAMP_TYPE_BIT) !== 0) throw new BatchCheckError('invalid', `${what} says LogAppendTime; producers send CreateTime (the topic's message.timestamp.type decides)`);
  const codec = attributes & CODEC_MASK;
  const unsupported = unsupportedCodec(codec);
  if (unsupported !== null) throw new BatchCheckError('compression', `${what}: ${unsupported}`);
  const isTransactional = (attributes & TRANSACTIONAL_BIT) !== 0;

  const count = buf.readInt32BE(pos + 57);
  const lastOffsetDelta = buf.readInt32BE(pos + 23);
  if (count <= 0) throw new BatchCheckError('invalid', `${what} has recordsCount ${count}; a batch holds at least one record`);
  if (lastOffsetDelta !== count - 1) throw new BatchCheckError('invalid', `${what} holds ${count} records but its lastOffsetDelta is ${lastOffsetDelta} (must be ${count - 1})`);

  const producerId = readInt64(buf, pos + PRODUCER_ID);
  const producerEpoch = buf.readInt16BE(pos + 51);
  const baseSequence = buf.readInt32BE(pos + 53);
  if (producerId === -1) {
    if (isTransactional) throw new BatchCheckError('invalid', `${what} is transactional without a producer id`);
  } else if (producerId < 0 || producerEpoch < 0 || baseSequence < 0) {
    throw new BatchCheckError('invalid', `${what} has producerId ${producerId}, producerEpoch ${producerEpoch}, baseSequence ${baseSequence}: an idempotent batch has all three non-negative, a plain one producerId -1`);
  }

  const baseTimestamp = readInt64(buf, pos + BASE_TIMESTAMP);
  let data = buf;
  let p = pos + BATCH_HEADER_SIZE;
  let dataEnd = batchEnd;
  if (codec !== 0) {
    try {
      data = decompress(codec, buf.subarray(p, batchEnd));
    } catch (err) {
      throw new BatchCheckError(err instanceof DecompressedTooLarge ? 'too-large' : 'corrupt', `${what}: ${(err as Error).message}`);
    }
    p = 0;
    dataEnd = data.length;
  }

  let firstTimestamp = 0;
  let maxTimestamp = -1;
  let largestRecord = 0;
  try {
    const c = cursor;
    for (let i = 0; i < count; i++) {
      if (p >= dataEnd) throw new BatchCheckError('corrupt', `${what} claims ${count} records and holds ${i}`);
      c.pos = p;
      const length = readVarint(data, c);
      const recordEnd = c.pos + length;
      if (length < 1 || recordEnd > dataEnd) throw new BatchCheckError('corrupt', `${what}, record ${i}: length ${length} runs past the batch`);
      c.pos++; // attributes: unused in v2
      const timestampDelta = readVarlong(data, c);
      const offsetDelta = readVarint(data, c);
      if (c.pos > recordEnd) throw new BatchCheckError('corrupt', `${what}, record ${i} runs past its length ${length}`);
      if (offsetDelta !== i) throw new BatchCheckError('invalid', `${what}, record ${i} has offsetDelta ${offsetDelta}; a produced batch numbers its records 0, 1, 2, ...`);
      const ts = baseTimestamp + timestampDelta;
      if (!(ts >= 0 && ts <= MAX_TIMESTAMP_MS)) throw new BatchCheckError('timestamp', `${what}, record ${i} has timestamp ${ts}; timestamps are milliseconds from 0 to ${MAX_TIMESTAMP_MS}`);
      if (i === 0) firstTimestamp = ts;
      if (ts > maxTimestamp) maxTimestamp = ts;
      skipBytes(data, c, recordEnd, what, i, 'key', true);
      skipBytes(data, c, recordEnd, what, i, 'value', true);
      const headerCount = readVarint(data, c);
      if (headerCount < 0 || c.pos > recordEnd) throw new BatchCheckError('corrupt', `${what}, record ${i} has headerCount ${headerCount} past its length`);
      for (let h = 0; h < headerCount; h++) {
        const keyLength = skipBytes(data, c, recordEnd, what, i, 'header key', false);
        if (!isUtf8(data.subarray(c.pos - keyLength, c.pos))) throw new BatchCheckError('invalid', `${what}, record ${i}: header ${h} key is not UTF-8`);
        skipBytes(data, c, recordEnd, what, i, 'header value', true);
      }
      if (c.pos !== recordEnd) throw new BatchCheckError('corrupt', `${what}, record ${i}: its length ${length} disagrees with its fields`);
      if (recordEnd - p > largestRecord) largestRecord = recordEnd - p;
      p = recordEnd;
    }
  } catch (err) {
    if (err instanceof BatchCheckError) throw err;
    throw new BatchCheckError('corrupt', `${what}: ${(err as Error).message}`); // a varint past the end or too long
  }
  if (p !== dataEnd) throw new BatchCheckError('corrupt', `${what} claims ${count} records but ${dataEnd - p} bytes follow the last of them`);

  if (readInt64(buf, pos + MAX_TIMESTAMP) !== maxTimestamp) {
    writeInt64(buf, pos + MAX_TIMESTAMP, maxTimestamp);
    buf.writeUInt32BE(crc32c(buf, pos + ATTRIBUTES, batchEnd), pos + CRC);
  }
  return { batch: buf.subarray(pos, batchEnd), count, firstTimestamp, maxTimestamp, largestRecord, producerId, producerEpoch, baseSequence, isTransactional };
}

/** Skips a length-prefixed byte string (-1 for null where allowed); returns its length. */
function skipBytes(data: Buffer, c: Cursor, end: number, what: string, i: number, field: string, nullable: boolean): number {
  const n = readVarint(data, c);
  if (n < (nullable ? -1 : 0)) throw new BatchCheckError('corrupt', `${what}, record ${i}: ${field} length ${n} is invalid`);
  if (c.pos + Math.max(n, 0) > end) throw new BatchCheckError('corrupt', `${what}, record ${i}: ${field} of ${n} bytes runs past the record`);
  if (n > 0) c.pos += n;
  return n;
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
