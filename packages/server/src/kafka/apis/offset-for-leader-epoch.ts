/**
 * OffsetForLeaderEpoch (KIP-101, KIP-320): where a leader epoch ends in the leader's log, so
 * that a consumer that read up to some offset in epoch E can tell, after the leader changed,
 * whether the new leader still holds that offset (truncation detection).
 *
 * The current epoch is the partition state's leader epoch in a cluster (the one Metadata and
 * ListOffsets report); a single broker has one epoch, 0, forever (the epochs stamped in its
 * batches are whatever clients wrote there, so they are not read). For the current epoch the
 * answer is the log end; for an earlier one, the largest epoch at or below it that wrote here and
 * the offset where a later epoch began (Log.epochEnd); for an unknown or later one, -1 and -1.
 * A request's currentLeaderEpoch, when given, must be the current one: older is
 * FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH (the client's metadata is stale either way).
 */
import { OffsetForLeaderEpoch } from '../messages-core.js';
import { KafkaError, kafkaErrorCode } from '../error-codes.js';
import { ledPartition, type ApiHandler, type KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import type { Partition } from '../../partitions/partition.js';

const UNDEFINED = { leaderEpoch: -1, endOffset: -1 };

/** The partition's current leader epoch as this listener reports it. */
export function currentLeaderEpoch(p: Partition): number {
  return p.replica === null ? 0 : (p.log.leaderEpoch ?? 0);
}

function endOf(ctx: KafkaContext, topic: string, partition: number, current: number, requested: number): { leaderEpoch: number; endOffset: number } {
  const p = ledPartition(ctx, topic, partition);
  const epoch = currentLeaderEpoch(p);
  if (current >= 0 && current < epoch) throw new KafkaError('FENCED_LEADER_EPOCH', `partition ${partition} of "${topic}" is at leader epoch ${epoch}, the request says ${current}: refresh metadata`);
  if (current > epoch) throw new KafkaError('UNKNOWN_LEADER_EPOCH', `partition ${partition} of "${topic}" is at leader epoch ${epoch}, the request says ${current}: refresh metadata`);
  if (requested === epoch) return { leaderEpoch: epoch, endOffset: p.log.nextOffset };
  if (requested < 0 || requested > epoch || p.replica === null) return UNDEFINED;
  const e = p.log.epochEnd(requested);
  return { leaderEpoch: e.epoch, endOffset: e.endOffset };
}

export const offsetForLeaderEpochHandler: ApiHandler = {
  def: OffsetForLeaderEpoch,
  handle(ctx, req) {
    return {
      throttleTimeMs: 0,
      topics: (req.topics as Message[]).map((t) => ({
        topic: t.topic,
        partitions: (t.partitions as Message[]).map((p) => {
          try {
            ctx.require('describe', 'topic', t.topic);
            return { errorCode: 0, partition: p.partition, ...endOf(ctx, t.topic, p.partition, p.currentLeaderEpoch, p.leaderEpoch) };
          } catch (err) {
            return { errorCode: kafkaErrorCode(err), partition: p.partition, ...UNDEFINED };
          }
        }),
      })),
    };
  },
};
