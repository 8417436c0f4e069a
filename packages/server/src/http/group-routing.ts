/**
 * Consumer groups in a cluster: a group's coordinator is the leader of its `__consumer_offsets`
 * partition (Kafka's rule), so it moves with that partition's leadership, and its committed
 * offsets are replicated with the partition. Any broker takes a group call: one that does not
 * coordinate the group forwards it there (forward.ts: one hop, the caller's principal asserted);
 * the list of groups is gathered from every live broker, each naming the groups it coordinates.
 * `__consumer_offsets` is defined through the controller the first time a group call needs it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebkaError } from '../errors.js';
import type { GroupCoordinator } from '../groups/group-coordinator.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, OFFSETS_TOPIC_PARTITIONS, groupPartition } from '../groups/offset-store.js';
import { forward, forwardHeaders, isForwarded } from './forward.js';

/**
 * The node id of the group's coordinator (the leader of its offsets partition; -1: none now),
 * defining the offsets topic first if the cluster has none. Undefined outside a cluster.
 */
export async function groupCoordinatorOf(app: FastifyInstance, cluster: string, group: string): Promise<number | undefined> {
  const replication = app.webka.replication;
  if (replication === undefined) return undefined;
  app.webka.broker.catalog.getCluster(cluster);
  await replication.ensureInternalTopic(cluster, OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS, OFFSETS_TOPIC_CONFIGS);
  return replication.leaderOf(cluster, OFFSETS_TOPIC, groupPartition(group, OFFSETS_TOPIC_PARTITIONS)) ?? -1;
}

/**
 * A preHandler for the routes that name a group: in a cluster, forwards the call to the group's
 * coordinator, or lets it through (once the coordinator's offsets are loaded) when this broker
 * is it. NOT_COORDINATOR while the group has no coordinator, or when a forwarded call meets a
 * broker that no longer is.
 */
export function routeToGroupCoordinator(app: FastifyInstance, groups: GroupCoordinator) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const member = app.webka.cluster;
    const { cluster, group } = request.params as { cluster?: string; group?: string };
    if (member === undefined || cluster === undefined || group === undefined) return undefined;
    const coordinator = await groupCoordinatorOf(app, cluster, group);
    if (coordinator === undefined) return undefined;
    if (coordinator === member.nodeId) {
      await groups.offsets.ready(cluster, group);
      return undefined;
    }
    const url = coordinator < 0 || isForwarded(request) ? undefined : await member.brokerUrl(coordinator);
    if (url === undefined) {
      throw new WebkaError('NOT_COORDINATOR', `broker ${member.nodeId} does not coordinate group "${group}" and cannot forward the call (coordinator: ${coordinator < 0 ? 'none, an election is under way' : `broker ${coordinator}`}); retry in a moment`, { coordinator });
    }
    return forward(request, reply, url, member.nodeId);
  };
}

/** Whether this broker coordinates the group now (always, outside a cluster). */
export function coordinatesGroup(app: FastifyInstance, cluster: string, group: string): boolean {
  const { replication, cluster: member } = app.webka;
  if (replication === undefined || member === undefined) return true;
  return replication.leaderOf(cluster, OFFSETS_TOPIC, groupPartition(group, OFFSETS_TOPIC_PARTITIONS)) === member.nodeId;
}

/**
 * In a cluster, what the other live brokers list of the request's route (each its own groups),
 * asked in parallel as the caller; a broker that does not answer is left out with a warning.
 */
export async function fromOtherBrokers<T>(app: FastifyInstance, request: FastifyRequest, pick: (body: unknown) => T[]): Promise<T[]> {
  const { replication, cluster: member } = app.webka;
  if (replication === undefined || member === undefined || isForwarded(request)) return [];
  const headers = forwardHeaders(request, member.nodeId);
  const answers = await Promise.all(
    replication
      .liveBrokers()
      .filter((b) => b.nodeId !== member.nodeId)
      .map(async (b) => {
        try {
          const res = await fetch(`${b.url}${request.url}`, { headers, signal: AbortSignal.timeout(10_000) });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          return pick(await res.json());
        } catch (err) {
          request.log.warn({ broker: b.nodeId, err: (err as Error).message }, 'a broker did not answer for its groups; the list leaves them out');
          return [];
        }
      }),
  );
  return answers.flat();
}
