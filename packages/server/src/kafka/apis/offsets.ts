/**
 * OffsetCommit and OffsetFetch: committed offsets in `__consumer_offsets`, the same store as the
 * HTTP groups', so either protocol (and the CLI, lag and reset) sees both kinds of group.
 */
import { OffsetCommit, OffsetFetch } from '../messages-groups.js';
import { KafkaErrors, kafkaErrorCode } from '../error-codes.js';
import { memberOwner, mustCoordinate, type ApiHandler, type KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import { checkCommit, type OffsetCommit as Commit } from '../../groups/offset-store.js';

/**
 * An offset commit's shape (OffsetCommit, TxnOffsetCommit): each partition is checked first
 * (read on the group and the topic, an offset within the log); those that pass go to `commit`
 * in one call, whose failure is every such partition's error.
 */
export async function commitOffsets(ctx: KafkaContext, req: Message, commit: (offsets: Commit[]) => Promise<void>, errorCode: (err: unknown) => number = kafkaErrorCode): Promise<Message> {
  const cluster = ctx.settings.cluster;
  const errors = new Map<string, number>();
  const commits: Commit[] = [];
  for (const t of req.topics as Message[]) {
    for (const p of t.partitions as Message[]) {
      const o = { topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.committedMetadata };
      try {
        ctx.require('read', 'group', req.groupId);
        ctx.require('read', 'topic', t.name);
        checkCommit(o, ctx.broker.partition(cluster, t.name, p.partitionIndex).commitLimit(), `${t.name}-${p.partitionIndex}`);
        commits.push(o);
      } catch (err) {
        errors.set(`${t.name}\u0000${p.partitionIndex}`, errorCode(err));
      }
    }
  }
  let groupError = 0;
  if (commits.length > 0) {
    try {
      await commit(commits);
    } catch (err) {
      groupError = errorCode(err);
    }
  }
  return {
    throttleTimeMs: 0,
    topics: (req.topics as Message[]).map((t) => ({
      name: t.name,
      partitions: (t.partitions as Message[]).map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\u0000${p.partitionIndex}`) ?? groupError })),
    })),
  };
}

/** An offset commit refused as a whole (the group is another broker's): every partition gets `errorCode`. */
export function groupFailed(req: Message, errorCode: number): Message {
  return { throttleTimeMs: 0, topics: (req.topics as Message[]).map((t) => ({ name: t.name, partitions: (t.partitions as Message[]).map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })) };
}

export const offsetCommitHandler: ApiHandler = {
  def: OffsetCommit,
  async handle(ctx, req) {
    const elsewhere = await mustCoordinate(ctx, req.groupId).then(() => 0, kafkaErrorCode);
    if (elsewhere !== 0) return groupFailed(req, elsewhere);
    return commitOffsets(ctx, req, (commits) => ctx.groups.commit(ctx.settings.cluster, req.groupId, req.memberId, memberOwner(ctx), req.generationId, commits));
  },
};

async function groupOffsets(ctx: KafkaContext, groupId: string, topics: Message[] | null): Promise<{ topics: Message[]; errorCode: number }> {
  const cluster = ctx.settings.cluster;
  try {
    ctx.require('describe', 'group', groupId);
    await mustCoordinate(ctx, groupId);
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
  async handle(ctx, req, version) {
    if (version >= 8) {
      return { throttleTimeMs: 0, groups: await Promise.all((req.groups as Message[]).map(async (g) => ({ groupId: g.groupId, ...(await groupOffsets(ctx, g.groupId, g.topics)) }))) };
    }
    return { throttleTimeMs: 0, ...(await groupOffsets(ctx, req.groupId, req.topics)) };
  },
};
