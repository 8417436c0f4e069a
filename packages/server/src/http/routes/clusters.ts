import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateClusterBody, UpdateClusterBody, ClusterSchema } from '@webka/protocol';
import type { ClusterRecord } from '../../catalog/catalog-store.js';
import { authorizedOperations } from '../authorized-operations.js';
import { WebkaError } from '../../errors.js';

const Params = Type.Object({ cluster: Type.String() });
const err = { $ref: 'Error#' };

export async function clusterRoutes(app: FastifyInstance): Promise<void> {
  const { broker } = app.webka;
  const show = (c: ClusterRecord) => ({ ...c, topics: broker.listTopics(c.name).filter((t) => !t.internal).length });

  app.get('/clusters', { schema: { tags: ['clusters'], summary: 'List clusters', response: { 200: Type.Object({ clusters: Type.Array(ClusterSchema) }) } } }, async () => ({
    clusters: broker.listClusters().map(show),
  }));

  app.post<{ Body: CreateClusterBody }>(
    '/clusters',
    { schema: { tags: ['clusters'], summary: 'Create a cluster with its defaults for new topics', body: CreateClusterBody, response: { 201: ClusterSchema, 400: err, 409: err } } },
    async (request, reply) => {
      const b = request.body;
      const c = broker.createCluster(b.name, b.description, b.defaults);
      return reply.code(201).send(show(c));
    },
  );

  app.get<{ Params: { cluster: string } }>(
    '/clusters/:cluster',
    { schema: { tags: ['clusters'], summary: 'Describe a cluster', params: Params, response: { 200: ClusterSchema, 404: err } } },
    async (request) => {
      const c = broker.catalog.getCluster(request.params.cluster);
      return { ...show(c), authorizedOperations: authorizedOperations(app, request, { type: 'cluster', name: c.name }) };
    },
  );

  app.patch<{ Params: { cluster: string }; Body: UpdateClusterBody }>(
    '/clusters/:cluster',
    { schema: { tags: ['clusters'], summary: 'Change a cluster\'s description or defaults (topics without overrides follow)', params: Params, body: UpdateClusterBody, response: { 200: ClusterSchema, 400: err, 404: err } } },
    async (request) => show(broker.updateCluster(request.params.cluster, request.body.description, request.body.defaults)),
  );

  app.delete<{ Params: { cluster: string } }>(
    '/clusters/:cluster',
    { schema: { tags: ['clusters'], summary: 'Delete an empty cluster', params: Params, response: { 404: err, 409: err } } },
    async (request, reply) => {
      const cluster = request.params.cluster;
      try {
        broker.deleteCluster(cluster);
      } catch (e) {
        // The catalog names no topic (the caller may not see them); name one the caller may describe.
        if (!(e instanceof WebkaError && e.code === 'CLUSTER_NOT_EMPTY')) throw e;
        const topics = broker.listTopics(cluster).filter((t) => !t.internal);
        const visible = topics.find((t) => app.security.authorize(request.principal, 'describe', { type: 'topic', cluster, name: t.name }));
        if (visible === undefined) throw e;
        throw new WebkaError('CLUSTER_NOT_EMPTY', `cluster "${cluster}" still holds ${topics.length} topic(s), e.g. "${visible.name}"; delete them first`);
      }
      return reply.code(204).send();
    },
  );
}
