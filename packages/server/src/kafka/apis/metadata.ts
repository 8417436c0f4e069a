/**
 * Metadata: the brokers and the topics of the listener's cluster. A single broker names itself
 * (nodeId 0) as every partition's leader, only replica and in-sync replica. In a cluster of
 * brokers it names every live broker with a Kafka listener (as registered in etcd), the
 * controller, and per partition the leader, leader epoch, replicas and ISR that the controller
 * wrote, so that clients produce to and fetch from leaders directly; a partition whose leader is
 * not live is answered LEADER_NOT_AVAILABLE (clients ask again), and its dead replicas are listed
 * as offline. Topics that do not exist are answered UNKNOWN_TOPIC_OR_PARTITION (Webka creates
 * topics explicitly: with CreateTopics, the HTTP API or the CLI, never as a side effect of a read).
 */
import { Metadata } from '../messages-core.js';
import { KafkaErrors } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import type { TopicRecord } from '../../catalog/catalog-store.js';

/** A topic id as Kafka's 16-byte uuid (Webka's ids are 8 random bytes, zero-padded on the left). */
export function topicUuid(id: string): Buffer {
  return Buffer.from(id.padStart(32, '0').slice(-32), 'hex');
}

/** The host and port clients should connect to for this broker. */
export function advertised(ctx: KafkaContext): { host: string; port: number } {
  return { host: ctx.settings.advertisedHost ?? ctx.conn.localAddress.replace(/^::ffff:/, ''), port: ctx.conn.localPort };
}

export interface KafkaNode {
  nodeId: number;
  host: string;
  port: number;
}

/** The brokers clients are told of and the controller: this broker alone, or the cluster's live ones. */
export async function kafkaNodes(ctx: KafkaContext): Promise<{ brokers: KafkaNode[]; controllerId: number }> {
  const self = { nodeId: ctx.settings.nodeId, ...advertised(ctx) };
  const view = ctx.settings.clusterView;
  if (view == null) return { brokers: [self], controllerId: self.nodeId };
  const brokers = view.brokers();
  // this broker answers, so it is alive even before the coordinator's report names it
  if (!brokers.some((b) => b.nodeId === self.nodeId)) brokers.push(self);
  return { brokers: brokers.sort((a, b) => a.nodeId - b.nodeId), controllerId: await view.controllerId() };
}

function topicEntry(ctx: KafkaContext, t: TopicRecord, live: Set<number>): Message {
  const node = ctx.settings.nodeId;
  const partitions: Message[] = [];
  for (let i = 0; i < t.partitions; i++) {
    const r = ctx.settings.clusterView?.partition(t.id, i);
    if (r === undefined) {
      partitions.push({ errorCode: 0, partitionIndex: i, leaderId: node, leaderEpoch: 0, replicaNodes: [node], isrNodes: [node], offlineReplicas: [] });
      continue;
    }
    const led = r.leader >= 0 && live.has(r.leader);
    partitions.push({
      errorCode: led ? 0 : KafkaErrors.LEADER_NOT_AVAILABLE,
      partitionIndex: i,
      leaderId: led ? r.leader : -1,
      leaderEpoch: r.leaderEpoch,
      replicaNodes: r.replicas,
      isrNodes: r.isr,
      offlineReplicas: r.replicas.filter((n) => !live.has(n)),
    });
  }
  return { errorCode: 0, name: t.name, topicId: topicUuid(t.id), isInternal: t.internal, partitions };
}

export const metadataHandler: ApiHandler = {
  def: Metadata,
  async handle(ctx, req, version) {
    const cluster = ctx.settings.cluster;
    const { brokers, controllerId } = await kafkaNodes(ctx);
    const live = new Set(brokers.map((b) => b.nodeId));
    const all = ctx.broker.listTopics(cluster).filter((t) => ctx.may('describe', 'topic', t.name));
    let topics: Message[];
    const asked = req.topics as Message[] | null;
    if (asked === null || (version === 0 && asked.length === 0)) {
      topics = all.map((t) => topicEntry(ctx, t, live));
    } else {
      const byName = new Map(all.map((t) => [t.name, t]));
      topics = asked.map((a) => {
        if (a.name !== null && !ctx.may('describe', 'topic', a.name)) return { errorCode: KafkaErrors.TOPIC_AUTHORIZATION_FAILED, name: a.name, topicId: a.topicId, isInternal: false, partitions: [] };
        const t = a.name === null ? all.find((x) => topicUuid(x.id).equals(a.topicId as Buffer)) : byName.get(a.name as string);
        if (t === undefined) return { errorCode: a.name === null ? KafkaErrors.UNKNOWN_TOPIC_ID : KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, name: a.name, topicId: a.topicId, isInternal: false, partitions: [] };
        return topicEntry(ctx, t, live);
      });
    }
    return {
      throttleTimeMs: 0,
      brokers: brokers.map((b) => ({ ...b, rack: null })),
      clusterId: `webka-${cluster}`,
      controllerId,
      topics,
    };
  },
};
