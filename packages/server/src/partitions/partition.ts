/**
 * One partition of a topic: its Log, its idempotent-producer table, and the waiters that long
 * polls and streams park on until the high watermark moves (DESIGN decision 3: wake, don't
 * poll). Readers see only offsets below the high watermark: what is durable (Log's header).
 *
 * Created by the broker when a topic is created or loaded; closed with the broker or deleted with
 * the topic. All calls run on the event loop; append() is synchronous up to the point where the
 * batch is in the operating system, so appends to one partition are ordered by arrival.
 */
import type { FileSystem } from '../storage/file-system.js';
import { Log, type LogConfig, type LogProbe } from '../storage/log.js';
import type { FdPool } from '../storage/fd-pool.js';
import { encodeTransientBatch, stampLogAppendTime, decodeRecords, validateBatch, readBatchHeader, type DecodedRecord, type RecordHeader, type Compression } from '../storage/record-batch.js';
import { LOG_OVERHEAD, BATCH_LENGTH, ATTRIBUTES, PRODUCER_ID, lastOffsetAt, baseOffsetAt, readInt64 } from '../storage/batch-fields.js';
import { encodeMarkerBatch, type MarkerType } from '../storage/control-record.js';
import { ProducerStateTable, readProducerSnapshot, writeProducerSnapshot } from './producer-state.js';
import { TxnIndex, isAborted, type AbortedTxn } from './txn-index.js';
import { WebkaError } from '../errors.js';

export interface AppendRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: number;
  /** The record's attributes byte: how its value was produced (VALUE_FORMAT_* in storage/record-batch.ts). */
  attributes?: number;
}

export interface ProducerRef {
  producerId: number;
  producerEpoch: number;
  sequence: number;
  /** Part of a transaction: the batch gets the isTransactional bit and opens it here. */
  transactional?: boolean;
}

/** Kafka's isolation levels: read_committed stops at the last stable offset and skips aborted records. */
export type Isolation = 'read_uncommitted' | 'read_committed';

export interface AppendOptions {
  compression: Compression;
  logAppendTime: boolean;
}

/**
 * A batch a client encoded and storage/batch-check.ts checked (the HTTP binary produce body):
 * appended as its bytes are, with only baseOffset assigned (and, on a LogAppendTime topic, the
 * time stamped). Its producer fields must be the request's producer (ProducerRef).
 */
export interface EncodedShare {
  batch: Buffer;
  count: number;
  firstTimestamp: number;
  maxTimestamp: number;
}

/** One request's share of a partition, for appendGroup: records to encode, or an encoded batch (then records is empty). */
export interface GroupAppend {
  records: AppendRecord[];
  encoded?: EncodedShare;
  options: AppendOptions;
  producer?: ProducerRef;
}

export interface AppendResult {
  baseOffset: number;
  /** The batch's timestamp under LogAppendTime (or of the first attempt, for a duplicate), else -1. */
  logAppendTime: number;
  duplicate: boolean;
}

export interface ReadOptions {
  maxRecords: number;
  maxBytes: number;
  /** Default read_uncommitted. */
  isolation?: Isolation;
}

export interface PartitionRead {
  records: DecodedRecord[];
  nextOffset: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

/**
 * What replication adds to a partition in a cluster (set by the replica manager; null on a single
 * node, where the partition is its own leader and durable means committed).
 */
export interface ReplicaHooks {
  /** Whether this replica leads the partition now (takes appends). */
  readonly leads: boolean;
  /** Throws unless this replica may take an append now: NOT_LEADER on a follower; NOT_ENOUGH_REPLICAS for acks=all with too few in sync. */
  checkAppend(acks: 0 | 1 | 'all'): void;
  /** Resolves once every offset below upTo is committed (below the high watermark); rejects when it cannot be. */
  awaitCommitted(upTo: number): Promise<void>;
}

const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

export class Partition {
  readonly topicId: string;
  readonly index: number;
  readonly log: Log;
  readonly producers = new ProducerStateTable();
  readonly txns = new TxnIndex();
  #listeners = new Set<() => void>();
  #appendListeners = new Set<() => void>();
  #closed = false;
  /** Replication's hooks in a cluster, else null. */
  replica: ReplicaHooks | null = null;

  /**
   * The highest offset a group may commit for this partition: its high watermark where this
   * broker leads it (or is alone), else, in a cluster, any offset, as Kafka takes any: a follower
   * learns the leader's high watermark one fetch late, so a client that read up to it from the
   * leader would be refused the commit (kafkajs treats that as fatal), and a broker that holds no
   * replica (a group's coordinator need not) knows nothing of the partition's end.
   */
  commitLimit(): number {
    return this.replica === null || this.replica.leads ? this.log.highWatermark : Number.MAX_SAFE_INTEGER;
  }

  #fs: FileSystem | undefined;

  /**
   * Producer state comes from the snapshot left by a clean stop when it matches the log's end
   * exactly; otherwise (an unclean stop, or no snapshot) from a scan of every batch header.
   */
  constructor(topicId: string, index: number, log: Log, fs?: FileSystem, clean = false) {
    this.topicId = topicId;
    this.index = index;
    this.log = log;
    this.#fs = fs;
    log.onHighWatermark(() => this.#wake());
    log.onAppend(() => {
      for (const fn of [...this.#appendListeners]) fn();
    });
    log.setSyncDemand(() => this.#listeners.size > 0);
    if (log.offlineReason !== null) return;
    const snapshot = fs === undefined ? null : readProducerSnapshot(fs, log.dir);
    if (clean && snapshot !== null && snapshot.offset === log.nextOffset) {
      this.producers.restore(snapshot.producers);
      this.producers.dropBefore(log.logStartOffset);
      if (snapshot.txns !== undefined) this.txns.restore(snapshot.txns);
    } else {
      log.scanBatches(log.logStartOffset, (buf, pos) => {
        this.producers.replay(buf, pos);
        this.txns.replay(buf, pos);
      });
    }
  }

  static open(fs: FileSystem, dir: string, topicId: string, index: number, config: LogConfig, opts: { clean: boolean; probe?: LogProbe; fdPool?: FdPool }): Partition {
    return new Partition(topicId, index, Log.open(fs, dir, config, opts), fs, opts.clean);
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.nextOffset;
  }

  /** Always (a group reads a local partition or a remote view of one: groups/remote-partition.ts). */
  readonly known = true;

  /** Where read_committed readers stop: at or below the high watermark (txn-index.ts). */
  get lastStableOffset(): number {
    return this.txns.lastStableOffset(this.log.highWatermark);
  }

  /** The end of what a reader with this isolation may see. */
  readableEnd(isolation: Isolation | undefined): number {
    return isolation === 'read_committed' ? this.lastStableOffset : this.log.highWatermark;
  }

  /**
   * Writes a commit or abort marker (a control batch) ending producerId's transaction here, and
   * returns its offset; -1 (nothing written) when the producer has no open transaction here,
   * so a coordinator that completes a transaction again after a crash writes each marker once.
   * With firstOffset (where the transaction's first batch here is, -1 for none), the marker is
   * written only when the open transaction starts there: one that starts elsewhere is a later
   * transaction of the same producer, which this marker must not end. Only the partition's
   * leader writes one.
   */
  writeMarker(producerId: number, producerEpoch: number, type: MarkerType, coordinatorEpoch = 0, firstOffset?: number): number {
    // a follower's copy is written by its leader alone (NOT_LEADER): a marker goes to the leader
    this.replica?.checkAppend(1);
    const open = this.txns.firstOffset(producerId);
    if (open < 0 || (firstOffset !== undefined && firstOffset !== open)) return -1;
    const now = Date.now();
    const offset = this.log.append(encodeMarkerBatch(producerId, producerEpoch, type, coordinatorEpoch, now), 1, now);
    this.txns.onMarker(producerId, offset, type);
    return offset;
  }

  /**
   * Appends records as one batch (so a request's share of a partition is atomic), or, for an
   * idempotent producer whose batch is already here, returns where it was written.
   */
  append(records: AppendRecord[], options: AppendOptions, producer?: ProducerRef): AppendResult {
    return this.appendGroup([{ records, options, producer }])[0];
  }

  /**
   * Appends several requests' records with one write: each item is its own batch, as append()
   * makes it, and the batches go out together (ProducePath gathers the appends that arrive in
   * one turn of the event loop). All or nothing: on a write error none is in the log and this
   * throws. Items that are duplicates of an idempotent producer's batch write nothing.
   */
  appendGroup(items: readonly GroupAppend[]): AppendResult[] {
    const results = new Array<AppendResult>(items.length);
    const written: number[] = [];
    const batches: Array<{ at: number; count: number }> = [];
    const parts: Buffer[] = [];
    let size = 0;
    let maxTimestamp = -Infinity;
    for (let i = 0; i < items.length; i++) {
      const { records, encoded, options, producer } = items[i];
      if (producer !== undefined) {
        const dup = this.producers.find(producer.producerId, producer.producerEpoch, producer.sequence);
        if (dup !== undefined) {
          results[i] = { baseOffset: dup.baseOffset, logAppendTime: dup.timestamp, duplicate: true };
          continue;
        }
      }
      let logAppendTime = -1;
      if (options.logAppendTime) logAppendTime = Date.now();
      let batch: Buffer;
      let count: number;
      if (encoded !== undefined) {
        batch = encoded.batch;
        count = encoded.count;
        if (logAppendTime >= 0) stampLogAppendTime(batch, logAppendTime);
        const ts = logAppendTime >= 0 ? logAppendTime : encoded.maxTimestamp;
        if (ts > maxTimestamp) maxTimestamp = ts;
      } else {
        if (logAppendTime >= 0) for (const r of records) r.timestamp = logAppendTime;
        const timestampType = options.logAppendTime ? 1 : 0;
        batch = encodeTransientBatch(
          records,
          0,
          producer === undefined
            ? { timestampType }
            : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: producer.sequence, timestampType, isTransactional: producer.transactional === true },
          options.compression,
        );
        count = records.length;
        for (const r of records) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
      }
      // The encoder's buffer is reused by the next encode: a lone batch is written from it
      // directly (Log.append writes before it returns and keeps no reference, nor does any
      // FileSystem), batches of a group are copied out first (an encoded batch is a view of its
      // request's body, which nothing else writes to: it goes as it is).
      parts.push(items.length === 1 || encoded !== undefined ? batch : Buffer.from(batch));
      batches.push({ at: size, count });
      size += batch.length;
      results[i] = { baseOffset: -1, logAppendTime, duplicate: false };
      written.push(i);
    }
    if (written.length === 0) return results;
    const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
    let next = this.log.appendBatches(bytes, batches, maxTimestamp);
    for (const i of written) {
      const { records, encoded, producer } = items[i];
      const count = encoded?.count ?? records.length;
      results[i].baseOffset = next;
      if (producer !== undefined) {
        const timestamp = results[i].logAppendTime >= 0 ? results[i].logAppendTime : encoded?.firstTimestamp ?? records[0].timestamp;
        this.producers.record(producer.producerId, producer.producerEpoch, { sequence: producer.sequence, baseOffset: next, count, timestamp });
        if (producer.transactional === true) this.txns.onData(producer.producerId, next);
      }
      next += count;
    }
    return results;
  }

  /**
   * Appends a batch that a client encoded itself (the Kafka listener's Produce): its bytes go to
   * the log as they are and only baseOffset, which the CRC does not cover, is assigned. The
   * caller has validated it (validateBatch and the record structure). An idempotent batch
   * (producerId >= 0) follows Kafka's per-record sequences: the same (epoch, baseSequence) with
   * the same record count as a cached batch is a retry, answered with the first attempt's
   * offset and written nothing; otherwise baseSequence must continue the producer's last batch
   * here (any sequence starts a producer or epoch this partition has not seen). A
   * transactional batch is taken only with `transactional` (its producer holds a transaction the
   * coordinator has joined this partition to) and opens the producer's transaction here.
   */
  appendEncoded(batch: Buffer, transactional = false): AppendResult {
    const h = readBatchHeader(batch, 0);
    const count = h.lastOffsetDelta + 1;
    if (h.isControl || (h.isTransactional && !transactional)) {
      // markers are written by the transaction coordinator only; a transactional batch needs the
      // transaction it belongs to to have joined this partition (TransactionCoordinator.join)
      throw new WebkaError('INVALID_REQUEST', `a ${h.isControl ? 'control' : 'transactional'} batch cannot be produced to partition ${this.index} directly; transactions go through the transaction coordinator`);
    }
    if (h.producerId >= 0) {
      const entry = this.producers.get(h.producerId);
      if (entry !== undefined && h.producerEpoch < entry.epoch) {
        throw new WebkaError('PRODUCER_FENCED', `producer ${h.producerId} epoch ${h.producerEpoch} is fenced: epoch ${entry.epoch} wrote to partition ${this.index}`);
      }
      if (entry !== undefined && h.producerEpoch === entry.epoch) {
        const dup = entry.batches.find((b) => b.sequence === h.baseSequence);
        if (dup !== undefined && dup.count === count) return { baseOffset: dup.baseOffset, logAppendTime: h.timestampType === 1 ? h.maxTimestamp : -1, duplicate: true };
        const last = entry.batches[entry.batches.length - 1];
        const expected = last === undefined ? h.baseSequence : (last.sequence + last.count) % 2147483648;
        if (dup !== undefined || h.baseSequence !== expected) {
          throw new WebkaError('OUT_OF_ORDER_SEQUENCE', `producer ${h.producerId} sent sequence ${h.baseSequence} (${count} records) to partition ${this.index}; expected ${expected}`);
        }
      }
    }
    const baseOffset = this.log.append(batch, count, h.maxTimestamp);
    if (h.producerId >= 0) this.producers.record(h.producerId, h.producerEpoch, { sequence: h.baseSequence, baseOffset, count, timestamp: h.baseTimestamp });
    if (h.isTransactional) this.txns.onData(h.producerId, baseOffset);
    return { baseOffset, logAppendTime: h.timestampType === 1 ? h.maxTimestamp : -1, duplicate: false };
  }

  /**
   * Reads whole stored batches from the one holding offset, about maxBytes of them (at least one
   * when there is one), as bytes for a client that decodes them itself (the Kafka listener's
   * Fetch). Every batch's CRC is checked, as read() does. read_committed stops at the last
   * stable offset and lists the aborted transactions in what it returns (the client drops their
   * records, as Kafka's consumers do); control batches are returned as they are stored.
   */
  readEncoded(offset: number, maxBytes: number, isolation?: Isolation): { data: Buffer; highWatermark: number; lastStableOffset: number; logStartOffset: number; aborted: AbortedTxn[] } {
    const highWatermark = this.log.highWatermark;
    const lastStableOffset = this.txns.lastStableOffset(highWatermark);
    const limit = isolation === 'read_committed' ? lastStableOffset : highWatermark;
    let data = this.log.read(offset, maxBytes);
    let pos = 0;
    while (pos + LOG_OVERHEAD <= data.length) {
      if (readInt64(data, pos) >= limit) break;
      const size = LOG_OVERHEAD + data.readInt32BE(pos + BATCH_LENGTH);
      const problem = validateBatch(data, pos, size);
      if (problem !== null) {
        const reason = `batch at position ${pos} of a read from offset ${offset} of partition ${this.index} failed its check (${problem}); the partition is offline`;
        this.log.markOffline(reason);
        throw new WebkaError('CORRUPT_RECORD', reason);
      }
      pos += size;
    }
    if (pos < data.length) data = data.subarray(0, pos);
    const aborted = isolation === 'read_committed' && data.length > 0 ? this.txns.abortedIn(offset, limit) : [];
    return { data, highWatermark, lastStableOffset, logStartOffset: this.log.logStartOffset, aborted };
  }

  /**
   * Resolves when every offset below upTo is committed: fsynced here (group commit) and, in a
   * cluster, held durably by every in-sync replica (ReplicaHooks.awaitCommitted).
   */
  flush(upTo: number): Promise<void> {
    return this.replica === null ? this.log.flush(upTo) : this.replica.awaitCommitted(upTo);
  }

  /**
   * Appends a leader's batches as they are (this replica is a follower): same offsets, same
   * bytes. Each batch's CRC is checked first; producer state and the transaction index follow the
   * batches as they do for a local append. Returns the new log end.
   */
  appendReplicated(bytes: Buffer): number {
    for (let pos = 0; pos + LOG_OVERHEAD <= bytes.length; ) {
      const size = LOG_OVERHEAD + bytes.readInt32BE(pos + BATCH_LENGTH);
      const problem = validateBatch(bytes, pos, size);
      if (problem !== null) throw new WebkaError('CORRUPT_RECORD', `a batch from the leader of partition ${this.index} failed its check (${problem}); nothing was written`);
      pos += size;
    }
    const end = this.log.appendReplicated(bytes);
    for (let pos = 0; pos + LOG_OVERHEAD <= bytes.length; pos += LOG_OVERHEAD + bytes.readInt32BE(pos + BATCH_LENGTH)) {
      this.producers.replay(bytes, pos);
      this.txns.replay(bytes, pos);
    }
    return end;
  }

  /**
   * Cuts this copy back to `offset` (a follower whose batches past it are of an epoch its leader
   * did not keep) and rebuilds producer state and the transaction index from what remains.
   */
  async truncateTo(offset: number): Promise<void> {
    if (offset >= this.log.nextOffset) return;
    await this.log.truncateTo(offset);
    this.producers.restore([]);
    this.txns.restore({ ongoing: [], aborted: [] });
    this.log.scanBatches(this.log.logStartOffset, (buf, pos) => {
      this.producers.replay(buf, pos);
      this.txns.replay(buf, pos);
    });
  }

  /**
   * Waits until the log end passes offset (a follower's fetch at the leader's end) or the high
   * watermark moves from `highWatermark` (the follower learns it sooner), timeoutMs passes or
   * signal aborts.
   */
  waitForAppend(offset: number, timeoutMs: number, signal?: AbortSignal, highWatermark = this.log.highWatermark): Promise<void> {
    if (this.log.nextOffset > offset || this.log.highWatermark !== highWatermark || timeoutMs <= 0 || signal?.aborted || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#appendListeners.delete(check);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const check = (): void => {
        if (this.log.nextOffset > offset || this.log.highWatermark !== highWatermark || this.#closed) done();
      };
      this.#appendListeners.add(check);
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Reads records from offset below the high watermark, at most maxRecords and about maxBytes
   * (always at least one record when there is one). Every batch's CRC is checked: a mismatch
   * takes the partition offline rather than serve damaged data.
   */
  read(offset: number, opts: ReadOptions): PartitionRead {
    const highWatermark = this.log.highWatermark;
    const committed = opts.isolation === 'read_committed';
    const limit = committed ? this.txns.lastStableOffset(highWatermark) : highWatermark;
    const data = this.log.read(offset, opts.maxBytes, limit, opts.maxRecords);
    const aborted = committed && data.length > 0 ? this.txns.abortedIn(offset, limit) : [];
    const records: DecodedRecord[] = [];
    let nextOffset = offset;
    let pos = 0;
    while (pos + LOG_OVERHEAD <= data.length && records.length < opts.maxRecords) {
      const size = LOG_OVERHEAD + data.readInt32BE(pos + BATCH_LENGTH);
      const problem = validateBatch(data, pos, size);
      if (problem !== null) {
        const reason = `batch at offset ${nextOffset} of partition ${this.index} failed its check (${problem}); the partition is offline`;
        this.log.markOffline(reason);
        throw new WebkaError('CORRUPT_RECORD', reason);
      }
      const before = records.length;
      const attributes = data.readInt16BE(pos + ATTRIBUTES);
      // markers are never records; read_committed skips the batches of aborted transactions
      const skip =
        (attributes & CONTROL_BIT) !== 0 ||
        (aborted.length > 0 && (attributes & TRANSACTIONAL_BIT) !== 0 && isAborted(aborted, readInt64(data, pos + PRODUCER_ID), baseOffsetAt(data, pos)));
      if (!skip) decodeRecords(data, pos, records, offset);
      // a batch can straddle the high watermark only once replicas acknowledge part of one
      while (records.length > before && records[records.length - 1].offset >= limit) records.pop();
      if (records.length > opts.maxRecords) records.length = opts.maxRecords;
      nextOffset = records.length > before && records.length === opts.maxRecords ? records[records.length - 1].offset + 1 : lastOffsetAt(data, pos) + 1;
      pos += size;
    }
    return {
      records,
      nextOffset: Math.min(Math.max(nextOffset, offset), Math.max(limit, offset)),
      highWatermark,
      lastStableOffset: committed ? limit : this.txns.lastStableOffset(highWatermark),
      logStartOffset: this.log.logStartOffset,
    };
  }

  /** Calls fn each time the high watermark moves (and on close, so that waiters can finish). Returns an unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    this.log.syncSoon();
    return () => this.#listeners.delete(fn);
  }

  /**
   * Waits until offset is readable (highWatermark > offset), timeoutMs passes or signal aborts.
   * Resolves in every case; the caller reads again to see what arrived.
   */
  waitForData(offset: number, timeoutMs: number, signal?: AbortSignal, isolation?: Isolation): Promise<void> {
    if (this.readableEnd(isolation) > offset || timeoutMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const unsubscribe = this.subscribe(() => {
        if (this.readableEnd(isolation) > offset || this.#closed) done();
      });
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    for (const fn of this.#listeners) fn();
    for (const fn of [...this.#appendListeners]) fn();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.log.close();
    // everything is fsynced now, so the snapshot describes durable batches only
    if (this.#fs !== undefined && this.log.offlineReason === null) {
      try {
        writeProducerSnapshot(this.#fs, this.log.dir, this.log.nextOffset, this.producers.snapshot(), this.txns.snapshot());
      } catch {
        // without a snapshot the next start scans the log instead
      }
    }
    this.#wake();
  }

  async delete(): Promise<void> {
    this.#closed = true;
    await this.log.deleteAll();
    this.#wake();
  }
}
