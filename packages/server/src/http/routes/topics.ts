import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateTopicBody, AlterTopicBody, TopicSchema, PartitionInfoSchema, AuthorizedOperationsSchema, collisionKey } from '@webka/protocol';
import { authorizedOperations } from '../authorized-operations.js';
import { WebkaError } from '../../errors.js';
import type { TopicRecord } from '../../catalog/catalog-store.js';
import { forward, isForwarded } from '../forward.js';

const ClusterParams = Type.Object({ cluster: Type.String() });
const TopicParams = Type.Object({ cluster: Type.String(), topic: Type.String() });
const err = { $ref: 'Error#' };
const MAX_PAGE = 1000;
const ListQuery = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 249, description: 'Only topics whose name contains this text, ignoring case' })),
    // query values are strings (no type coercion): the handler reads these as integers and says
    // what is wrong with one (a schema pattern on "offset" would answer a record offset's error)
    offset: Type.Optional(Type.String({ maxLength: 16, description: 'Skip this many of the matching topics (sorted by name); 0 by default' })),
    limit: Type.Optional(Type.String({ maxLength: 16, description: `At most this many topics (1 to ${MAX_PAGE}); all of them by default` })),
  },
  { additionalProperties: false },
);

const TopicDescription = Type.Object({
  ...TopicSchema.properties,
  effectiveConfigs: Type.Record(Type.String(), Type.Object({ value: Type.Union([Type.Integer(), Type.String()]), source: Type.String() })),
  partitionInfo: Type.Array(PartitionInfoSchema),
  authorizedOperations: AuthorizedOperationsSchema,
});

/** A paging parameter as an integer in [min, max], undefined when absent; else 400 saying what to send. */
function pageNumber(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new WebkaError('INVALID_REQUEST', `querystring/${name} must be an integer from ${min}${max === MAX_PAGE ? ` to ${max}` : ' up'} (got "${text}")`);
  return n;
}

function show(t: TopicRecord) {
  return { name: t.name, cluster: t.cluster, partitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs, createdAt: t.createdAt };
}

export async function topicRoutes(app: FastifyInstance): Promise<void> {
  const { broker } = app.webka;
  const { authorize, isAdmin } = app.security;
  const collidingTopic = (cluster: string, name: string): string | undefined => broker.listTopics(cluster).find((t) => collisionKey(t.name) === collisionKey(name))?.name;
  const describe = (request: FastifyRequest, cluster: string, topic: string) => {
    const d = broker.describeTopic(cluster, topic);
    const authorized = authorizedOperations(app, request, { type: 'topic', cluster, name: topic });
    const replication = app.webka.replication;
    const partitions = replication === undefined ? d.partitions : d.partitions.map((p) => ({ ...p, ...replication.view(d.topic.id, p.partition) }));
    return { ...show(d.topic), effectiveConfigs: d.configs, partitionInfo: partitions, authorizedOperations: authorized };
  };

  app.get<{ Params: { cluster: string }; Querystring: { search?: string; offset?: string; limit?: string } }>(
    '/clusters/:cluster/topics',
    {
      schema: {
        tags: ['topics'],
        summary: 'List topics, sorted by name: the ones the caller may describe, optionally only those matching a search, a page at a time',
        params: ClusterParams,
        querystring: ListQuery,
        response: { 200: Type.Object({ topics: Type.Array(TopicSchema), total: Type.Integer({ description: 'How many topics match (the caller may describe, and the search), over every page' }) }), 400: err, 404: err },
      },
    },
    async (request) => {
      const { cluster } = request.params;
      const { search } = request.query;
      const offset = pageNumber('offset', request.query.offset, 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const limit = pageNumber('limit', request.query.limit, 1, MAX_PAGE);
      const p = request.principal;
      const needle = search?.toLowerCase() ?? '';
      // Filtered here, before paging, so that pages are full and total counts only what the
      // caller may see (the permission table's list filter then has nothing left to remove).
      const matching = broker
        .listTopics(cluster)
        .filter((t) => !t.internal && (needle === '' || t.name.toLowerCase().includes(needle)) && (isAdmin(p) || authorize(p, 'describe', { type: 'topic', cluster, name: t.name })));
      const page = limit === undefined ? matching.slice(offset) : matching.slice(offset, offset + limit);
      return { topics: page.map(show), total: matching.length };
    },
  );

  app.post<{ Params: { cluster: string }; Body: CreateTopicBody }>(
    '/clusters/:cluster/topics',
    {
      schema: {
        tags: ['topics'],
        summary: 'Create a topic (partitions, replication factor and configs default to the cluster\'s)',
        // the docs page prefills these; with the produce example they work as given (a test sends both)
        params: Type.Object({ cluster: Type.String({ examples: ['default'] }) }),
        body: { ...CreateTopicBody, examples: [{ name: 'events', partitions: 3 }] },
        response: { 201: TopicDescription, 400: err, 404: err, 409: err, 422: err },
      },
    },
    async (request, reply) => {
      let t: TopicRecord;
      const { replication, cluster: member } = app.webka;
      // in a cluster the controller defines topics: another broker forwards the request to it
      if (replication !== undefined && member !== undefined && member.term === null) return toController(request, reply, 'create the topic');
      try {
        t = replication === undefined ? broker.createTopic(request.params.cluster, request.body) : await replication.createTopic(request.params.cluster, request.body);
      } catch (e) {
        // The catalog does not name the topic a new name collides with (the caller may not see
        // it); a caller who may describe it is told which it is.
        const clash = e instanceof WebkaError && e.code === 'TOPIC_EXISTS' ? collidingTopic(request.params.cluster, request.body.name) : undefined;
        if (clash !== undefined && clash !== request.body.name && app.security.authorize(request.principal, 'describe', { type: 'topic', cluster: request.params.cluster, name: clash })) {
          throw new WebkaError('TOPIC_EXISTS', `topic "${request.body.name}" collides with existing topic "${clash}" (names differing only by case or by "." versus "_" collide)`);
        }
        throw e;
      }
      return reply.code(201).send(describe(request, t.cluster, t.name));
    },
  );

  /** In a cluster, topics are changed by the controller: a broker that is not forwards the request to it. */
  async function toController(request: FastifyRequest, reply: FastifyReply, what: string): Promise<FastifyReply> {
    const member = app.webka.cluster!;
    const controller = isForwarded(request) ? null : await member.controller();
    if (controller === null) throw new WebkaError('NOT_CONTROLLER', `the cluster has no controller to ${what} right now (an election is under way); retry in a moment`);
    return forward(request, reply, controller.url, member.nodeId);
  }
  /** __consumer_offsets holds every group's committed offsets, in a fixed number of partitions: the broker manages it. */
  const refuseInternal = (cluster: string, topic: string, what: string): void => {
    if (broker.catalog.findTopic(cluster, topic)?.internal === true) throw new WebkaError('INVALID_REQUEST', `"${topic}" is an internal topic (the broker manages it: it holds every group's committed offsets) and cannot be ${what}`);
  };
  const notController = (): boolean => app.webka.replication !== undefined && app.webka.cluster !== undefined && app.webka.cluster.term === null;

  app.get<{ Params: { cluster: string; topic: string } }>(
    '/clusters/:cluster/topics/:topic',
    { schema: { tags: ['topics'], summary: 'Describe a topic: configs and, per partition, offsets, bytes and segments', params: TopicParams, response: { 200: TopicDescription, 404: err } } },
    async (request) => describe(request, request.params.cluster, request.params.topic),
  );

  app.patch<{ Params: { cluster: string; topic: string }; Body: AlterTopicBody }>(
    '/clusters/:cluster/topics/:topic',
    { schema: { tags: ['topics'], summary: 'Change configs (null removes an override) or add partitions', params: TopicParams, body: AlterTopicBody, response: { 200: TopicDescription, 400: err, 404: err, 422: err } } },
    async (request, reply) => {
      const replication = app.webka.replication;
      refuseInternal(request.params.cluster, request.params.topic, 'changed');
      if (notController()) return toController(request, reply, 'change the topic');
      if (replication === undefined) broker.alterTopic(request.params.cluster, request.params.topic, request.body);
      else await replication.alterTopic(request.params.cluster, request.params.topic, request.body);
      return describe(request, request.params.cluster, request.params.topic);
    },
  );

  app.delete<{ Params: { cluster: string; topic: string } }>(
    '/clusters/:cluster/topics/:topic',
    { schema: { tags: ['topics'], summary: 'Delete a topic and its data (an internal topic is refused: 400)', params: TopicParams, response: { 400: err, 404: err } } },
    async (request, reply) => {
      const replication = app.webka.replication;
      refuseInternal(request.params.cluster, request.params.topic, 'deleted');
      if (notController()) return toController(request, reply, 'delete the topic');
      if (replication === undefined) await broker.deleteTopic(request.params.cluster, request.params.topic);
      else await replication.deleteTopic(request.params.cluster, request.params.topic);
      return reply.code(204).send();
    },
  );
}
