/**
 * Idempotent producer state of one partition, as Kafka's ProducerStateManager keeps it: for each
 * producer id, its epoch, its last sequence, and the last few batches it wrote (so that a retried
 * request can be answered with the offsets of the first attempt instead of being written again).
 *
 * Webka's HTTP producers number their requests, not their records: a request to a topic carries
 * one sequence, and each partition's share of it is stored as one batch whose baseSequence is
 * that request sequence. Ordering across a topic's partitions is checked by the broker
 * (see sequence-tracker.ts); this table answers "was this share already written here?".
 *
 * The table is rebuilt at start by scanning batch headers (producerId, epoch, baseSequence are
 * in every batch), so it survives restarts with the log as its only source of truth.
 */
import path from 'node:path';
import type { FileSystem } from '../storage/file-system.js';
import { PRODUCER_ID, ATTRIBUTES, readInt64, RECORDS_COUNT, lastOffsetAt, baseOffsetAt, BASE_TIMESTAMP } from '../storage/batch-fields.js';
import type { TxnSnapshot } from './txn-index.js';

export const CACHED_BATCHES = 5;

export interface WrittenBatch {
  sequence: number;
  baseOffset: number;
  count: number;
  timestamp: number;
}

/** When a producer last wrote here (its newest cached batch's timestamp; 0 when none is cached). */
export function lastWrite(entry: ProducerEntry): number {
  let t = 0;
  for (const b of entry.batches) if (b.timestamp > t) t = b.timestamp;
  return t;
}

export interface ProducerEntry {
  epoch: number;
  lastSequence: number;
  batches: WrittenBatch[];
}

/**
 * Producer ids from 2^52 up are Durable Streams producers, whose ids are derived from their names
 * (durable-streams/stream-producer-id.ts). Their state expires when idle, after which the same
 * name starts again at sequence 0 in the same epoch; so, for them only, a batch with sequence 0
 * in the current epoch starts the entry again (replayed from the log, the history of such a
 * producer then ends as it did when it was written).
 */
export const DERIVED_PRODUCER_IDS = 2 ** 52;

export class ProducerStateTable {
  #producers = new Map<number, ProducerEntry>();

  get(producerId: number): ProducerEntry | undefined {
    return this.#producers.get(producerId);
  }

  get size(): number {
    return this.#producers.size;
  }

  /** Forgets a producer (Durable Streams producer state that expired). */
  delete(producerId: number): void {
    this.#producers.delete(producerId);
  }

  /** The batch this producer wrote here with (epoch, sequence), if it is still cached. */
  find(producerId: number, epoch: number, sequence: number): WrittenBatch | undefined {
    const entry = this.#producers.get(producerId);
    if (entry === undefined || entry.epoch !== epoch) return undefined;
    return entry.batches.find((b) => b.sequence === sequence);
  }

  record(producerId: number, epoch: number, batch: WrittenBatch): void {
    let entry = this.#producers.get(producerId);
    const restarted = entry !== undefined && producerId >= DERIVED_PRODUCER_IDS && epoch === entry.epoch && batch.sequence === 0 && entry.lastSequence >= 0;
    if (entry === undefined || epoch > entry.epoch || restarted) {
      entry = { epoch, lastSequence: -1, batches: [] };
      this.#producers.set(producerId, entry);
    } else if (epoch < entry.epoch) {
      return;
    }
    if (batch.sequence > entry.lastSequence) entry.lastSequence = batch.sequence;
    entry.batches.push(batch);
    if (entry.batches.length > CACHED_BATCHES) entry.batches.shift();
  }

  /** Replays one batch header from the log (recovery). */
  replay(buf: Buffer, pos: number): void {
    const producerId = readInt64(buf, pos + PRODUCER_ID);
    // a transaction marker (control batch) carries the producer id but no sequence
    if (producerId < 0 || (buf.readInt16BE(pos + ATTRIBUTES) & 0x20) !== 0) return;
    const epoch = buf.readInt16BE(pos + PRODUCER_ID + 8);
    const sequence = buf.readInt32BE(pos + PRODUCER_ID + 10);
    const baseOffset = baseOffsetAt(buf, pos);
    this.record(producerId, epoch, {
      sequence,
      baseOffset,
      count: lastOffsetAt(buf, pos) - baseOffset + 1 || buf.readInt32BE(pos + RECORDS_COUNT),
      timestamp: readInt64(buf, pos + BASE_TIMESTAMP),
    });
  }

  /** Forgets batches that retention removed (their offsets can no longer be returned). */
  dropBefore(logStartOffset: number): void {
    for (const [id, entry] of this.#producers) {
      entry.batches = entry.batches.filter((b) => b.baseOffset >= logStartOffset);
      if (entry.batches.length === 0 && entry.lastSequence < 0) this.#producers.delete(id);
    }
  }

  entries(): IterableIterator<[number, ProducerEntry]> {
    return this.#producers.entries();
  }

  snapshot(): Array<[number, ProducerEntry]> {
    return [...this.#producers.entries()];
  }

  restore(entries: Array<[number, ProducerEntry]>): void {
    this.#producers = new Map(entries);
  }
}

/**
 * `producer-state.json` in the partition's directory, written at a clean stop after the final
 * fsync: `{"version":1,"offset":<log end>,"producers":[[id,{epoch,lastSequence,batches}],...],
 * "txns":{"ongoing":[[producerId,firstOffset],...],"aborted":[{producerId,firstOffset,lastOffset},...]}}`
 * (`txns` is the partition's transaction index, txn-index.ts; absent in older snapshots, which
 * were written before transactions existed and so had none).
 * It is used only when the next start is clean and the log still ends at `offset`, so it can
 * never describe batches that a crash took away.
 */
const SNAPSHOT_FILE = 'producer-state.json';

export function writeProducerSnapshot(fs: FileSystem, dir: string, offset: number, producers: Array<[number, ProducerEntry]>, txns?: TxnSnapshot): void {
  fs.writeFileAtomic(path.join(dir, SNAPSHOT_FILE), JSON.stringify({ version: 1, offset, producers, txns }));
}

export function readProducerSnapshot(fs: FileSystem, dir: string): { offset: number; producers: Array<[number, ProducerEntry]>; txns?: TxnSnapshot } | null {
  const file = path.join(dir, SNAPSHOT_FILE);
  if (!fs.exists(file)) return null;
  try {
    const parsed = JSON.parse(fs.readFile(file).toString('utf8')) as { version?: number; offset?: number; producers?: Array<[number, ProducerEntry]>; txns?: TxnSnapshot };
    if (parsed.version !== 1 || !Number.isSafeInteger(parsed.offset) || !Array.isArray(parsed.producers)) return null;
    const txns = parsed.txns;
    if (txns !== undefined && (!Array.isArray(txns.ongoing) || !Array.isArray(txns.aborted))) return null;
    return { offset: parsed.offset!, producers: parsed.producers, txns };
  } catch {
    return null;
  } finally {
    // a snapshot is good for one start only
    fs.unlink(file);
  }
}
