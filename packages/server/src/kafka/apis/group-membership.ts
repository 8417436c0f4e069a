/**
 * JoinGroup, SyncGroup, Heartbeat and LeaveGroup: Kafka's classic group protocol, mapped onto
 * ClassicGroupCoordinator (groups/classic-groups.ts). Failures become Kafka's error codes
 * (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, INCONSISTENT_GROUP_PROTOCOL).
 */
import { JoinGroup, SyncGroup, Heartbeat, LeaveGroup } from '../messages-groups.js';
import { kafkaErrorCode } from '../error-codes.js';
import { memberOwner, mustCoordinate, type ApiHandler } from '../context.js';
import type { Message } from '../schema.js';

/** Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms defaults. */
const MIN_SESSION_MS = 6_000;
const MAX_SESSION_MS = 1_800_000;

export const joinGroupHandler: ApiHandler = {
  def: JoinGroup,
  async handle(ctx, req) {
    const failed = (err: unknown): Message => ({ throttleTimeMs: 0, errorCode: kafkaErrorCode(err), generationId: -1, protocolType: null, protocolName: '', leader: '', memberId: req.memberId, members: [] });
    const session = Math.min(Math.max(req.sessionTimeoutMs, MIN_SESSION_MS), MAX_SESSION_MS);
    try {
      ctx.require('read', 'group', req.groupId);
      await mustCoordinate(ctx, req.groupId);
      const r = await ctx.groups.join(ctx.settings.cluster, req.groupId, {
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        clientId: ctx.conn.clientId ?? '',
        clientHost: ctx.conn.remoteAddress,
        sessionTimeoutMs: session,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : session,
        protocolType: req.protocolType,
        protocols: req.protocols,
        principal: memberOwner(ctx),
      });
      return { throttleTimeMs: 0, errorCode: 0, ...r };
    } catch (err) {
      return failed(err);
    }
  },
};

export const syncGroupHandler: ApiHandler = {
  def: SyncGroup,
  async handle(ctx, req) {
    try {
      ctx.require('read', 'group', req.groupId);
      await mustCoordinate(ctx, req.groupId);
      const assignment = await ctx.groups.sync(ctx.settings.cluster, req.groupId, req.memberId, memberOwner(ctx), req.generationId, req.assignments);
      const g = ctx.groups.find(ctx.settings.cluster, req.groupId);
      return { throttleTimeMs: 0, errorCode: 0, protocolType: g?.protocolType ?? null, protocolName: g?.protocolName ?? null, assignment };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: kafkaErrorCode(err), assignment: Buffer.alloc(0) };
    }
  },
};

export const heartbeatHandler: ApiHandler = {
  def: Heartbeat,
  async handle(ctx, req) {
    try {
      ctx.require('read', 'group', req.groupId);
      await mustCoordinate(ctx, req.groupId);
      ctx.groups.heartbeat(ctx.settings.cluster, req.groupId, req.memberId, memberOwner(ctx), req.generationId);
      return { throttleTimeMs: 0, errorCode: 0 };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: kafkaErrorCode(err) };
    }
  },
};

export const leaveGroupHandler: ApiHandler = {
  def: LeaveGroup,
  async handle(ctx, req, version) {
    const ids: string[] = version >= 3 ? (req.members as Message[]).map((m) => m.memberId) : [req.memberId];
    const elsewhere = await mustCoordinate(ctx, req.groupId).then(() => 0, kafkaErrorCode);
    if (elsewhere !== 0) return { throttleTimeMs: 0, errorCode: elsewhere, members: [] };
    const members = ids.map((memberId) => {
      try {
        ctx.require('read', 'group', req.groupId);
        ctx.groups.leave(ctx.settings.cluster, req.groupId, [memberId], memberOwner(ctx), ctx.may('admin', 'group', req.groupId));
        return { memberId, groupInstanceId: null, errorCode: 0 };
      } catch (err) {
        return { memberId, groupInstanceId: null, errorCode: kafkaErrorCode(err) };
      }
    });
    return { throttleTimeMs: 0, errorCode: version < 3 ? members[0].errorCode : 0, members };
  },
};
