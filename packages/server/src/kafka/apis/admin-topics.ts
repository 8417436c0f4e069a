/**
 * CreateTopics, DeleteTopics and CreatePartitions: the catalog's own calls, as the HTTP topic
 * routes make them. -1 partitions or replication factor take the cluster's defaults; manual
 * replica assignments are refused (replicas are assigned by Webka). validateOnly checks without
 * creating. In a cluster of brokers the controller defines, deletes and grows topics (replica
 * assignment, partition states in etcd); another broker answers NOT_CONTROLLER, and clients send
 * these requests to the controller that Metadata names, as with Kafka.
 */
import { CreateTopics, DeleteTopics, CreatePartitions } from '../messages-admin.js';
import { KafkaError, kafkaErrorCode } from '../error-codes.js';
import type { ApiHandler } from '../context.js';
import type { Message } from '../schema.js';
import { topicUuid } from './metadata.js';
import type { TopicRecord } from '../../catalog/catalog-store.js';
import type { TopicInput } from '../context.js';

const failure = (err: unknown): { errorCode: number; errorMessage: string } => ({ errorCode: kafkaErrorCode(err), errorMessage: (err as Error).message });

export const createTopicsHandler: ApiHandler = {
  def: CreateTopics,
  async handle(ctx, req) {
    const cluster = ctx.settings.cluster;
    const view = ctx.settings.clusterView;
    const create = async (input: TopicInput): Promise<TopicRecord> => (view == null ? ctx.broker.createTopic(cluster, input) : view.createTopic(cluster, input));
    const topics = await Promise.all((req.topics as Message[]).map(async (t) => {
      const base = { name: t.name, errorCode: 0, errorMessage: null, numPartitions: -1, replicationFactor: -1, configs: null };
      try {
        ctx.require('create', 'topic', t.name);
        if ((t.assignments as Message[]).length > 0) throw new KafkaError('INVALID_REQUEST', 'manual replica assignments are not supported: give numPartitions and replicationFactor');
        const input = {
          name: t.name,
          partitions: t.numPartitions === -1 ? undefined : t.numPartitions,
          replicationFactor: t.replicationFactor === -1 ? undefined : t.replicationFactor,
          configs: Object.fromEntries((t.configs as Message[]).map((c) => [c.name, c.value])),
        };
        if (req.validateOnly) {
          if (ctx.broker.listTopics(cluster).some((x) => x.name === t.name)) throw new KafkaError('TOPIC_ALREADY_EXISTS', `topic "${t.name}" already exists`);
          return base;
        }
        const r = await create(input);
        return { ...base, topicId: topicUuid(r.id), numPartitions: r.partitions, replicationFactor: r.replicationFactor };
      } catch (err) {
        return { ...base, ...failure(err) };
      }
    }));
    return { throttleTimeMs: 0, topics };
  },
};

export const deleteTopicsHandler: ApiHandler = {
  def: DeleteTopics,
  async handle(ctx, req) {
    const responses = [];
    for (const name of req.topicNames as string[]) {
      try {
        ctx.require('delete', 'topic', name);
        const t = ctx.broker.listTopics(ctx.settings.cluster).find((x) => x.name === name);
        if (t?.internal) throw new KafkaError('INVALID_REQUEST', `"${name}" is an internal topic`);
        const view = ctx.settings.clusterView;
        await (view == null ? ctx.broker.deleteTopic(ctx.settings.cluster, name) : view.deleteTopic(ctx.settings.cluster, name));
        responses.push({ name, errorCode: 0, errorMessage: null });
      } catch (err) {
        responses.push({ name, ...failure(err) });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
};

export const createPartitionsHandler: ApiHandler = {
  def: CreatePartitions,
  async handle(ctx, req) {
    const view = ctx.settings.clusterView;
    const results = await Promise.all((req.topics as Message[]).map(async (t) => {
      try {
        ctx.require('alter', 'topic', t.name);
        if (t.assignments !== null) throw new KafkaError('INVALID_REQUEST', 'manual replica assignments are not supported');
        if (ctx.broker.listTopics(ctx.settings.cluster).some((x) => x.name === t.name && x.internal)) throw new KafkaError('INVALID_REQUEST', `"${t.name}" is an internal topic`);
        const current = ctx.broker.describeTopic(ctx.settings.cluster, t.name).topic.partitions;
        if (t.count <= current) throw new KafkaError('INVALID_PARTITIONS', `topic "${t.name}" has ${current} partitions; the count can only grow`);
        if (!req.validateOnly) await (view == null ? ctx.broker.alterTopic(ctx.settings.cluster, t.name, { partitions: t.count }) : view.alterTopic(ctx.settings.cluster, t.name, { partitions: t.count }));
        return { name: t.name, errorCode: 0, errorMessage: null };
      } catch (err) {
        return { name: t.name, ...failure(err) };
      }
    }));
    return { throttleTimeMs: 0, results };
  },
};
