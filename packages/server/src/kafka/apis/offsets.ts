/**
 * OffsetCommit and OffsetFetch: committed offsets in `__consumer_offsets`, the same store as the
 * HTTP groups', so either protocol (and the CLI, lag and reset) sees both kinds of group.
 */
import { OffsetCommit, OffsetFetch } from '../messages-groups.js';
import { KafkaErrors, kafkaErrorCode } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import { checkCommit, type OffsetCommit as Commit } from '../../groups/offset-store.js';

export const offsetCommitHandler: ApiHandler = {
  def: OffsetCommit,
  async handle(ctx, req) {
    const cluster = ctx.settings.cluster;
    // per-partition checks first; what passes is committed in one batch
    const errors = new Map<string, number>();
    const commits: Commit[] = [];
    for (const t of req.topics as Message[]) {
      for (const p of t.partitions as Message[]) {
        const o = { topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.committedMetadata };
        try {
          ctx.require('read', 'group', req.groupId);
          ctx.require('read', 'topic', t.name);
          checkCommit(o, ctx.broker.partition(cluster, t.name, p.partitionIndex).log.highWatermark, `${t.name}-${p.partitionIndex}`);
          commits.push(o);
        } catch (err) {
          errors.set(`${t.name}\u0000${p.partitionIndex}`, kafkaErrorCode(err));
        }
      }
    }
    let groupError = 0;
    if (commits.length > 0) {
      try {
        await ctx.groups.commit(cluster, req.groupId, req.memberId, req.generationId, commits);
      } catch (err) {
        groupError = kafkaErrorCode(err);
      }
    }
    return {
      throttleTimeMs: 0,
      topics: (req.topics as Message[]).map((t) => ({
        name: t.name,
        partitions: (t.partitions as Message[]).map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\u0000${p.partitionIndex}`) ?? groupError })),
      })),
    };
  },
};

function groupOffsets(ctx: KafkaContext, groupId: string, topics: Message[] | null): { topics: Message[]; errorCode: number } {
  const cluster = ctx.settings.cluster;
  try {
    ctx.require('describe', 'group', groupId);
    const committed = ctx.groups.offsets.list(cluster, groupId).filter((c) => ctx.may('describe', 'topic', c.topic));
    const asked = topics ?? [...new Set(committed.map((c) => c.topic))].map((name) => ({ name, partitionIndexes: committed.filter((c) => c.topic === name).map((c) => c.partition) }));
    return {
      errorCode: 0,
      topics: asked.map((t) => ({
        name: t.name,
        partitions: (t.partitionIndexes as number[]).map((partitionIndex) => {
          const c = ctx.groups.offsets.get(cluster, groupId, t.name, partitionIndex);
          return { partitionIndex, committedOffset: c?.offset ?? -1, committedLeaderEpoch: -1, metadata: c?.metadata ?? '', errorCode: 0 };
        }),
      })),
    };
  } catch (err) {
    return { errorCode: kafkaErrorCode(err) || KafkaErrors.UNKNOWN_SERVER_ERROR, topics: [] };
  }
}

export const offsetFetchHandler: ApiHandler = {
  def: OffsetFetch,
  handle(ctx, req, version) {
    if (version >= 8) {
      return { throttleTimeMs: 0, groups: (req.groups as Message[]).map((g) => ({ groupId: g.groupId, ...groupOffsets(ctx, g.groupId, g.topics) })) };
    }
    return { throttleTimeMs: 0, ...groupOffsets(ctx, req.groupId, req.topics) };
  },
};
