/**
 * Control batches (Kafka's transaction markers): a RecordBatch v2 with the isControl and
 * isTransactional attribute bits set, the producer id and epoch of the transaction it ends,
 * baseSequence -1, and exactly one record whose key and value are Kafka's EndTransactionMarker:
 *   key:   version int16 = 0 | type int16 (0 ABORT, 1 COMMIT)
 *   value: version int16 = 0 | coordinatorEpoch int32
 * A marker takes one offset like any record (offsets stay dense) but is never returned to a
 * reader as a record: readers step over it. Written by Partition.writeMarker.
 */
import { encodeBatch } from './record-batch.js';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, BATCH_LENGTH } from './batch-fields.js';
import { readVarint, readVarlong, type Cursor } from '@webka/protocol';

export type MarkerType = 'commit' | 'abort';

const ABORT = 0;
const COMMIT = 1;

/** One control batch ending producerId's transaction (baseOffset set at append). */
export function encodeMarkerBatch(producerId: number, producerEpoch: number, type: MarkerType, coordinatorEpoch: number, timestamp: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === 'commit' ? COMMIT : ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return encodeBatch([{ key, value, timestamp }], 0, { producerId, producerEpoch, baseSequence: -1, isTransactional: true, isControl: true });
}

/**
 * The marker type of the control batch at `pos` (uncompressed, as Webka writes them), or null
 * for a control record of another kind (Kafka reserves other types) or an unreadable one.
 */
export function markerTypeAt(buf: Buffer, pos: number): MarkerType | null {
  const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH);
  const c: Cursor = { pos: pos + BATCH_HEADER_SIZE };
  if (c.pos >= end) return null;
  readVarint(buf, c); // record length
  c.pos++; // attributes
  readVarlong(buf, c); // timestampDelta
  readVarint(buf, c); // offsetDelta
  const keyLength = readVarint(buf, c);
  if (keyLength < 4 || c.pos + 4 > end) return null;
  const type = buf.readInt16BE(c.pos + 2);
  return type === COMMIT ? 'commit' : type === ABORT ? 'abort' : null;
}
