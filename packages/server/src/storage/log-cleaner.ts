/**
 * Log compaction (`cleanup.policy=compact`): keeps the latest record of every key, as Kafka's
 * LogCleaner does, without ever changing an offset.
 *
 *   before:  [0 k1=a][1 k2=b][2 k1=c]   [3 k2=null][4 k3=d]   | active: [5 k1=e ..
 *   after:   [2 k1=c] (batch 0-2, one record, lastOffsetDelta 2)
 *                                        [3 k2=null][4 k3=d]   | active untouched
 *
 * Rules:
 * - Only the cleanable prefix of the log is touched: closed segments (never the active one) that
 *   are fsynced (their end is at or below the durable offset: a record that supersedes another must
 *   itself be safe first) and whose newest record is older than min.compaction.lag.ms. The key map
 *   is built from that prefix only, so a record superseded in the active segment stays until that
 *   segment closes.
 * - A record survives when it is the latest of its key in the prefix. Keyless records always
 *   survive (Kafka refuses them in compacted topics; Webka keeps them rather than lose data).
 * - A tombstone (null value) that is the latest of its key survives until delete.retention.ms
 *   after its own timestamp, so that consumers reading behind can still see the deletion.
 * - A batch keeps its baseOffset and lastOffsetDelta; survivors keep their offsetDelta (so the
 *   deltas can have gaps, which decodeRecords handles); it is re-encoded with its producer fields,
 *   timestamp type and codec (zstd, which cannot be written here, as gzip: codecs.ts
 *   rewriteCodec). The last batch of an idempotent producer stays even when emptied
 *   (recordsCount 0), so that the producer's sequence state survives a restart (Kafka does the
 *   same). Other batches with no survivors are replaced, run by run, by one empty filler batch
 *   spanning their offsets, because storage reads expect dense batches (where Kafka leaves holes).
 *   Control and transactional batches are kept as they are.
 * - Each rewritten segment is swapped in by Log.replaceSegment (crash-safe; see there).
 *
 * Created once by the broker and driven by its retention timer. Concurrency: one clean per log
 * at a time; appends go on meanwhile (they only touch the active segment).
 */
import type { Log } from './log.js';
import type { LogSegment } from './log-segment.js';
import { encodeBatch, decodeRecords, readBatchHeader, type Compression, type DecodedRecord, type RecordInput } from './record-batch.js';
import { CODEC_NAMES, rewriteCodec } from './codecs.js';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  writeInt64,
} from './batch-fields.js';
import { crc32c } from './crc32c.js';

export interface CleanOptions {
  now: number;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
}

export interface CleanResult {
  segmentsCleaned: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

interface CleanState {
  /** End of the prefix cleaned last time: nothing to do until more of the log closes... */
  cleanedEnd: number;
  /** ...or until this time, when a surviving tombstone expires. */
  tombstoneDue: number;
}

const NONE: CleanResult = { segmentsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };

export class LogCleaner {
  #state = new WeakMap<Log, CleanState>();
  #running = new WeakSet<Log>();

  /** Cleans the log's cleanable prefix when something new can be removed. */
  async clean(log: Log, opts: CleanOptions): Promise<CleanResult> {
    if (this.#running.has(log) || log.offlineReason !== null) return NONE;
    const prefix = cleanablePrefix(log, opts);
    if (prefix.length === 0) return NONE;
    const end = prefix[prefix.length - 1].nextOffset;
    const state = this.#state.get(log);
    if (state !== undefined && end <= state.cleanedEnd && opts.now < state.tombstoneDue) return NONE;
    this.#running.add(log);
    try {
      return await this.#clean(log, prefix, end, opts);
    } finally {
      this.#running.delete(log);
    }
  }

  async #clean(log: Log, prefix: LogSegment[], end: number, opts: CleanOptions): Promise<CleanResult> {
    // Pass 1: the latest offset of every key, and the last batch of every idempotent producer.
    const latest = new Map<string, number>();
    const lastProducerBatch = new Map<number, number>();
    for (const seg of prefix) {
      forEachBatch(seg, (buf, pos) => {
        const h = readBatchHeader(buf, pos);
        if (h.producerId >= 0) lastProducerBatch.set(h.producerId, h.baseOffset);
        if (h.isControl || h.isTransactional) return;
        for (const r of decode(buf, pos)) if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
      });
    }

    // Pass 2: rewrite each segment that loses something.
    const result: CleanResult = { segmentsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    let tombstoneDue = Infinity;
    const horizon = opts.now - opts.deleteRetentionMs;
    for (const seg of prefix) {
      const out: Buffer[] = [];
      let removed = 0;
      let gap: Gap | null = null;
      const emit = (batch: Buffer): void => {
        if (gap !== null) out.push(fillerBatch(gap));
        gap = null;
        out.push(batch);
      };
      forEachBatch(seg, (buf, pos, size) => {
        const original = buf.subarray(pos, pos + size);
        const h = readBatchHeader(buf, pos);
        if (h.isControl || h.isTransactional) {
          emit(original);
          return;
        }
        const records = decode(buf, pos);
        const survivors: DecodedRecord[] = [];
        for (const r of records) {
          if (r.key !== null && latest.get(r.key.toString('latin1')) !== r.offset) continue;
          if (r.key !== null && r.value === null) {
            if (r.timestamp <= horizon) continue;
            tombstoneDue = Math.min(tombstoneDue, r.timestamp + opts.deleteRetentionMs + 1);
          }
          survivors.push(r);
        }
        removed += records.length - survivors.length;
        if (survivors.length === records.length) emit(original);
        else if (survivors.length > 0) emit(reencode(h, survivors));
        else if (h.producerId >= 0 && lastProducerBatch.get(h.producerId) === h.baseOffset) emit(emptyBatch(original));
        else if (gap === null) gap = { start: h.baseOffset, end: h.baseOffset + h.lastOffsetDelta, maxTimestamp: h.maxTimestamp, leaderEpoch: h.partitionLeaderEpoch };
        else {
          gap.end = h.baseOffset + h.lastOffsetDelta;
          gap.maxTimestamp = Math.max(gap.maxTimestamp, h.maxTimestamp);
        }
      });
      if (gap !== null) out.push(fillerBatch(gap));
      if (removed === 0) continue;
      const data = Buffer.concat(out);
      const before = seg.size;
      if (await log.replaceSegment(seg, data)) {
        result.segmentsCleaned++;
        result.recordsRemoved += removed;
        result.bytesBefore += before;
        result.bytesAfter += data.length;
      }
    }
    this.#state.set(log, { cleanedEnd: end, tombstoneDue });
    return result;
  }
}

/** The closed, fsynced segments at the start of the log whose records are all older than the lag. */
function cleanablePrefix(log: Log, opts: CleanOptions): LogSegment[] {
  const segments = log.segments;
  const out: LogSegment[] = [];
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i];
    if (seg.nextOffset > log.durableOffset) break;
    if (seg.maxTimestamp > opts.now - opts.minCompactionLagMs) break;
    out.push(seg);
  }
  return out;
}

function forEachBatch(seg: LogSegment, visit: (buf: Buffer, pos: number, size: number) => void): void {
  seg.scan(0, (buf, pos, size) => {
    visit(buf, pos, size);
    return true;
  });
}

function decode(buf: Buffer, pos: number): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  decodeRecords(buf, pos, out);
  return out;
}

function reencode(h: ReturnType<typeof readBatchHeader>, survivors: DecodedRecord[]): Buffer {
  const records: RecordInput[] = survivors.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - h.baseOffset, attributes: r.attributes }));
  return encodeBatch(
    records,
    h.baseOffset,
    {
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      partitionLeaderEpoch: h.partitionLeaderEpoch,
      timestampType: h.timestampType === 1 ? 1 : 0,
      lastOffsetDelta: h.lastOffsetDelta,
    },
    CODEC_NAMES[rewriteCodec(h.compression)] as Compression,
  );
}

interface Gap {
  start: number;
  end: number;
  maxTimestamp: number;
  leaderEpoch: number;
}

/**
 * One empty batch (no producer, recordsCount 0) spanning offsets start..end of batches that lost
 * every record. Storage reads expect batches to be dense (each starts where the previous ended),
 * so a run of removed batches leaves this 61-byte marker instead of a hole: at most one per
 * surviving batch, so a compacted log still stays proportional to its keys.
 */
function fillerBatch(gap: Gap): Buffer {
  const b = Buffer.alloc(BATCH_HEADER_SIZE);
  writeInt64(b, BASE_OFFSET, gap.start);
  b.writeInt32BE(BATCH_HEADER_SIZE - LOG_OVERHEAD, BATCH_LENGTH);
  b.writeInt32BE(gap.leaderEpoch, PARTITION_LEADER_EPOCH);
  b[MAGIC] = 2;
  b.writeInt16BE(0, ATTRIBUTES);
  b.writeInt32BE(gap.end - gap.start, LAST_OFFSET_DELTA);
  writeInt64(b, BASE_TIMESTAMP, gap.maxTimestamp);
  writeInt64(b, MAX_TIMESTAMP, gap.maxTimestamp);
  writeInt64(b, PRODUCER_ID, -1);
  b.writeInt16BE(-1, PRODUCER_EPOCH);
  b.writeInt32BE(-1, BASE_SEQUENCE);
  b.writeInt32BE(0, RECORDS_COUNT);
  b.writeUInt32BE(crc32c(b, ATTRIBUTES, BATCH_HEADER_SIZE), CRC);
  return b;
}

/**
 * The header of a batch with its records dropped: recordsCount 0, no codec (there is nothing to
 * compress), batchLength 49, CRC recomputed; offsets, timestamps and producer fields kept.
 */
function emptyBatch(original: Buffer): Buffer {
  const b = Buffer.from(original.subarray(0, BATCH_HEADER_SIZE));
  b.writeInt32BE(BATCH_HEADER_SIZE - LOG_OVERHEAD, BATCH_LENGTH);
  b.writeInt16BE(b.readInt16BE(ATTRIBUTES) & ~0x07, ATTRIBUTES);
  b.writeInt32BE(0, RECORDS_COUNT);
  b.writeUInt32BE(crc32c(b, ATTRIBUTES, BATCH_HEADER_SIZE), CRC);
  return b;
}
