/**
 * What the broker says about itself: `GET /v1/broker` (its nodes, uptime and, over what the caller
 * may describe, counts, disk use and traffic since start) and `GET /v1/topic-configs` (every topic
 * config with its type, default and doc, for forms that create or change topics). Any
 * authenticated caller may read both; the totals never count a topic the caller cannot see.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { BrokerInfoSchema, TopicConfigDocSchema, type BrokerInfo } from '@webka/protocol';
import { TOPIC_CONFIGS } from '../../catalog/topic-config.js';
import { authorizedOperations } from '../authorized-operations.js';
import { resources } from '../route-permissions.js';
import { SERVER_VERSION } from '../../version.js';
import type { ClusterBroker } from '../../cluster/cluster-member.js';

type Totals = BrokerInfo['totals'];

/** Sums a per-topic counter over the topics in `visible` (keys `cluster/topic`). */
async function sum(counter: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, visible: Set<string>): Promise<number> {
  let total = 0;
  for (const v of (await counter.get()).values) if (visible.has(`${String(v.labels.cluster)}/${String(v.labels.topic)}`)) total += v.value;
  return total;
}

/** A cluster member as `GET /v1/broker` lists its nodes. */
function asNode(b: ClusterBroker): BrokerInfo['brokers'][number] {
  const u = new URL(b.url);
  return { brokerId: b.nodeId, host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)), controller: b.controller, alive: b.alive };
}

export async function brokerInfoRoutes(app: FastifyInstance): Promise<void> {
  const { broker, config } = app.webka;
  const startedAt = Date.now();

  async function totals(request: FastifyRequest): Promise<Totals> {
    const p = request.principal;
    const { authorize, metrics } = app.security;
    const visible = new Set<string>();
    const out: Totals = { clusters: 0, topics: 0, partitions: 0, offlinePartitions: 0, underReplicatedPartitions: 0, sizeBytes: 0, recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0 };
    for (const c of broker.listClusters()) {
      if (!authorize(p, 'describe', { type: 'cluster', name: c.name })) continue;
      out.clusters++;
      for (const t of broker.listTopics(c.name)) {
        if (t.internal ? !p.superuser : !authorize(p, 'describe', { type: 'topic', cluster: c.name, name: t.name })) continue;
        visible.add(`${c.name}/${t.name}`);
        if (!t.internal) out.topics++;
        for (const part of broker.describeTopic(c.name, t.name).partitions) {
          out.partitions++;
          out.sizeBytes += part.sizeBytes;
          if (part.offline !== null) out.offlinePartitions++;
        }
      }
    }
    out.recordsIn = await sum(metrics.recordsIn, visible);
    out.bytesIn = await sum(metrics.bytesIn, visible);
    out.recordsOut = await sum(metrics.recordsOut, visible);
    out.bytesOut = await sum(metrics.bytesOut, visible);
    return out;
  }

  app.get(
    '/broker',
    { schema: { tags: ['ops'], summary: 'The broker: its nodes, version, uptime, and counts, disk use and traffic over what the caller may see', response: { 200: BrokerInfoSchema } } },
    async (request): Promise<BrokerInfo> => {
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      return {
        version: SERVER_VERSION,
        brokerId: app.webka.cluster?.nodeId ?? 0,
        startedAt,
        uptimeMs: Date.now() - startedAt,
        authEnabled: app.security.enabled,
        // a single node is its own controller
        brokers: app.webka.cluster === undefined ? [{ brokerId: 0, host: config.host, port, controller: true, alive: true }] : (await app.webka.cluster.brokers()).map(asNode),
        totals: await totals(request),
        authorizedOperations: authorizedOperations(app, request, resources.broker()),
      };
    },
  );

  app.get(
    '/brokers',
    {
      schema: {
        tags: ['ops'],
        summary: 'The live brokers of the cluster and which one is controller (a single node lists itself)',
        response: { 200: Type.Object({ brokers: Type.Array(Type.Object({ nodeId: Type.Integer(), url: Type.String(), alive: Type.Boolean(), controller: Type.Boolean() })) }) },
      },
    },
    async (request) => {
      const cluster = app.webka.cluster;
      if (cluster !== undefined) return { brokers: await cluster.brokers() };
      // a single node is its own controller; its URL is the one the caller reached
      return { brokers: [{ nodeId: 0, url: `${request.protocol}://${request.host}`, alive: true, controller: true }] };
    },
  );

  app.get(
    '/topic-configs',
    { schema: { tags: ['topics'], summary: 'Every topic config with its type, default, range and doc', response: { 200: Type.Object({ configs: Type.Array(TopicConfigDocSchema) }) } } },
    async () => ({
      configs: Object.entries(TOPIC_CONFIGS).map(([name, d]) => ({ name, type: d.type, default: d.default, ...(d.min !== undefined ? { min: d.min } : {}), ...(d.values ? { values: [...d.values] } : {}), doc: d.doc })),
    }),
  );
}
