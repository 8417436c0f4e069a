/**
 * ListOffsets: -2 is the log start offset, -1 the high watermark (the last stable offset for
 * read_committed), -3 the record with the largest timestamp; any other
 * timestamp finds the first record at or after it (offset -1 when there is none).
 */
import { ListOffsets } from '../messages-core.js';
import { kafkaErrorCode } from '../error-codes.js';
import { ledPartition, type ApiHandler, type KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import { currentLeaderEpoch } from './offset-for-leader-epoch.js';
import { lastOffsetAt, maxTimestampAt } from '../../storage/batch-fields.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

function listOne(ctx: KafkaContext, topic: string, partition: number, timestamp: number, readCommitted: boolean): { offset: number; timestamp: number } {
  const cluster = ctx.settings.cluster;
  ledPartition(ctx, topic, partition);
  if (timestamp === EARLIEST || timestamp === LATEST) {
    const o = ctx.broker.listOffsets(cluster, topic, partition);
    if (timestamp === LATEST && readCommitted) return { offset: ctx.broker.partition(cluster, topic, partition).lastStableOffset, timestamp: -1 };
    return { offset: timestamp === EARLIEST ? o.earliest : o.latest, timestamp: -1 };
  }
  if (timestamp === MAX_TIMESTAMP) {
    const p = ctx.broker.partition(cluster, topic, partition);
    let best = { offset: -1, timestamp: -1 };
    p.log.scanBatches(p.log.logStartOffset, (buf, pos) => {
      const max = maxTimestampAt(buf, pos);
      if (max > best.timestamp) best = { offset: lastOffsetAt(buf, pos), timestamp: max };
    });
    return best;
  }
  const o = ctx.broker.listOffsets(cluster, topic, partition, timestamp);
  if (o.offsetForTimestamp === undefined || o.offsetForTimestamp >= o.latest) return { offset: -1, timestamp: -1 };
  return { offset: o.offsetForTimestamp, timestamp };
}

export const listOffsetsHandler: ApiHandler = {
  def: ListOffsets,
  handle(ctx, req) {
    return {
      throttleTimeMs: 0,
      topics: (req.topics as Message[]).map((t) => ({
        name: t.name,
        partitions: (t.partitions as Message[]).map((p) => {
          try {
            ctx.require('describe', 'topic', t.name);
            const r = listOne(ctx, t.name, p.partitionIndex, p.timestamp, req.isolationLevel === 1);
            return { partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: r.offset >= 0 ? [r.offset] : [], timestamp: r.timestamp, offset: r.offset, leaderEpoch: currentLeaderEpoch(ctx.broker.partition(ctx.settings.cluster, t.name, p.partitionIndex)) };
          } catch (err) {
            return { partitionIndex: p.partitionIndex, errorCode: kafkaErrorCode(err), oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 };
          }
        }),
      })),
    };
  },
};
