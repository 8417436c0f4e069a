/**
 * What one poll reads: records from the member's partitions of the current generation, starting
 * at its positions (or the committed offset, or per autoOffsetReset), shared fairly: each
 * partition first gets an equal share of maxRecords, then the rest goes round again, and the
 * starting partition rotates from poll to poll. Records decoded beyond a share wait in the
 * member's buffer for the next poll. Synchronous, so the generation checked before a
 * read is the generation the read belongs to.
 */
import type { DecodedRecord } from '../storage/record-batch.js';
import type { Isolation } from '../partitions/partition.js';
import { WebkaError } from '../errors.js';
import type { OffsetStore } from './offset-store.js';
import type { Group } from './group.js';
import type { GroupMember } from './group-member.js';
import { tpKey } from './assignor.js';
import type { ReadSource } from './remote-partition.js';

/** The partition a group reads through: the local one, or in a cluster the group's view of the leader's (group-coordinator.ts). */
export type SourceOf = (group: Group, topic: string, partition: number) => ReadSource;

const READ_BYTES_FLOOR = 64 << 10;

export interface PolledRecord {
  topic: string;
  partition: number;
  record: DecodedRecord;
}

export interface ReadLimits {
  maxRecords: number;
  maxBytes: number;
  /** read_committed polls stop at the last stable offset and skip aborted transactions. */
  isolation?: Isolation;
}

/** The member's next offset for a partition, resolving it on first use; undefined while a remote view does not know the partition's offsets yet. */
export function positionFor(p: ReadSource, store: OffsetStore, group: Group, member: GroupMember, topic: string, partition: number): number | undefined {
  const key = tpKey(topic, partition);
  let pos = member.positions.get(key);
  let why = '';
  if (pos === undefined) {
    pos = store.get(group.cluster, group.groupId, topic, partition)?.offset;
    why = `group "${group.groupId}" has no committed offset for ${topic}/${partition}`;
  }
  if (!p.known) return undefined;
  // past the log's end, not its high watermark: a new leader's high watermark can be below a
  // position the old one acknowledged, for as long as its followers take to fetch (Kafka's rule)
  if (pos !== undefined && (pos < p.logStartOffset || pos > p.logEndOffset)) {
    // a remote view's offsets may predate the position: ask the leader again first
    if (p.confirmOutside !== undefined && !p.confirmOutside(pos)) return undefined;
    why = `the position ${pos} of ${topic}/${partition} is outside the log (${p.logStartOffset} to ${p.logEndOffset})`;
    pos = undefined;
  }
  if (pos === undefined) {
    const reset = member.settings.autoOffsetReset;
    if (reset === 'none') throw new WebkaError('NO_OFFSET_FOR_PARTITION', `${why} and autoOffsetReset is none`, { topic, partition });
    pos = reset === 'earliest' ? p.logStartOffset : p.highWatermark;
  }
  member.positions.set(key, pos);
  return pos;
}

/** Reads what is available now, advancing the member's positions. */
export function readAssigned(sourceOf: SourceOf, store: OffsetStore, group: Group, member: GroupMember, limits: ReadLimits): PolledRecord[] {
  const out: PolledRecord[] = [];
  const n = member.assignment.length;
  if (n === 0) return out;
  const start = member.cursor++ % n;
  const order = [...member.assignment.slice(start), ...member.assignment.slice(0, start)];
  let bytes = 0;
  const share = Math.max(1, Math.ceil(limits.maxRecords / n));
  // each partition reads about its share of the bytes, so that a poll does not read (and then
  // buffer) maxBytes from every partition
  const readBytes = Math.max(READ_BYTES_FLOOR, Math.ceil(limits.maxBytes / n));
  for (const round of [share, limits.maxRecords]) {
    for (const tp of order) {
      // the member's principal may have lost its read right since the assignment
      if (!member.mayRead(tp.topic)) continue;
      const room = Math.min(round, limits.maxRecords - out.length);
      if (room <= 0 || (bytes >= limits.maxBytes && out.length > 0)) return out;
      const key = tpKey(tp.topic, tp.partition);
      let p;
      let offset;
      try {
        p = sourceOf(group, tp.topic, tp.partition);
        offset = positionFor(p, store, group, member, tp.topic, tp.partition);
      } catch (err) {
        // a topic deleted under the group: the next rebalance drops it
        if (err instanceof WebkaError && (err.code === 'TOPIC_NOT_FOUND' || err.code === 'PARTITION_NOT_FOUND')) continue;
        throw err;
      }
      if (offset === undefined) continue;
      let buffered = member.buffers.get(key);
      if (buffered === undefined || buffered.from !== offset) {
        member.buffers.delete(key);
        if (offset >= p.readableEnd(limits.isolation)) continue;
        const r = p.read(offset, { maxRecords: Number.MAX_SAFE_INTEGER, maxBytes: readBytes, isolation: limits.isolation });
        buffered = { from: offset, records: r.records, start: 0, nextOffset: r.nextOffset };
      }
      const { records } = buffered;
      const end = Math.min(records.length, buffered.start + room);
      for (let i = buffered.start; i < end; i++) {
        const record = records[i];
        out.push({ topic: tp.topic, partition: tp.partition, record });
        bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0) + 24;
      }
      if (end === records.length) {
        member.buffers.delete(key);
        member.positions.set(key, buffered.nextOffset);
      } else {
        const next = records[end - 1].offset + 1;
        buffered.from = next;
        buffered.start = end;
        member.buffers.set(key, buffered);
        member.positions.set(key, next);
      }
    }
  }
  return out;
}
