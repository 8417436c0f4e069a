/**
 * ListGroups, DescribeGroups and DeleteGroups. Kafka-protocol groups are described with their
 * members' metadata and assignments; HTTP groups appear in lists with protocol type "webka"
 * (they are not Kafka consumers), and a group known only by committed offsets is Empty.
 */
import { ListGroups, DescribeGroups, DeleteGroups } from '../messages-admin.js';
import { KafkaErrors, kafkaErrorCode } from '../error-codes.js';
import { memberOwner, mustCoordinate, type ApiHandler, type KafkaContext } from '../context.js';

function allGroups(ctx: KafkaContext): Array<{ groupId: string; protocolType: string; groupState: string }> {
  const cluster = ctx.settings.cluster;
  const out = new Map<string, { groupId: string; protocolType: string; groupState: string }>();
  for (const id of ctx.groups.offsets.groups(cluster)) out.set(id, { groupId: id, protocolType: 'consumer', groupState: 'Empty' });
  for (const g of ctx.groups.list(cluster)) out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, groupState: g.state });
  for (const g of ctx.groups.httpGroups(cluster)) if (g.members.size > 0) out.set(g.groupId, { groupId: g.groupId, protocolType: 'webka', groupState: g.state });
  return [...out.values()].filter((g) => ctx.may('describe', 'group', g.groupId)).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
}

export const listGroupsHandler: ApiHandler = {
  def: ListGroups,
  handle(ctx, req) {
    const filter = new Set((req.statesFilter as string[]).map((s) => s.toLowerCase()));
    const groups = allGroups(ctx).filter((g) => filter.size === 0 || filter.has(g.groupState.toLowerCase()));
    return { throttleTimeMs: 0, errorCode: 0, groups };
  },
};

export const describeGroupsHandler: ApiHandler = {
  def: DescribeGroups,
  async handle(ctx, req) {
    const known = new Map(allGroups(ctx).map((g) => [g.groupId, g]));
    const groups = await Promise.all((req.groups as string[]).map(async (groupId) => {
      if (!ctx.may('describe', 'group', groupId)) return { errorCode: KafkaErrors.GROUP_AUTHORIZATION_FAILED, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
      const elsewhere = await mustCoordinate(ctx, groupId).then(() => 0, kafkaErrorCode);
      if (elsewhere !== 0) return { errorCode: elsewhere, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
      const g = ctx.groups.find(ctx.settings.cluster, groupId);
      const owner = memberOwner(ctx);
      const admin = ctx.may('admin', 'group', groupId);
      if (g === undefined) {
        const k = known.get(groupId);
        return { errorCode: 0, groupId, groupState: k?.groupState ?? 'Dead', protocolType: k?.protocolType ?? '', protocolData: '', members: [] };
      }
      return {
        errorCode: 0,
        groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.state === 'Stable' ? g.protocolName : '',
        // a caller sees its own members only, all of them with admin on the group (as over HTTP)
        members: [...g.members.values()].filter((m) => m.principal === owner || admin).map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.input.groupInstanceId,
          clientId: m.input.clientId,
          clientHost: m.input.clientHost,
          memberMetadata: m.input.protocols.find((p) => p.name === g.protocolName)?.metadata ?? Buffer.alloc(0),
          memberAssignment: m.assignment,
        })),
      };
    }));
    return { throttleTimeMs: 0, groups };
  },
};

export const deleteGroupsHandler: ApiHandler = {
  def: DeleteGroups,
  async handle(ctx, req) {
    const results = [];
    for (const groupId of req.groupsNames as string[]) {
      try {
        ctx.require('delete', 'group', groupId);
        await mustCoordinate(ctx, groupId);
        const g = ctx.groups.find(ctx.settings.cluster, groupId);
        if (g !== undefined && g.members.size > 0) {
          results.push({ groupId, errorCode: KafkaErrors.NON_EMPTY_GROUP });
          continue;
        }
        await ctx.groups.deleteGroup(ctx.settings.cluster, groupId);
        results.push({ groupId, errorCode: 0 });
      } catch (err) {
        results.push({ groupId, errorCode: kafkaErrorCode(err) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
};
