/**
 * Transaction state: records in the internal compacted topic `__transaction_state` of each
 * cluster, one per change of a transactional id's state, the latest record of a key being the
 * state (Kafka's transaction log). Appended as one record and answered once fsynced; replayed
 * into memory when the coordinator starts.
 *
 * Record format (integers big-endian; a string is an int16 byte length and UTF-8 bytes):
 *   key:   version int16 = 0 | transactionalId string          (Kafka's TransactionLogKey v0)
 *   value: version int16 = 1 | UTF-8 JSON of TxnMetadata below  (Webka's own; Kafka's value is
 *          a binary schema: the Kafka listener maps its APIs onto this coordinator, never these
 *          records, so they need not be Kafka's bytes)
 * A key with another version, or a value that does not parse, is skipped on replay. A
 * transactional id hashes to a partition as a group id does (Java's String.hashCode).
 */
import type { Broker } from '../broker.js';
import type { Partition } from '../partitions/partition.js';
import { groupPartition } from '../groups/offset-store.js';
import { WebkaError } from '../errors.js';

export const TXN_TOPIC = '__transaction_state';
export const TXN_TOPIC_PARTITIONS = 8;
export const TXN_TOPIC_CONFIGS = { 'cleanup.policy': 'compact', 'segment.bytes': 104_857_600 };
const KEY_VERSION = 0;
const VALUE_VERSION = 1;
const REPLAY_BYTES = 4 << 20;

/**
 * Kafka's TransactionState, without Dead and PrepareEpochFence:
 *
 *   Empty --produce/offsets--> Ongoing --commit--> PrepareCommit --markers--> CompleteCommit
 *     ^                          |   \--abort, timeout, new epoch--> PrepareAbort --markers--> CompleteAbort
 *     |                          |                                                               |
 *     +------ (a Complete* state takes new records as Empty does: the next transaction) ---------+
 */
export type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort';

export interface TxnPartition {
  topic: string;
  partition: number;
}

export interface TxnOffset {
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
  metadata: string | null;
}

export interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** Partitions the open transaction wrote to: each gets a marker when it ends. */
  partitions: TxnPartition[];
  /**
   * In a Prepare state: where the transaction's first batch is in each of `partitions` (same
   * order; -1 for none), so that an ending repeated after a crash marks this transaction and
   * never a later one of the same producer. Absent in records written before it was kept.
   */
  firstOffsets?: number[];
  /**
   * In a PrepareCommit state with offsets: the end of each group's `__consumer_offsets` partition
   * when the commit was decided. An offset whose committed record lies at or past it was written
   * since (by this ending, or a later commit of the group), so an ending repeated after a crash
   * leaves it alone instead of putting the older value back. Absent in records written before it
   * was kept.
   */
  offsetsEnd?: Record<string, number>;
  /**
   * In the PrepareAbort state of an abort that fences the producer (a timeout's, an operator's):
   * the producer id and epoch it fences with, which its Complete state takes, also when the
   * ending is done again after a failure or a crash. Absent in records written before it was kept.
   */
  fence?: { producerId: number; producerEpoch: number };
  /** Consumer offsets committed with the transaction: written to __consumer_offsets on commit. */
  offsets: TxnOffset[];
  /** When the open transaction began (ms), -1 when none is open. */
  startedAt: number;
  updatedAt: number;
  /** The principal that owns the transactional id (the first to initialise it). */
  principal: string;
}

export class TxnStateLog {
  #broker: Broker;
  /** In a cluster the topic is replicated and the controller defines it (http/txn-routing.ts); only its partitions' leaders write. */
  #clustered: boolean;

  constructor(broker: Broker, clustered = false) {
    this.#broker = broker;
    this.#clustered = clustered;
  }

  /** The id's partition, undefined while the cluster has no such topic. */
  partitionOf(cluster: string, transactionalId: string): Partition | undefined {
    if (this.#broker.catalog.findTopic(cluster, TXN_TOPIC) === undefined) return undefined;
    const partitions = this.#broker.topicPartitions(cluster, TXN_TOPIC);
    return partitions[groupPartition(transactionalId, partitions.length)];
  }

  /** The latest state of each id in one partition, read up to its high watermark. */
  replayPartition(p: Partition): Map<string, TxnMetadata> {
    const out = new Map<string, TxnMetadata>();
    replayPartition(p, out);
    return out;
  }

  /** Every transactional id's latest state in the cluster (reading nothing when the topic is absent). */
  replay(cluster: string): Map<string, TxnMetadata> {
    const out = new Map<string, TxnMetadata>();
    if (this.#broker.catalog.findTopic(cluster, TXN_TOPIC) === undefined) return out;
    for (const p of this.#broker.topicPartitions(cluster, TXN_TOPIC)) replayPartition(p, out);
    return out;
  }

  /** Appends the new state of one transactional id; resolves once it is fsynced. */
  write(cluster: string, m: TxnMetadata): Promise<void> {
    return this.append(cluster, m)();
  }

  /**
   * Appends the new state of one transactional id and returns what waits for its fsync. An id's
   * records share one partition, whose durable part is always a prefix: once a later record of
   * the id is fsynced, this one is too, so a caller that needs it durable only before the next
   * record may skip the wait.
   */
  append(cluster: string, m: TxnMetadata): () => Promise<void> {
    const p = this.#partitionFor(cluster, m.transactionalId);
    p.replica?.checkAppend('all');
    const now = Date.now();
    const { baseOffset } = p.append([{ key: encodeKey(m.transactionalId), value: encodeValue(m), headers: [], timestamp: now }], { compression: 'none', logAppendTime: false });
    return () => p.flush(baseOffset + 1);
  }

  #partitionFor(cluster: string, transactionalId: string): Partition {
    if (this.#broker.catalog.findTopic(cluster, TXN_TOPIC) === undefined) {
      if (this.#clustered) throw new WebkaError('NOT_COORDINATOR', `the cluster's ${TXN_TOPIC} topic has not reached this broker yet; retry in a moment`);
      this.#broker.createTopic(cluster, { name: TXN_TOPIC, partitions: TXN_TOPIC_PARTITIONS, configs: TXN_TOPIC_CONFIGS }, true);
    }
    const partitions = this.#broker.topicPartitions(cluster, TXN_TOPIC);
    return partitions[groupPartition(transactionalId, partitions.length)];
  }
}

function replayPartition(p: Partition, out: Map<string, TxnMetadata>): void {
  let offset = p.log.logStartOffset;
  while (offset < p.log.highWatermark) {
    const r = p.read(offset, { maxRecords: 100_000, maxBytes: REPLAY_BYTES });
    for (const rec of r.records) {
      const id = rec.key === null ? null : decodeKey(rec.key);
      if (id === null) continue;
      if (rec.value === null) {
        out.delete(id);
        continue;
      }
      const m = decodeValue(rec.value);
      if (m !== null && m.transactionalId === id) out.set(id, m);
    }
    if (r.nextOffset <= offset) break;
    offset = r.nextOffset;
  }
}

export function encodeKey(transactionalId: string): Buffer {
  const n = Buffer.byteLength(transactionalId, 'utf8');
  const buf = Buffer.alloc(4 + n);
  buf.writeInt16BE(KEY_VERSION, 0);
  buf.writeInt16BE(n, 2);
  buf.write(transactionalId, 4, 'utf8');
  return buf;
}

export function decodeKey(buf: Buffer): string | null {
  if (buf.length < 4 || buf.readInt16BE(0) !== KEY_VERSION) return null;
  const n = buf.readInt16BE(2);
  if (n < 0 || 4 + n > buf.length) return null;
  return buf.toString('utf8', 4, 4 + n);
}

export function encodeValue(m: TxnMetadata): Buffer {
  const json = Buffer.from(JSON.stringify(m), 'utf8');
  const buf = Buffer.alloc(2 + json.length);
  buf.writeInt16BE(VALUE_VERSION, 0);
  json.copy(buf, 2);
  return buf;
}

export function decodeValue(buf: Buffer): TxnMetadata | null {
  if (buf.length < 2 || buf.readInt16BE(0) !== VALUE_VERSION) return null;
  try {
    const m = JSON.parse(buf.toString('utf8', 2)) as TxnMetadata;
    if (typeof m.transactionalId !== 'string' || !Number.isSafeInteger(m.producerId) || !Array.isArray(m.partitions) || !Array.isArray(m.offsets)) return null;
    return m;
  } catch {
    return null;
  }
}
