/**
 * Committed offsets: records in the internal compacted topic `__consumer_offsets` of each cluster
 * (DESIGN decision 6), replayed into memory when the coordinator starts. The latest record of a
 * key is the committed offset; a tombstone (null value) deletes it, and compaction drops what
 * later records superseded. Commits are appended as one batch (one group's keys all hash to one
 * partition) and answered once fsynced (acks=all).
 *
 * Record format: Kafka's own (OffsetCommitKey v1, OffsetCommitValue v3), so that the planned
 * Kafka-protocol listener can serve these records as they are. Integers big-endian; a string is
 * an int16 byte length and UTF-8 bytes (length -1: null).
 *   key:   version int16 = 1 | group string | topic string | partition int32
 *   value: version int16 = 3 | offset int64 | leaderEpoch int32 (-1: unknown) |
 *          metadata string | commitTimestamp int64 (ms)
 * Records with other key versions (Kafka's group metadata, version 2) are skipped on replay.
 * A group's partition is Java's String.hashCode of the group id, made non-negative, modulo the
 * partition count, as Kafka computes it; Webka's topic has 8 partitions where Kafka has 50.
 *
 * Memory follows the disk: the in-memory map changes only once a commit's batch is fsynced, and
 * the commit answers then, so a failed fsync (which takes the partition offline) leaves memory
 * as the disk has it and an identical commit after it is written again, not skipped. Commits of
 * one group are answered in the order they were appended (their fsyncs complete in that order).
 *
 * Each `__consumer_offsets` partition is replayed on its own: one that is offline or holds a
 * damaged batch is recorded as unavailable, the groups that hash to it answer PARTITION_OFFLINE
 * with the reason, and every other group (and the rest of the broker) carries on.
 */
import type { Broker } from '../broker.js';
import type { Partition } from '../partitions/partition.js';
import { WebkaError } from '../errors.js';
import { tpKey } from './assignor.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
export const OFFSETS_TOPIC_PARTITIONS = 8;
export const OFFSETS_TOPIC_CONFIGS = { 'cleanup.policy': 'compact', 'segment.bytes': 104_857_600 };
const KEY_VERSION = 1;
const VALUE_VERSION = 3;
const REPLAY_BYTES = 4 << 20;

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface OffsetCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

type GroupOffsets = Map<string, CommittedOffset>;

export class OffsetStore {
  #broker: Broker;
  /** cluster -> group -> tpKey -> committed offset */
  #clusters = new Map<string, Map<string, GroupOffsets>>();
  /** cluster -> offsets partition -> why its groups' offsets cannot be served */
  #unavailable = new Map<string, Map<number, string>>();
  /** `<cluster>/<offsets partition>` -> the reload under way after this broker became its leader */
  #loading = new Map<string, Promise<void>>();
  /** Each committed offset held in memory -> the offset of its record in `__consumer_offsets` (writtenAt). */
  readonly #at = new WeakMap<CommittedOffset, number>();
  readonly #remember = (value: CommittedOffset, at: number): void => void this.#at.set(value, at);
  /**
   * In a cluster `__consumer_offsets` is a replicated topic that the controller defines (the
   * caller makes sure it exists before a group call reaches this store), never a local one.
   */
  clustered = false;

  constructor(broker: Broker) {
    this.#broker = broker;
    for (const c of broker.listClusters()) this.#cluster(c.name);
  }

  /** The cluster's offsets, replaying its `__consumer_offsets` the first time. */
  #cluster(cluster: string): Map<string, GroupOffsets> {
    let groups = this.#clusters.get(cluster);
    if (groups !== undefined) return groups;
    groups = new Map();
    const unavailable = new Map<number, string>();
    if (this.#broker.catalog.findTopic(cluster, OFFSETS_TOPIC) !== undefined) {
      for (const p of this.#broker.topicPartitions(cluster, OFFSETS_TOPIC)) {
        // replayed into a map of its own, so that a damaged partition adds nothing half-read
        const mine = new Map<string, GroupOffsets>();
        try {
          replay(p, mine, this.#remember);
        } catch (err) {
          const reason = `${OFFSETS_TOPIC} partition ${p.index} of cluster "${cluster}" cannot be read: ${(err as Error).message}`;
          unavailable.set(p.index, reason);
          this.#broker.options.onWarning?.('committed offsets unavailable', { cluster, partition: p.index, reason });
          continue;
        }
        for (const [g, offsets] of mine) groups.set(g, offsets);
      }
    }
    this.#clusters.set(cluster, groups);
    this.#unavailable.set(cluster, unavailable);
    return groups;
  }

  /** The cluster's offsets for one group, or PARTITION_OFFLINE when its partition could not be read. */
  #groupOffsets(cluster: string, group: string): GroupOffsets | undefined {
    const groups = this.#cluster(cluster);
    const unavailable = this.#unavailable.get(cluster);
    if (unavailable !== undefined && unavailable.size > 0) {
      const reason = unavailable.get(groupPartition(group, OFFSETS_TOPIC_PARTITIONS));
      if (reason !== undefined) {
        throw new WebkaError('PARTITION_OFFLINE', `the committed offsets of group "${group}" cannot be served: ${reason}`);
      }
    }
    return groups.get(group);
  }

  /**
   * Reads one offsets partition again into memory, replacing what this store held of its groups:
   * called when this broker becomes the partition's leader (and so its groups' coordinator).
   * Waits until everything in the new leader's log is committed (no record it replays can be
   * taken back), then replays up to the high watermark. Group calls wait for it (ready()).
   */
  reload(cluster: string, index: number): Promise<void> {
    const key = `${cluster}/${index}`;
    const previous = this.#loading.get(key) ?? Promise.resolve();
    const run = previous.then(async () => {
      const p = this.#broker.topicPartitions(cluster, OFFSETS_TOPIC)[index];
      if (p === undefined) return;
      await p.flush(p.log.nextOffset);
      const groups = this.#cluster(cluster);
      const mine = new Map<string, GroupOffsets>();
      try {
        replay(p, mine, this.#remember);
        this.#unavailable.get(cluster)?.delete(index);
      } catch (err) {
        const reason = `${OFFSETS_TOPIC} partition ${index} of cluster "${cluster}" cannot be read: ${(err as Error).message}`;
        this.#unavailable.get(cluster)?.set(index, reason);
        this.#broker.options.onWarning?.('committed offsets unavailable', { cluster, partition: index, reason });
        return;
      }
      for (const g of [...groups.keys()]) if (groupPartition(g, OFFSETS_TOPIC_PARTITIONS) === index) groups.delete(g);
      for (const [g, offsets] of mine) groups.set(g, offsets);
    });
    const settled = run.catch((err: unknown) => {
      this.#broker.options.onWarning?.('reloading committed offsets failed (the partition moved again?)', { cluster, partition: index, error: (err as Error).message });
    });
    this.#loading.set(key, settled);
    void settled.then(() => {
      if (this.#loading.get(key) === settled) this.#loading.delete(key);
    });
    return settled;
  }

  /** Resolves once the group's offsets partition is not being reloaded. */
  async ready(cluster: string, group: string): Promise<void> {
    await this.#loading.get(`${cluster}/${groupPartition(group, OFFSETS_TOPIC_PARTITIONS)}`);
  }

  /** Drops what is known of a cluster (it was deleted, with its internal topics). */
  forgetCluster(cluster: string): void {
    this.#clusters.delete(cluster);
    this.#unavailable.delete(cluster);
  }

  get(cluster: string, group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groupOffsets(cluster, group)?.get(tpKey(topic, partition));
  }

  /**
   * Where the record of the group's committed offset for a partition sits in its
   * `__consumer_offsets` partition (undefined when nothing is committed): compared with logEnd()
   * taken earlier, it says whether a commit was written since.
   */
  writtenAt(cluster: string, group: string, topic: string, partition: number): number | undefined {
    const v = this.get(cluster, group, topic, partition);
    return v === undefined ? undefined : this.#at.get(v);
  }

  /** The end of the group's `__consumer_offsets` partition: the next commit's record goes there or later. */
  logEnd(cluster: string, group: string): number {
    return this.#partitionFor(cluster, group).log.nextOffset;
  }

  list(cluster: string, group: string): CommittedOffset[] {
    return [...(this.#groupOffsets(cluster, group)?.values() ?? [])].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  groups(cluster: string): string[] {
    return [...this.#cluster(cluster).keys()];
  }

  /**
   * Appends the commits as one batch; once it is fsynced, memory takes the new offsets and the
   * promise resolves. Every failure (the append's too) is a rejection.
   */
  async commit(cluster: string, group: string, offsets: readonly OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return Promise.resolve();
    const now = Date.now();
    return this.#append(
      cluster,
      group,
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, value: { topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null, commitTimestamp: now } })),
    );
  }

  /** Deletes every committed offset of the group (tombstones). */
  async deleteGroup(cluster: string, group: string): Promise<void> {
    return this.#append(cluster, group, this.list(cluster, group).map((o) => ({ topic: o.topic, partition: o.partition, value: null })));
  }

  async #append(cluster: string, group: string, entries: Array<{ topic: string; partition: number; value: CommittedOffset | null }>): Promise<void> {
    if (entries.length === 0) return;
    this.#groupOffsets(cluster, group);
    const partition = this.#partitionFor(cluster, group);
    // in a cluster only the partition's leader (the group's coordinator) writes it
    partition.replica?.checkAppend('all');
    const now = Date.now();
    const records = entries.map((e) => ({ key: encodeKey(group, e.topic, e.partition), value: e.value === null ? null : encodeValue(e.value), headers: [], timestamp: now }));
    const { baseOffset } = partition.append(records, { compression: 'none', logAppendTime: false });
    await partition.flush(baseOffset + records.length);
    const groups = this.#cluster(cluster);
    let offsets = groups.get(group);
    if (offsets === undefined) groups.set(group, (offsets = new Map()));
    entries.forEach((e, i) => {
      if (e.value === null) offsets.delete(tpKey(e.topic, e.partition));
      else {
        offsets.set(tpKey(e.topic, e.partition), e.value);
        this.#at.set(e.value, baseOffset + i);
      }
    });
    if (offsets.size === 0) groups.delete(group);
  }

  #partitionFor(cluster: string, group: string): Partition {
    if (this.#broker.catalog.findTopic(cluster, OFFSETS_TOPIC) === undefined) {
      if (this.clustered) throw new WebkaError('NOT_COORDINATOR', `the cluster's ${OFFSETS_TOPIC} topic has not reached this broker yet; retry in a moment`);
      this.#broker.createTopic(cluster, { name: OFFSETS_TOPIC, partitions: OFFSETS_TOPIC_PARTITIONS, configs: OFFSETS_TOPIC_CONFIGS }, true);
    }
    const partitions = this.#broker.topicPartitions(cluster, OFFSETS_TOPIC);
    return partitions[groupPartition(group, partitions.length)];
  }
}

/** Kafka's choice: abs(groupId.hashCode()) % partitions, with Java's String.hashCode. */
export function groupPartition(group: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < group.length; i++) h = (Math.imul(31, h) + group.charCodeAt(i)) | 0;
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

function replay(p: Partition, groups: Map<string, GroupOffsets>, at: (value: CommittedOffset, offset: number) => void): void {
  let offset = p.log.logStartOffset;
  while (offset < p.log.highWatermark) {
    const r = p.read(offset, { maxRecords: 100_000, maxBytes: REPLAY_BYTES });
    for (const rec of r.records) {
      if (rec.key === null) continue;
      const key = decodeKey(rec.key);
      if (key === null) continue;
      let offsets = groups.get(key.group);
      if (rec.value === null) {
        offsets?.delete(tpKey(key.topic, key.partition));
        if (offsets?.size === 0) groups.delete(key.group);
        continue;
      }
      const value = decodeValue(rec.value);
      if (value === null) continue;
      if (offsets === undefined) groups.set(key.group, (offsets = new Map()));
      const committed = { topic: key.topic, partition: key.partition, ...value };
      offsets.set(tpKey(key.topic, key.partition), committed);
      at(committed, rec.offset);
    }
    if (r.nextOffset <= offset) break;
    offset = r.nextOffset;
  }
}

// ---- the byte format (see the file comment)

function stringSize(s: string | null): number {
  return 2 + (s === null ? 0 : Buffer.byteLength(s, 'utf8'));
}

function writeString(buf: Buffer, s: string | null, pos: number): number {
  if (s === null) {
    buf.writeInt16BE(-1, pos);
    return pos + 2;
  }
  const n = buf.write(s, pos + 2, 'utf8');
  buf.writeInt16BE(n, pos);
  return pos + 2 + n;
}

function readString(buf: Buffer, at: { pos: number }): string | null {
  const n = buf.readInt16BE(at.pos);
  at.pos += 2;
  if (n < 0) return null;
  if (at.pos + n > buf.length) throw new RangeError('string runs past the record');
  const s = buf.toString('utf8', at.pos, at.pos + n);
  at.pos += n;
  return s;
}

function writeInt64(buf: Buffer, v: number, pos: number): number {
  buf.writeBigInt64BE(BigInt(v), pos);
  return pos + 8;
}

export function encodeKey(group: string, topic: string, partition: number): Buffer {
  const buf = Buffer.alloc(2 + stringSize(group) + stringSize(topic) + 4);
  buf.writeInt16BE(KEY_VERSION, 0);
  let pos = writeString(buf, group, 2);
  pos = writeString(buf, topic, pos);
  buf.writeInt32BE(partition, pos);
  return buf;
}

export function decodeKey(buf: Buffer): { group: string; topic: string; partition: number } | null {
  try {
    if (buf.readInt16BE(0) !== KEY_VERSION) return null;
    const at = { pos: 2 };
    const group = readString(buf, at);
    const topic = readString(buf, at);
    if (group === null || topic === null) return null;
    return { group, topic, partition: buf.readInt32BE(at.pos) };
  } catch {
    return null;
  }
}

export function encodeValue(v: { offset: number; metadata: string | null; commitTimestamp: number }): Buffer {
  const buf = Buffer.alloc(2 + 8 + 4 + stringSize(v.metadata) + 8);
  buf.writeInt16BE(VALUE_VERSION, 0);
  let pos = writeInt64(buf, v.offset, 2);
  buf.writeInt32BE(-1, pos);
  pos = writeString(buf, v.metadata, pos + 4);
  writeInt64(buf, v.commitTimestamp, pos);
  return buf;
}

export function decodeValue(buf: Buffer): { offset: number; metadata: string | null; commitTimestamp: number } | null {
  try {
    if (buf.readInt16BE(0) !== VALUE_VERSION) return null;
    const offset = Number(buf.readBigInt64BE(2));
    const at = { pos: 14 };
    const metadata = readString(buf, at);
    return { offset, metadata, commitTimestamp: Number(buf.readBigInt64BE(at.pos)) };
  } catch {
    return null;
  }
}

export function checkCommit(o: OffsetCommit, highWatermark: number, where: string): void {
  if (!Number.isSafeInteger(o.offset) || o.offset < 0 || o.offset > highWatermark) {
    const range = highWatermark === Number.MAX_SAFE_INTEGER ? 'a whole number, 0 or more' : `from 0 to the high watermark ${highWatermark}`;
    throw new WebkaError('INVALID_OFFSET', `${where}: offset ${o.offset} of ${o.topic}/${o.partition} must be ${range}`);
  }
}
