/**
 * The produce path of one broker: routes a request's records to partitions, validates them all
 * before anything is written, orders idempotent requests, appends one batch per partition (the
 * batches of one event-loop turn together: #appendSoon) and, for acks=all, waits for the fsync.
 * Created by the Broker, which hands it the topic's partitions and settings per call; holds the
 * sequence tracker, this turn's pending group writes and the debug ack-from-memory backlog.
 */
import type { Compression, RecordHeader } from '../storage/record-batch.js';
import type { AppendRecord, AppendResult, EncodedShare, GroupAppend, Partition, ProducerRef } from './partition.js';
import { SequenceTracker } from './sequence-tracker.js';
import { partitionForKey } from '@webka/protocol';
import { WebkaError } from '../errors.js';

export type Acks = 0 | 1 | 'all';

export interface ProduceInput {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  partition?: number;
  timestamp?: number;
  /** How the value was produced (VALUE_FORMAT_* in storage/record-batch.ts), kept with the record. */
  attributes?: number;
}

export interface ProduceOptions {
  acks: Acks;
  producer?: ProducerRef;
  /** The producer chooses its own epochs (Durable Streams' Producer-Epoch) instead of taking them
   *  from the catalog: the catalog's epoch check is skipped, and the sequence tracker alone fences
   *  epochs older than the newest one written to the topic. */
  clientEpochs?: boolean;
  /** Append before produce() first yields, rather than in the turn's group write: for a caller
   *  that checks its own state and appends in one turn (the Durable Streams adapter). */
  immediate?: boolean;
  /**
   * A transactional produce (producer.transactional): called with the partitions this request
   * writes to, after validation and before anything is appended; resolves once they are part of
   * the open transaction (TransactionCoordinator.join).
   */
  joinTransaction?: (partitions: number[]) => Promise<TxnJoin>;
  /**
   * In a cluster: this request is one leader's share of a request split by leader
   * (http/produce-split.ts), so the request's other shares are on other brokers (or on the one
   * the splitting broker took for their leader): sequences are checked as a leader of part of the
   * topic checks them, and a retry is compared with the stored batches only where it has a share.
   */
  splitShare?: boolean;
}

/** A produce's place in its transaction: see TransactionCoordinator.join. */
export interface TxnJoin {
  /** Called when the appends are done: the transaction cannot end while they run. */
  release: () => void;
  /** Resolves once the join is durable; the answer waits for it as for the records' fsync (same commit round). */
  durable: () => Promise<void>;
}

export interface ProducedRecord {
  partition: number;
  offset: number;
  timestamp: number;
}

/** A topic as the produce path sees it; `sticky` is the keyless partition, moved per request. */
export interface ProduceTarget {
  id: string;
  name: string;
  partitions: Partition[];
  sticky: number;
}

export interface TopicSettings {
  maxRecordBytes: number;
  compression: Compression;
  logAppendTime: boolean;
}

const MAX_TIMESTAMP = 8_640_000_000_000_000;

/** A request's share of one partition: records to encode, or a batch the client encoded. */
interface Share { records: AppendRecord[]; encoded?: EncodedShare; count: number; indexes: number[]; bytes: number }
/** Shares from this size on are written at once rather than gathered (see produce). */
const GROUP_WRITE_MAX_BYTES = 32 * 1024;

export class ProducePath {
  #sequences = new SequenceTracker();
  #checkEpoch: (producer: ProducerRef) => void;
  #memory: MemoryAcks | null;
  #groups = new Map<Partition, Array<{ item: GroupAppend; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }>>();
  #writeScheduled = false;

  constructor(opts: { checkEpoch: (producer: ProducerRef) => void; debugAckFromMemory?: boolean }) {
    this.#checkEpoch = opts.checkEpoch;
    this.#memory = opts.debugAckFromMemory ? new MemoryAcks() : null;
  }

  /**
   * Appends records to a topic: each record goes to its given partition, else by its key
   * (murmur2, as Kafka clients do), else to the topic's sticky partition. Each partition's share
   * is one batch, so it is appended atomically. Answers in request order. With acks=all it
   * resolves only after the batches are fsynced; a failed write or fsync rejects and nothing
   * is acknowledged.
   */
  async produce(target: ProduceTarget, settings: TopicSettings, records: ProduceInput[], options: ProduceOptions): Promise<ProducedRecord[]> {
    const n = target.partitions.length;
    const producer = options.producer;
    const now = Date.now();

    // Route every record; validate everything before anything is written.
    const keyless = keylessPartition(target, producer);
    const shares = new Map<number, Share>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const p = routeRecord(target, r, i, keyless);
      const ts = r.timestamp ?? now;
      const size = checkRecord(target, settings, r, i, ts);
      let share = shares.get(p);
      if (share === undefined) shares.set(p, (share = { records: [], count: 0, indexes: [], bytes: 0 }));
      share.bytes += size;
      share.count++;
      share.records.push({ key: r.key, value: r.value, headers: r.headers, timestamp: ts, attributes: r.attributes });
      share.indexes.push(i);
    }
    if (producer === undefined && n > 1) target.sticky = (target.sticky + 1 + Math.floor(Math.random() * (n - 1))) % n;

    const results = await this.#write(target, settings, shares, options);
    const out: ProducedRecord[] = new Array(records.length);
    for (const [p, share] of shares) {
      const result = results.get(p)!;
      for (let j = 0; j < share.indexes.length; j++) {
        out[share.indexes[j]] = {
          partition: p,
          offset: result.baseOffset + j,
          timestamp: result.logAppendTime >= 0 ? result.logAppendTime : share.records[j].timestamp,
        };
      }
    }
    return out;
  }

  /**
   * Appends batches that a client encoded and storage/batch-check.ts checked (the HTTP binary
   * produce body), one per partition, as they are: the same idempotence, transaction and
   * acks rules as produce(), with the request's producer (whose fields every batch carries).
   * Answers each partition's AppendResult.
   */
  async produceEncoded(target: ProduceTarget, settings: TopicSettings, batches: ReadonlyMap<number, EncodedShare>, options: ProduceOptions): Promise<Map<number, AppendResult>> {
    const shares = new Map<number, Share>();
    for (const [p, encoded] of batches) shares.set(p, { records: [], encoded, count: encoded.count, indexes: [], bytes: encoded.batch.length });
    return this.#write(target, settings, shares, options);
  }

  /** The common part: sequence order, retry check, transaction join, append, fsync for acks=all. */
  async #write(target: ProduceTarget, settings: TopicSettings, shares: Map<number, Share>, options: ProduceOptions): Promise<Map<number, AppendResult>> {
    const producer = options.producer;
    // in a cluster: only the leader appends (a broker that does not lead answers NOT_LEADER before
    // its sequence state is touched: the leader judges sequences), and acks=all needs enough
    // replicas in sync
    for (const p of shares.keys()) target.partitions[p].replica?.checkAppend(options.acks);
    let verdict: 'new' | 'retry' | undefined;
    let gapsAllowed = false;
    if (producer !== undefined) {
      if (options.clientEpochs !== true) this.#checkEpoch(producer);
      // in a cluster a topic whose other partitions other brokers lead: sequences sent to those
      // never reach this broker, so a gap is no sign of a lost request (docs/decisions/0002)
      gapsAllowed = options.splitShare === true || target.partitions.some((p) => p.replica !== null && !p.replica.leads);
      verdict = this.#sequences.begin(target.id, producer.producerId, producer.producerEpoch, producer.sequence, target.partitions, gapsAllowed);
    }
    const appendOptions = { compression: settings.compression, logAppendTime: settings.logAppendTime };
    const out = new Map<number, AppendResult>();
    const flushes: Array<[Partition, number]> = [];
    let wrote = false;
    let join: TxnJoin | undefined;
    try {
      if (producer !== undefined && verdict === 'retry') checkRetry(target, producer, shares, gapsAllowed);
      if (options.joinTransaction !== undefined) join = await options.joinTransaction([...shares.keys()]);
      // acks=0 (nobody waits for the answer), `immediate` and the debug backlog append at once;
      // so does a large share, which a write of its own already amortises, unless appends to its
      // partition wait in this turn's group (they arrived first). The others join the group.
      const now = options.acks === 0 || options.immediate === true || this.#memory !== null;
      const settled = await Promise.allSettled(
        [...shares].map(([p, share]) => {
          const partition = target.partitions[p];
          const item: GroupAppend = { records: share.records, encoded: share.encoded, options: appendOptions, producer };
          if (!now && (share.bytes < GROUP_WRITE_MAX_BYTES || this.#groups.has(partition))) return this.#appendSoon(partition, item);
          try {
            return Promise.resolve(this.#memory !== null && share.encoded === undefined ? this.#memory.append(partition, share.records, appendOptions, producer) : partition.appendGroup([item])[0]);
          } catch (err) {
            return Promise.reject(err);
          }
        }),
      );
      let failure: unknown;
      let i = 0;
      for (const [p, share] of shares) {
        const s = settled[i++];
        if (s.status === 'rejected') {
          failure ??= s.reason;
          continue;
        }
        const result = s.value;
        if (!result.duplicate) wrote = true;
        out.set(p, result);
        flushes.push([target.partitions[p], result.baseOffset + share.count]);
      }
      if (failure !== undefined) throw failure;
      const waits = options.acks === 'all' && this.#memory === null ? flushes.map(([partition, upTo]) => partition.flush(upTo)) : [];
      if (join !== undefined && options.acks !== 0) waits.push(join.durable());
      if (waits.length > 0) await Promise.all(waits);
    } finally {
      join?.release();
      if (producer !== undefined) this.#sequences.release(target.id, producer.producerId, producer.sequence, !wrote && verdict === 'new');
    }
    return out;
  }

  /**
   * Group write: appends that arrive in the same turn of the event loop (the requests read from
   * many connections in one poll) wait for the end of the turn and go to each partition in one
   * write (Partition.appendGroup), in arrival order, instead of one write each. The answer still
   * waits for its write; a failed write fails every request of that partition's group.
   */
  #appendSoon(partition: Partition, item: GroupAppend): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      let group = this.#groups.get(partition);
      if (group === undefined) this.#groups.set(partition, (group = []));
      group.push({ item, resolve, reject });
      if (!this.#writeScheduled) {
        this.#writeScheduled = true;
        setImmediate(this.#writeGroups);
      }
    });
  }

  #writeGroups = (): void => {
    this.#writeScheduled = false;
    const groups = this.#groups;
    this.#groups = new Map();
    for (const [partition, group] of groups) {
      let results: AppendResult[];
      try {
        results = partition.appendGroup(group.map((g) => g.item));
      } catch (err) {
        for (const g of group) g.reject(err);
        continue;
      }
      for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
    }
  };

  /**
   * Forgets the sequence state of a topic's producers that have no request in flight, to derive it
   * again from the partitions' producer tables: on becoming a partition's leader, whose table
   * replication kept current while this broker's sequence state was not.
   */
  forgetIdleProducers(topicId: string): void {
    this.#sequences.forgetTopic(topicId, true);
  }

  forgetTopic(topicId: string): void {
    this.#sequences.forgetTopic(topicId);
  }

  forgetProducer(topicId: string, producerId: number): boolean {
    return this.#sequences.forgetProducer(topicId, producerId);
  }

  /** Writes this turn's groups now; resolves once the debug backlog (if any) is written. */
  drain(): Promise<void> {
    if (this.#writeScheduled) this.#writeGroups();
    return this.#memory?.drain() ?? Promise.resolve();
  }
}

/**
 * The partition of each record, as produce() routes them: its own partition, else by its key
 * (murmur2), else the keyless partition (keylessPartition). Refuses a partition the topic lacks.
 */
export function routeRecords(target: ProduceTarget, records: readonly ProduceInput[], producer: ProducerRef | undefined): number[] {
  const keyless = keylessPartition(target, producer);
  return records.map((r, i) => routeRecord(target, r, i, keyless));
}

/**
 * Where a request's records without key or partition go: for an idempotent producer
 * `(producerId + sequence) mod partitions` (a retry routes them as its first attempt did), else
 * the topic's sticky partition, which in a cluster is one this broker leads, when it leads any.
 */
function keylessPartition(target: ProduceTarget, producer: ProducerRef | undefined): number {
  if (producer !== undefined) return (producer.producerId + producer.sequence) % target.partitions.length;
  if (target.partitions[target.sticky].replica?.leads === false) {
    const led = target.partitions.findIndex((p) => p.replica === null || p.replica.leads);
    if (led >= 0) target.sticky = led;
  }
  return target.sticky;
}

function routeRecord(target: ProduceTarget, r: ProduceInput, i: number, keyless: number): number {
  const n = target.partitions.length;
  if (r.partition !== undefined) {
    if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= n) {
      throw new WebkaError('PARTITION_NOT_FOUND', `records[${i}].partition is ${r.partition}, but topic "${target.name}" has partitions 0 to ${n - 1}`);
    }
    return r.partition;
  }
  return r.key !== null ? partitionForKey(r.key, n) : keyless;
}

/**
 * A retry must be the request it repeats: where a share of that sequence is stored, the retry
 * has a share with as many records (in a cluster, where requests are split by leader: where the
 * retry has a share at all), and it has no share where none was stored unless it is the
 * latest request (which a crash may have cut short: its missing shares are written now). A
 * different body (or a topic whose partition count changed in between, routing keys elsewhere)
 * is refused before anything is written, never answered with offsets of other records.
 */
function checkRetry(target: ProduceTarget, producer: ProducerRef, shares: ReadonlyMap<number, { count: number }>, split: boolean): void {
  const latest = isLatest(target, producer);
  const what = `sequence ${producer.sequence} of producer ${producer.producerId}`;
  for (let p = 0; p < target.partitions.length; p++) {
    // in a cluster, another broker's partitions are its to check (a request split by leader
    // brings each leader only its own shares)
    if (target.partitions[p].replica?.leads === false) continue;
    const cached = target.partitions[p].producers.find(producer.producerId, producer.producerEpoch, producer.sequence);
    const count = shares.get(p)?.count ?? 0;
    // a request split by leader brings its share of this partition to whichever broker the
    // splitting one took for its leader: a share missing here may have gone there
    if (count === 0 && split) continue;
    if (cached === undefined) {
      if (count > 0 && !latest) throw new WebkaError('OUT_OF_ORDER_SEQUENCE', `${what} was never written to partition ${p} and is not the latest request`);
      continue;
    }
    if (cached.count !== count) {
      throw new WebkaError(
        'SEQUENCE_REUSED',
        `${what} was stored with ${cached.count} record(s) on partition ${p}, but this retry has ${count} for it: a retry must repeat its first attempt; send new records with the next sequence`,
        { partition: p, storedRecords: cached.count, retryRecords: count },
      );
    }
  }
}

/** True when sequence is the newest this producer wrote to any partition of the topic. */
function isLatest(target: ProduceTarget, producer: ProducerRef): boolean {
  let last = -1;
  for (const p of target.partitions) {
    const e = p.producers.get(producer.producerId);
    if (e !== undefined && e.epoch === producer.producerEpoch && e.lastSequence > last) last = e.lastSequence;
  }
  return producer.sequence >= last;
}

/** Refuses a record whose timestamp (`ts`) or size the topic does not take; answers its size. */
export function checkRecord(target: Pick<ProduceTarget, 'name'>, settings: TopicSettings, r: ProduceInput, i: number, ts: number): number {
  if (!Number.isInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP) {
    throw new WebkaError('INVALID_TIMESTAMP', `records[${i}].timestamp must be an integer of milliseconds from 0 to ${MAX_TIMESTAMP}`);
  }
  const size = recordSize(r);
  if (size > settings.maxRecordBytes) {
    throw new WebkaError('RECORD_TOO_LARGE', `records[${i}] is about ${size} bytes; topic "${target.name}" accepts at most ${settings.maxRecordBytes} (max.message.bytes)`);
  }
  return size;
}

/** A record's size as stored, close enough to compare with max.message.bytes. */
function recordSize(r: ProduceInput): number {
  let n = 21 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += 10 + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return n;
}

/**
 * DEBUG ONLY, the crash test's negative control (WEBKA_DEBUG_ACK_FROM_MEMORY=1): hands out
 * offsets at once and writes the batch a few milliseconds later, so an acknowledged record can
 * die with the process. Never enabled for real data.
 */
class MemoryAcks {
  #pending: Promise<void> = Promise.resolve();
  #backlog = new Map<Partition, number>();

  append(partition: Partition, records: AppendRecord[], options: { compression: Compression; logAppendTime: boolean }, producer?: ProducerRef): AppendResult {
    const baseOffset = partition.log.nextOffset + this.#add(partition, records.length);
    this.#pending = this.#pending.then(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            try {
              partition.append(records, options, producer);
            } catch {
              // the acknowledged batch is lost: what this switch exists to show
            } finally {
              this.#add(partition, -records.length);
              resolve();
            }
          }, 5),
        ),
    );
    return { baseOffset, logAppendTime: -1, duplicate: false };
  }

  #add(p: Partition, delta: number): number {
    const before = this.#backlog.get(p) ?? 0;
    this.#backlog.set(p, before + delta);
    return before;
  }

  drain(): Promise<void> {
    return this.#pending;
  }
}
