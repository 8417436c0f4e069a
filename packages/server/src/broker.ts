/**
 * The broker core: the catalog, the open partitions, and the produce, fetch and admin operations
 * that every protocol adapter (REST, SSE, WebSocket, Durable Streams) calls. It knows nothing of
 * HTTP. Created by Broker.open(), which loads the catalog and every partition (recovering after
 * an unclean stop) and starts the background flusher and retention; stopped by close(), which
 * flushes everything and leaves the clean-shutdown marker.
 */
import path from 'node:path';
import type { PartitionInfoSchema, Static } from '@webka/protocol';
import { makeDirDurable, nodeFileSystem, restrictDataDir, type FileSystem } from './storage/file-system.js';
import type { LogConfig, LogProbe } from './storage/log.js';
import { stampLogAppendTime, type DecodedRecord } from './storage/record-batch.js';
import { BASE_SEQUENCE, PRODUCER_EPOCH, PRODUCER_ID, readInt64 } from './storage/batch-fields.js';
import { Catalog, type ClusterDefaultsInput } from './catalog/catalog.js';
import type { ClusterProducerIds } from './cluster/cluster-producer-ids.js';
import { FileCatalogStore, type CatalogStore, type ClusterRecord, type TopicRecord } from './catalog/catalog-store.js';
import { DEFAULT_OPEN_SEGMENT_FILES, openFileLimit, partitionBudget } from './limits/partition-budget.js';
import { FdPool } from './storage/fd-pool.js';
import { configValue, effectiveConfigs } from './catalog/topic-config.js';
import { Partition, type AppendResult, type EncodedShare, type Isolation, type ProducerRef } from './partitions/partition.js';
import { ProducePath, checkRecord, routeRecords, type Acks, type ProduceInput, type ProduceOptions, type ProducedRecord, type TopicSettings, type ProduceTarget } from './partitions/produce-path.js';
import { WebkaError } from './errors.js';
import { acquireLock, type DataDirLock } from './storage/data-dir-lock.js';
import { LogCleaner } from './storage/log-cleaner.js';

export interface BrokerOptions {
  dataDir: string;
  fs?: FileSystem;
  catalogStore?: CatalogStore;
  /** Background fsync interval: bounds what a power cut can take from acks=1 writes. */
  flushIntervalMs: number;
  /** How often recovery points are written (shorter: faster recovery, more small writes). */
  checkpointIntervalMs: number;
  retentionCheckIntervalMs: number;
  maxPartitionsPerTopic: number;
  /** Most partitions in total (0: what the open-file limit allows); see limits/partition-budget.ts. */
  maxPartitions?: number;
  /** Most files of closed segments open at once, all partitions together (the fd pool, storage/fd-pool.ts). */
  maxOpenSegmentFiles?: number;
  /** Largest batch (one request's share of a partition) that storage accepts. */
  maxBatchBytes: number;
  /** DEBUG ONLY: answer acks=all before the batch leaves process memory. Exists to prove that
   *  the crash test can see loss (its negative control); never enable it for real data. */
  debugAckFromMemory?: boolean;
  probe?: LogProbe;
  /** Told of every produce and fetch (records and key+value bytes), for per-topic metrics. */
  traffic?: TrafficProbe;
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
}

export interface TrafficProbe {
  produced(cluster: string, topic: string, records: number, bytes: number): void;
  fetched(cluster: string, topic: string, records: number, bytes: number): void;
}

export type { Acks, ProduceInput, ProduceOptions, ProducedRecord } from './partitions/produce-path.js';

export interface FetchRequest {
  offset?: number | 'earliest' | 'latest';
  timestamp?: number;
  maxRecords: number;
  maxBytes: number;
  maxWaitMs: number;
  signal?: AbortSignal;
  /** read_committed stops at the last stable offset and skips aborted transactions (default read_uncommitted). */
  isolation?: Isolation;
}

export interface FetchResult {
  records: DecodedRecord[];
  nextOffset: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

/** A partition as the API describes it (PartitionInfoSchema in @webka/protocol). */
export type PartitionInfo = Static<typeof PartitionInfoSchema>;

/** A topic's open partitions beside its catalog record (which alterTopic replaces). */
class TopicRuntime implements ProduceTarget {
  record: TopicRecord;
  partitions: Partition[];
  sticky: number;

  constructor(record: TopicRecord, partitions: Partition[], sticky: number) {
    this.record = record;
    this.partitions = partitions;
    this.sticky = sticky;
  }

  get id(): string {
    return this.record.id;
  }

  get name(): string {
    return this.record.name;
  }
}

const CLEAN_SHUTDOWN = '.clean-shutdown';

/** Who writes with a producer id (the request's principal). */
export interface ProducerCaller {
  name: string;
  superuser: boolean;
}

/** The answer for a producer id never issued, or issued to another principal (one message for both). */
function producerNotIssued(producerId: number): WebkaError {
  return new WebkaError('PRODUCER_NOT_FOUND', `producer id ${producerId} was not issued by this broker to this principal; obtain one from POST /v1/clusters/{cluster}/producers`);
}

export class Broker {
  readonly catalog: Catalog;
  readonly dataDir: string;
  readonly options: BrokerOptions;
  #fs: FileSystem;
  /** The open descriptors of every partition's closed segments, bounded by maxOpenSegmentFiles. */
  readonly fdPool: FdPool;
  #topics = new Map<string, TopicRuntime>();
  #produce: ProducePath;
  #timers: NodeJS.Timeout[] = [];
  #lock: DataDirLock;
  #closed = false;
  /** In a cluster: the cluster's producer ids (useClusterProducerIds); alone, the catalog issues them. */
  #clusterProducers: ClusterProducerIds | null = null;

  private constructor(options: BrokerOptions, fs: FileSystem, lock: DataDirLock) {
    this.options = options;
    this.dataDir = options.dataDir;
    this.#fs = fs;
    this.#lock = lock;
    const segmentFiles = options.maxOpenSegmentFiles ?? DEFAULT_OPEN_SEGMENT_FILES;
    this.catalog = new Catalog(options.catalogStore ?? new FileCatalogStore(fs, options.dataDir), {
      maxPartitionsPerTopic: options.maxPartitionsPerTopic,
      maxPartitions: partitionBudget(options.maxPartitions ?? 0, openFileLimit(), segmentFiles),
    });
    this.fdPool = new FdPool(segmentFiles);
    this.#produce = new ProducePath({ checkEpoch: (p) => this.#checkProducerEpoch(p), debugAckFromMemory: options.debugAckFromMemory });
  }

  static open(options: BrokerOptions): Broker {
    const fs = options.fs ?? nodeFileSystem;
    makeDirDurable(fs, path.join(options.dataDir, 'logs'));
    if (fs === nodeFileSystem) {
      const was = restrictDataDir(options.dataDir);
      if (was !== null) options.onWarning?.(`the data directory was readable by others (mode ${was.toString(8)}): set to 0700`, { dataDir: options.dataDir });
    }
    const lock = acquireLock(fs, options.dataDir);
    let broker: Broker;
    try {
      broker = new Broker(options, fs, lock);
      broker.catalog.checkPartitionBudget();
    } catch (err) {
      lock.release();
      throw err;
    }
    broker.#load();
    broker.#startTimers();
    return broker;
  }

  #load(): void {
    const marker = path.join(this.dataDir, CLEAN_SHUTDOWN);
    const clean = this.#fs.exists(marker);
    const wanted = new Set<string>();
    for (const t of this.catalog.allTopics()) {
      const partitions: Partition[] = [];
      for (let i = 0; i < t.partitions; i++) {
        wanted.add(`${t.id}-${i}`);
        partitions.push(this.#openPartition(t, i, clean));
      }
      this.#topics.set(t.id, new TopicRuntime(t, partitions, 0));
    }
    // directories of topics whose deletion was interrupted by a crash
    const logs = path.join(this.dataDir, 'logs');
    for (const d of this.#fs.readdir(logs)) {
      if (!wanted.has(d)) this.#fs.rmrf(path.join(logs, d));
    }
    if (clean) {
      this.#fs.unlink(marker);
      this.#fs.syncDir(this.dataDir);
    }
  }

  #logConfig(t: TopicRecord): LogConfig {
    const cluster = this.catalog.getCluster(t.cluster).defaults.configs;
    const num = (k: string): number => Number(configValue(t.configs, cluster, k));
    const policy = String(configValue(t.configs, cluster, 'cleanup.policy'));
    return {
      segmentBytes: num('segment.bytes'),
      segmentMs: num('segment.ms'),
      indexIntervalBytes: num('index.interval.bytes'),
      retentionMs: policy.includes('delete') ? num('retention.ms') : -1,
      retentionBytes: policy.includes('delete') ? num('retention.bytes') : -1,
      maxBatchBytes: Math.max(this.options.maxBatchBytes, num('max.message.bytes')),
    };
  }

  #openPartition(t: TopicRecord, i: number, clean: boolean): Partition {
    const dir = path.join(this.dataDir, 'logs', `${t.id}-${i}`);
    const p = Partition.open(this.#fs, dir, t.id, i, this.#logConfig(t), { clean, probe: this.options.probe, fdPool: this.fdPool });
    if (p.log.offlineReason !== null) this.options.onWarning?.('partition offline', { topic: t.name, partition: i, reason: p.log.offlineReason });
    return p;
  }

  #startTimers(): void {
    const every = (ms: number, fn: () => void): void => {
      if (ms > 0) this.#timers.push(setInterval(fn, ms).unref());
    };
    every(this.options.checkpointIntervalMs, () => this.#checkpoint());
    every(this.options.retentionCheckIntervalMs, () => this.applyRetention(Date.now()));
    every(this.options.retentionCheckIntervalMs, () => void this.compact(Date.now()));
  }

  /**
   * Resolves once every partition's recovered data is fsynced (after an unclean stop the tail
   * past each recovery point may have been only in the page cache), so that readers, and the
   * committed-offsets replay, see the whole log from the first request on. Offline partitions
   * are skipped: they say why when used.
   */
  async ready(): Promise<void> {
    const all: Partition[] = [];
    for (const t of this.#topics.values()) all.push(...t.partitions);
    await Promise.all(all.map((p) => p.flush(p.log.nextOffset).catch(() => undefined)));
  }

  #checkpoint(): void {
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) {
        try {
          p.log.checkpoint();
        } catch (err) {
          this.options.onWarning?.('checkpoint failed', { topic: t.record.name, partition: p.index, error: (err as Error).message });
        }
      }
    }
  }

  /** Runs retention on every partition now (also done on a timer). Returns segments deleted. */
  applyRetention(now: number): number {
    let deleted = 0;
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) {
        try {
          const n = p.log.applyRetention(now);
          if (n > 0) {
            p.producers.dropBefore(p.log.logStartOffset);
            p.txns.dropBefore(p.log.logStartOffset);
          }
          deleted += n;
        } catch (err) {
          this.options.onWarning?.('retention failed', { topic: t.record.name, partition: p.index, error: (err as Error).message });
        }
      }
    }
    return deleted;
  }

  /**
   * Compacts every partition of the topics whose cleanup.policy includes compact (also done on
   * the retention timer). Returns the records removed.
   */
  async compact(now: number): Promise<number> {
    let removed = 0;
    for (const t of [...this.#topics.values()]) {
      const clusterConfigs = this.catalog.listClusters().find((c) => c.name === t.record.cluster)?.defaults.configs;
      if (clusterConfigs === undefined) continue;
      const setting = (k: string): string | number => configValue(t.record.configs, clusterConfigs, k);
      if (!String(setting('cleanup.policy')).includes('compact')) continue;
      const opts = { now, deleteRetentionMs: Number(setting('delete.retention.ms')), minCompactionLagMs: Number(setting('min.compaction.lag.ms')) };
      for (const p of t.partitions) {
        try {
          removed += (await this.#cleaner.clean(p.log, opts)).recordsRemoved;
        } catch (err) {
          this.options.onWarning?.('compaction failed', { topic: t.record.name, partition: p.index, error: (err as Error).message });
        }
      }
    }
    return removed;
  }

  #cleaner = new LogCleaner();

  // ---- clusters

  listClusters(): ClusterRecord[] {
    return this.catalog.listClusters();
  }

  createCluster(name: unknown, description: unknown, defaults?: ClusterDefaultsInput): ClusterRecord {
    return this.catalog.createCluster(name, description, defaults);
  }

  updateCluster(name: string, description: unknown, defaults?: ClusterDefaultsInput): ClusterRecord {
    const c = this.catalog.updateCluster(name, description, defaults);
    for (const t of this.#topics.values()) if (t.record.cluster === name) this.#reconfigure(t);
    return c;
  }

  deleteCluster(name: string): void {
    const internal = this.catalog.listTopics(name).filter((t) => t.internal);
    this.catalog.deleteCluster(name);
    for (const t of internal) void this.#dropTopic(t);
  }

  // ---- topics

  /** Creates a topic and opens its partitions; `defined` gives a cluster-defined topic's id and creation time. */
  createTopic(cluster: string, input: { name?: unknown; partitions?: unknown; replicationFactor?: unknown; configs?: unknown }, internal = false, defined?: { id: string; createdAt: number }): TopicRecord {
    this.#checkOpen();
    // All or nothing: the catalog is saved only once every partition's files are open; should one
    // fail (EMFILE, ENOSPC), the catalog keeps its state before and the partitions made go again.
    const partitions: Partition[] = [];
    let made: TopicRecord | undefined;
    let record: TopicRecord;
    try {
      record = this.catalog.atomically(() => {
        made = this.catalog.createTopic(cluster, input, internal, defined);
        for (let i = 0; i < made.partitions; i++) partitions.push(this.#openPartition(made, i, true));
        return made;
      });
    } catch (err) {
      for (const p of partitions) p.delete().catch(() => undefined);
      // the partition whose files failed may have left its directory
      if (made !== undefined && partitions.length < made.partitions) {
        try {
          this.#fs.rmrf(path.join(this.dataDir, 'logs', `${made.id}-${partitions.length}`));
        } catch {
          // left for the start-up sweep of directories no topic owns
        }
      }
      throw err;
    }
    this.#topics.set(record.id, new TopicRuntime(record, partitions, Math.floor(Math.random() * record.partitions)));
    this.#emitTopicsChanged(cluster);
    return record;
  }

  listTopics(cluster: string): TopicRecord[] {
    return this.catalog.listTopics(cluster);
  }

  #runtime(cluster: string, topic: string): TopicRuntime {
    const record = this.catalog.getTopic(cluster, topic);
    const rt = this.#topics.get(record.id);
    if (rt === undefined) throw new WebkaError('TOPIC_NOT_FOUND', `topic "${topic}" does not exist in cluster "${cluster}"`);
    return rt;
  }

  /** Resolves a topic's runtime by name, or undefined (used by watchers of topics that may appear). */
  topicPartitions(cluster: string, topic: string): readonly Partition[] {
    return this.#runtime(cluster, topic).partitions;
  }

  describeTopic(cluster: string, topic: string): { topic: TopicRecord; configs: ReturnType<typeof effectiveConfigs>; partitions: PartitionInfo[] } {
    const rt = this.#runtime(cluster, topic);
    const clusterConfigs = this.catalog.getCluster(cluster).defaults.configs;
    return {
      topic: rt.record,
      configs: effectiveConfigs(rt.record.configs, clusterConfigs),
      partitions: rt.partitions.map((p) => partitionInfo(p)),
    };
  }

  alterTopic(cluster: string, topic: string, changes: { partitions?: unknown; configs?: unknown }): TopicRecord {
    this.#checkOpen();
    const rt = this.#runtime(cluster, topic);
    const { after } = this.catalog.alterTopic(cluster, topic, changes);
    rt.record = after;
    const before = rt.partitions.length;
    for (let i = rt.partitions.length; i < after.partitions; i++) rt.partitions.push(this.#openPartition(after, i, true));
    this.#reconfigure(rt);
    if (rt.partitions.length > before) this.#emitTopicsChanged(cluster);
    return after;
  }

  #topicsChanged = new Set<(cluster: string) => void>();
  /**
   * Calls fn(cluster) after a topic of that cluster is created, deleted or gains partitions (the
   * group coordinator rebalances pattern and topic subscriptions on it). Returns an unsubscribe.
   */
  onTopicsChanged(fn: (cluster: string) => void): () => void {
    this.#topicsChanged.add(fn);
    return () => this.#topicsChanged.delete(fn);
  }

  #emitTopicsChanged(cluster: string): void {
    for (const fn of this.#topicsChanged) {
      try {
        fn(cluster);
      } catch (err) {
        this.options.onWarning?.('topic change listener failed', { cluster, error: (err as Error).message });
      }
    }
  }

  #reconfigure(rt: TopicRuntime): void {
    rt.record = this.catalog.allTopics().find((t) => t.id === rt.record.id) ?? rt.record;
    const config = this.#logConfig(rt.record);
    for (const p of rt.partitions) p.log.config = config;
  }

  async deleteTopic(cluster: string, topic: string): Promise<void> {
    let record: TopicRecord;
    try {
      record = this.catalog.deleteTopic(cluster, topic);
    } catch (err) {
      if (!(err instanceof WebkaError) || err.code !== 'STORAGE_ERROR') throw err;
      // A full disk cannot take the new catalog, yet deleting a topic is how space is freed:
      // drop the data first, then record the deletion. Should that still fail, the topic stays
      // listed, empty, until it is deleted again.
      await this.#dropTopic(this.catalog.getTopic(cluster, topic));
      record = this.catalog.deleteTopic(cluster, topic);
    }
    await this.#dropTopic(record);
  }

  async #dropTopic(record: TopicRecord): Promise<void> {
    const rt = this.#topics.get(record.id);
    this.#topics.delete(record.id);
    this.#produce.forgetTopic(record.id);
    this.#emitTopicsChanged(record.cluster);
    if (rt !== undefined) await Promise.all(rt.partitions.map((p) => p.delete()));
  }

  /** A partition by its topic's id (the replica manager's view), or undefined. */
  partitionById(topicId: string, index: number): Partition | undefined {
    return this.#topics.get(topicId)?.partitions[index];
  }

  partition(cluster: string, topic: string, index: number): Partition {
    const rt = this.#runtime(cluster, topic);
    if (!Number.isInteger(index) || index < 0 || index >= rt.partitions.length) {
      throw new WebkaError('PARTITION_NOT_FOUND', `topic "${topic}" has partitions 0 to ${rt.partitions.length - 1}; there is no partition ${index}`);
    }
    return rt.partitions[index];
  }

  // ---- produce

  /**
   * Forgets an idempotent producer's sequence state for a topic (Durable Streams producer state
   * that expired); false, forgetting nothing, while a request of it is in flight.
   */
  forgetProducer(topicId: string, producerId: number): boolean {
    return this.#produce.forgetProducer(topicId, producerId);
  }

  /**
   * Appends records to a topic (see ProducePath.produce: routing, validation, idempotence, one
   * atomic batch per partition, fsync before answering under acks=all).
   */
  async produce(cluster: string, topic: string, records: ProduceInput[], options: ProduceOptions & { caller?: ProducerCaller }): Promise<ProducedRecord[]> {
    this.#checkOpen();
    if (options.producer !== undefined && options.clientEpochs !== true) await this.#knowProducer(options.producer.producerId, options.producer.producerEpoch);
    // a transactional produce is checked by its transaction (the id's principal, its producer)
    if (options.producer !== undefined && options.joinTransaction === undefined) this.checkProducerOwner(options.producer.producerId, options.caller);
    const rt = this.#runtime(cluster, topic);
    const out = await this.#produce.produce(rt, this.#settings(cluster, rt), records, options);
    if (this.options.traffic !== undefined) {
      let bytes = 0;
      for (const r of records) bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
      this.options.traffic.produced(cluster, topic, records.length, bytes);
    }
    return out;
  }

  #settings(cluster: string, rt: TopicRuntime): TopicSettings {
    const clusterConfigs = this.catalog.getCluster(cluster).defaults.configs;
    return {
      maxRecordBytes: Number(configValue(rt.record.configs, clusterConfigs, 'max.message.bytes')),
      compression: configValue(rt.record.configs, clusterConfigs, 'compression.type') === 'gzip' ? 'gzip' : 'none',
      logAppendTime: configValue(rt.record.configs, clusterConfigs, 'message.timestamp.type') === 'LogAppendTime',
    };
  }

  /** In a cluster, to split a request by leader: the partition of each record, as produce() routes them. */
  routeRecords(cluster: string, topic: string, records: readonly ProduceInput[], producer: ProducerRef | undefined): number[] {
    return routeRecords(this.#runtime(cluster, topic), records, producer);
  }

  /** The checks produce() makes of every record (timestamp, size), without writing anything. */
  checkRecords(cluster: string, topic: string, records: readonly ProduceInput[], now: number): void {
    const rt = this.#runtime(cluster, topic);
    const settings = this.#settings(cluster, rt);
    for (let i = 0; i < records.length; i++) checkRecord(rt, settings, records[i], i, records[i].timestamp ?? now);
  }

  /** Refuses a binary produce body's batch for a partition the topic lacks, or with a record above max.message.bytes. */
  checkEncoded(cluster: string, topic: string, batches: ReadonlyMap<number, { largestRecord: number }>): void {
    const rt = this.#runtime(cluster, topic);
    const { maxRecordBytes } = this.#settings(cluster, rt);
    const n = rt.partitions.length;
    for (const [p, b] of batches) {
      if (p < 0 || p >= n) throw new WebkaError('PARTITION_NOT_FOUND', `the body has a batch for partition ${p}, but topic "${topic}" has partitions 0 to ${n - 1}`);
      if (b.largestRecord > maxRecordBytes) {
        throw new WebkaError('RECORD_TOO_LARGE', `partition ${p}'s batch has a record of ${b.largestRecord} bytes; topic "${topic}" accepts at most ${maxRecordBytes} (max.message.bytes)`);
      }
    }
  }

  /**
   * Appends batches a client encoded, one per partition (the HTTP binary produce body, checked
   * by storage/batch-check.ts), as their bytes are: the same producer ownership, epoch, sequence,
   * transaction and acks rules as produce(), and each record within the topic's
   * max.message.bytes. Answers each partition's base offset (and LogAppendTime, else -1).
   */
  async produceEncoded(cluster: string, topic: string, batches: ReadonlyMap<number, EncodedShare & { largestRecord: number }>, options: ProduceOptions & { caller?: ProducerCaller }): Promise<Map<number, AppendResult>> {
    this.#checkOpen();
    if (options.producer !== undefined && options.clientEpochs !== true) await this.#knowProducer(options.producer.producerId, options.producer.producerEpoch);
    if (options.producer !== undefined && options.joinTransaction === undefined) this.checkProducerOwner(options.producer.producerId, options.caller);
    const rt = this.#runtime(cluster, topic);
    const settings = { ...this.#settings(cluster, rt), compression: 'none' as const };
    this.checkEncoded(cluster, topic, batches);
    let records = 0;
    let bytes = 0;
    for (const b of batches.values()) {
      records += b.count;
      bytes += b.batch.length;
    }
    const out = await this.#produce.produceEncoded(rt, settings, batches, options);
    this.options.traffic?.produced(cluster, topic, records, bytes);
    return out;
  }

  /**
   * Appends a batch that a client encoded (the Kafka listener's Produce, which has validated its
   * CRC and records) to one partition, as it is: the log assigns its base offset, a topic under
   * LogAppendTime stamps its time. Idempotent batches must carry an epoch the catalog issued.
   * A transactional batch needs `transactional`: its transaction has joined the partition
   * (TransactionCoordinator.join). With acks=all, resolves once the batch is fsynced.
   */
  async appendEncoded(cluster: string, topic: string, partition: number, batch: Buffer, recordCount: number, acks: Acks, caller?: ProducerCaller, transactional = false): Promise<{ baseOffset: number; logAppendTime: number; logStartOffset: number }> {
    this.#checkOpen();
    const rt = this.#runtime(cluster, topic);
    const p = this.partition(cluster, topic, partition);
    const clusterConfigs = this.catalog.getCluster(cluster).defaults.configs;
    const maxBytes = Number(configValue(rt.record.configs, clusterConfigs, 'max.message.bytes'));
    if (batch.length > maxBytes) {
      throw new WebkaError('RECORD_TOO_LARGE', `a batch of ${batch.length} bytes; topic "${topic}" accepts at most ${maxBytes} (max.message.bytes)`);
    }
    const producerId = readInt64(batch, PRODUCER_ID);
    if (producerId >= 0) await this.#knowProducer(producerId, batch.readInt16BE(PRODUCER_EPOCH));
    if (producerId >= 0) this.checkProducerOwner(producerId, caller);
    if (producerId >= 0) this.#checkProducerEpoch({ producerId, producerEpoch: batch.readInt16BE(PRODUCER_EPOCH), sequence: batch.readInt32BE(BASE_SEQUENCE) });
    if (configValue(rt.record.configs, clusterConfigs, 'message.timestamp.type') === 'LogAppendTime') stampLogAppendTime(batch, Date.now());
    p.replica?.checkAppend(acks);
    const result = p.appendEncoded(batch, transactional);
    // a retry waits for its first attempt's durability too
    if (acks === 'all') await p.flush(result.baseOffset + recordCount);
    this.options.traffic?.produced(cluster, topic, recordCount, batch.length);
    return { baseOffset: result.baseOffset, logAppendTime: result.logAppendTime, logStartOffset: p.log.logStartOffset };
  }

  /** In a cluster, waits until what this broker knows of a producer id is current enough to judge a batch of `epoch`. */
  async #knowProducer(producerId: number, epoch: number): Promise<void> {
    const pending = this.#clusterProducers?.ensure(producerId, epoch);
    if (pending !== undefined) await pending;
  }

  #checkProducerEpoch(producer: ProducerRef): void {
    const current = this.#clusterProducers !== null ? this.#clusterProducers.epoch(producer.producerId) : this.catalog.producerEpoch(producer.producerId);
    if (current === undefined) throw producerNotIssued(producer.producerId);
    if (producer.producerEpoch < current) {
      throw new WebkaError('PRODUCER_FENCED', `producer ${producer.producerId} epoch ${producer.producerEpoch} is fenced: epoch ${current} is current`, { producerEpoch: current });
    }
    if (producer.producerEpoch > current) {
      throw new WebkaError('PRODUCER_FENCED', `producer ${producer.producerId} has no epoch ${producer.producerEpoch} (current: ${current})`, { producerEpoch: current });
    }
  }

  /**
   * A producer id (and epoch); with owner, only that principal may write with it (checkProducerOwner).
   * In a cluster the id is the cluster's (cluster/cluster-producer-ids.ts).
   */
  async allocateProducer(cluster: string, name?: string, owner?: string): Promise<{ producerId: number; producerEpoch: number }> {
    this.catalog.getCluster(cluster);
    const key = name === undefined ? undefined : `${cluster}/${name}`;
    if (this.#clusterProducers !== null) return this.#clusterProducers.allocate(key, owner);
    return this.catalog.allocateProducer(key, owner);
  }

  /**
   * In a cluster, when this broker becomes a leader of one of the topic's partitions: its
   * producers' sequences are judged again from the partitions' producer tables (which replication
   * kept current), not from what this broker saw while it did not lead.
   */
  leadershipGained(topicId: string): void {
    this.#produce.forgetIdleProducers(topicId);
  }

  /** From now on producer ids, epochs and owners are the cluster's (called once, on joining it, before serving). */
  useClusterProducerIds(ids: ClusterProducerIds): void {
    this.#clusterProducers = ids;
  }

  /**
   * Refuses a producer id issued to another principal exactly as one never issued (a superuser
   * may act for others, as with transactional ids). Checked before anything is validated or
   * written, so the owner's sequence state is never touched (docs/security.md, "Ownership").
   */
  checkProducerOwner(producerId: number, caller: ProducerCaller | undefined): void {
    if (caller === undefined || caller.superuser) return;
    const owner = this.#clusterProducers !== null ? this.#clusterProducers.owner(producerId) : this.catalog.producerOwner(producerId);
    if (owner !== undefined && owner !== caller.name) throw producerNotIssued(producerId);
  }

  // ---- fetch

  /** Resolves offset aliases and timestamps to an offset of the partition. */
  resolveOffset(p: Partition, req: Pick<FetchRequest, 'offset' | 'timestamp'>): number {
    if (req.timestamp !== undefined) return this.#offsetForTimestamp(p, req.timestamp);
    if (req.offset === undefined || req.offset === 'earliest') return p.log.logStartOffset;
    if (req.offset === 'latest') return p.log.highWatermark;
    return req.offset;
  }

  /**
   * Reads from one partition. When nothing is available at the offset and maxWaitMs > 0, waits
   * for an append (woken by it, not by a timer) until maxWaitMs passes or signal aborts.
   */
  async fetch(cluster: string, topic: string, partition: number, req: FetchRequest): Promise<FetchResult> {
    const p = this.partition(cluster, topic, partition);
    const offset = this.resolveOffset(p, req);
    const opts = { maxRecords: req.maxRecords, maxBytes: req.maxBytes, isolation: req.isolation };
    let result = this.#readPast(p, offset, opts);
    if (result.records.length === 0 && req.maxWaitMs > 0 && result.nextOffset >= p.readableEnd(req.isolation)) {
      await p.waitForData(result.nextOffset, req.maxWaitMs, req.signal, req.isolation);
      if (!p.closed) result = this.#readPast(p, result.nextOffset, opts);
    }
    if (this.options.traffic !== undefined && result.records.length > 0) {
      let bytes = 0;
      for (const r of result.records) bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
      this.options.traffic.fetched(cluster, topic, result.records.length, bytes);
    }
    return result;
  }

  /**
   * Reads from offset; a read that found only markers or aborted records (no records, yet
   * progress) reads on from where it stopped, up to the readable end, so that a caller gets
   * records or reaches the end rather than looping over empty answers.
   */
  #readPast(p: Partition, offset: number, opts: { maxRecords: number; maxBytes: number; isolation?: Isolation }): FetchResult {
    let result = p.read(offset, opts);
    while (result.records.length === 0 && result.nextOffset > offset && result.nextOffset < p.readableEnd(opts.isolation)) {
      offset = result.nextOffset;
      result = p.read(offset, opts);
    }
    return result;
  }

  /**
   * Kafka's ListOffsets for a time: the first record whose timestamp is at or after it. Storage
   * finds the batch (by its max timestamp); the record is found by reading that one batch.
   */
  #offsetForTimestamp(p: Partition, timestamp: number): number {
    const batchOffset = p.log.offsetForTimestamp(timestamp);
    if (batchOffset >= p.log.highWatermark) return batchOffset;
    const { records } = p.read(batchOffset, { maxRecords: Number.MAX_SAFE_INTEGER, maxBytes: 1 });
    for (const r of records) if (r.offset >= batchOffset && r.timestamp >= timestamp) return r.offset;
    return batchOffset;
  }

  listOffsets(cluster: string, topic: string, partition: number, timestamp?: number): { earliest: number; latest: number; offsetForTimestamp?: number } {
    const p = this.partition(cluster, topic, partition);
    const out: { earliest: number; latest: number; offsetForTimestamp?: number } = { earliest: p.log.logStartOffset, latest: p.log.highWatermark };
    if (timestamp !== undefined) out.offsetForTimestamp = this.#offsetForTimestamp(p, timestamp);
    return out;
  }

  /** Partitions that are offline, with the reason (for /ready and operators). */
  offlinePartitions(): Array<{ cluster: string; topic: string; partition: number; reason: string }> {
    const out: Array<{ cluster: string; topic: string; partition: number; reason: string }> = [];
    for (const t of this.#topics.values()) {
      for (const p of t.partitions) {
        const reason = p.log.offlineReason;
        if (reason !== null) out.push({ cluster: t.record.cluster, topic: t.record.name, partition: p.index, reason });
      }
    }
    return out;
  }

  // ---- lifecycle

  get closed(): boolean {
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closed) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
  }

  /** Flushes and closes every partition, then leaves the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#produce.drain();
    const all: Partition[] = [];
    for (const t of this.#topics.values()) all.push(...t.partitions);
    await Promise.all(all.map((p) => p.close()));
    const anyOffline = all.some((p) => p.log.offlineReason !== null);
    if (!anyOffline) {
      try {
        this.#fs.writeFileAtomic(path.join(this.dataDir, CLEAN_SHUTDOWN), new Date().toISOString());
      } catch (err) {
        // A full disk, say: without the marker the next start scans the logs, which is safe.
        this.options.onWarning?.('could not leave the clean-shutdown marker; the next start will run recovery', { error: (err as Error).message });
      }
    }
    this.#lock.release();
  }
}

function partitionInfo(p: Partition): PartitionInfo {
  return {
    partition: p.index,
    leader: 0,
    leaderEpoch: 0,
    replicas: [0],
    isr: [0],
    logStartOffset: p.log.logStartOffset,
    highWatermark: p.log.highWatermark,
    logEndOffset: p.log.nextOffset,
    sizeBytes: p.log.sizeBytes,
    segments: p.log.segmentCount,
    offline: p.log.offlineReason,
  };
}
