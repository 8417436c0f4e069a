/**
 * Metadata: the brokers (this one, as nodeId 0) and the topics of the listener's cluster, each
 * partition led by this broker with itself as the only replica and in-sync replica. Topics that
 * do not exist are answered UNKNOWN_TOPIC_OR_PARTITION (Webka creates topics explicitly: with
 * CreateTopics, the HTTP API or the CLI, never as a side effect of a read).
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

function topicEntry(ctx: KafkaContext, t: TopicRecord): Message {
  const node = ctx.settings.nodeId;
  const partitions: Message[] = [];
  for (let i = 0; i < t.partitions; i++) {
    partitions.push({ errorCode: 0, partitionIndex: i, leaderId: node, leaderEpoch: 0, replicaNodes: [node], isrNodes: [node], offlineReplicas: [] });
  }
  return { errorCode: 0, name: t.name, topicId: topicUuid(t.id), isInternal: t.internal, partitions };
}

export const metadataHandler: ApiHandler = {
  def: Metadata,
  handle(ctx, req, version) {
    const cluster = ctx.settings.cluster;
    const all = ctx.broker.listTopics(cluster).filter((t) => ctx.may('describe', 'topic', t.name));
    let topics: Message[];
    const asked = req.topics as Message[] | null;
    if (asked === null || (version === 0 && asked.length === 0)) {
      topics = all.map((t) => topicEntry(ctx, t));
    } else {
      const byName = new Map(all.map((t) => [t.name, t]));
      topics = asked.map((a) => {
        if (a.name !== null && !ctx.may('describe', 'topic', a.name)) return { errorCode: KafkaErrors.TOPIC_AUTHORIZATION_FAILED, name: a.name, topicId: a.topicId, isInternal: false, partitions: [] };
        const t = a.name === null ? all.find((x) => topicUuid(x.id).equals(a.topicId as Buffer)) : byName.get(a.name as string);
        if (t === undefined) return { errorCode: a.name === null ? KafkaErrors.UNKNOWN_TOPIC_ID : KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, name: a.name, topicId: a.topicId, isInternal: false, partitions: [] };
        return topicEntry(ctx, t);
      });
    }
    const { host, port } = advertised(ctx);
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: ctx.settings.nodeId, host, port, rack: null }],
      clusterId: `webka-${cluster}`,
      controllerId: ctx.settings.nodeId,
      topics,
    };
  },
};
