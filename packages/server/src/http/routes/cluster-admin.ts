/**
 * A cluster's admin operations (docs/replication.md#moving-partitions-and-draining-brokers):
 *   POST/GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/reassignment
 *   GET      /v1/reassignments                      every reassignment in progress
 *   POST     /v1/preferred-leader-election          leadership back to the first replicas
 *   POST/GET/DELETE /v1/brokers/:nodeId/drain       move leadership (and replicas) off a broker
 * Changes of partition state are the controller's: another broker forwards them to it. Progress
 * is read from the partition states every broker follows, on any broker. With authentication on,
 * changes need alter, and reads describe, on the whole broker ({"type":"cluster","name":"*"}).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { DrainStatusSchema, PreferredLeaderResultSchema, ReassignmentSchema } from '@webka/protocol';
import { WebkaError } from '../../errors.js';
import { forward, isForwarded } from '../forward.js';
import type { ReplicaManager } from '../../replication/replica-manager.js';

const err = { $ref: 'Error#' };
const PartitionParams = Type.Object({ cluster: Type.String(), topic: Type.String(), partition: Type.String({ pattern: '^[0-9]{1,9}$' }) });
const BrokerParams = Type.Object({ nodeId: Type.String({ pattern: '^[0-9]{1,10}$' }) });
const Reassignment = ReassignmentSchema;
const Drain = DrainStatusSchema;
const Election = Type.Object({ partitions: Type.Array(PreferredLeaderResultSchema) });

export async function clusterAdminRoutes(app: FastifyInstance): Promise<void> {
  function replication(): ReplicaManager {
    const r = app.webka.replication;
    if (r === undefined) throw new WebkaError('NOT_FOUND', 'this broker runs alone (no coordinator): there are no replicas to move or brokers to drain; see docs/replication.md to run a cluster');
    return r;
  }

  /**
   * On a broker that is not the controller: the request goes to the controller (one hop) and
   * true says it was answered. (A boolean, not the reply: a FastifyReply is a thenable, so an
   * awaited one reads as undefined.)
   */
  async function toController(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const member = app.webka.cluster;
    replication();
    if (member === undefined || member.term !== null) return false;
    const controller = isForwarded(request) ? null : await member.controller();
    if (controller === null) throw new WebkaError('NOT_CONTROLLER', 'the cluster has no controller to take this right now (an election is under way); retry in a moment');
    await forward(request, reply, controller.url, member.nodeId);
    return true;
  }

  app.post<{ Params: { cluster: string; topic: string; partition: string }; Body: { replicas: number[] } }>(
    '/clusters/:cluster/topics/:topic/partitions/:partition/reassignment',
    {
      schema: {
        tags: ['replication'],
        summary: 'Move a partition\'s replicas to a new set (the first is the preferred leader): new replicas catch up and join the ISR, leadership moves if its broker leaves, then the old replicas are removed',
        params: PartitionParams,
        body: Type.Object({ replicas: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false, examples: [{ replicas: [2, 3, 4] }] }),
        response: { 202: Reassignment, 400: err, 404: err, 409: err, 422: err, 503: err },
      },
    },
    async (request, reply) => {
      if (await toController(request, reply)) return reply;
      const p = request.params;
      return reply.code(202).send(await replication().reassign(p.cluster, p.topic, Number(p.partition), request.body.replicas));
    },
  );

  app.get<{ Params: { cluster: string; topic: string; partition: string } }>(
    '/clusters/:cluster/topics/:topic/partitions/:partition/reassignment',
    { schema: { tags: ['replication'], summary: 'A partition\'s reassignment: its target replicas, which added replicas are in sync, and what is still to remove', params: PartitionParams, response: { 200: Reassignment, 404: err } } },
    async (request) => replication().reassignment(request.params.cluster, request.params.topic, Number(request.params.partition)),
  );

  app.get(
    '/reassignments',
    { schema: { tags: ['replication'], summary: 'Every partition reassignment in progress', response: { 200: Type.Object({ reassignments: Type.Array(Reassignment) }), 404: err } } },
    async () => ({ reassignments: replication().reassignments() }),
  );

  app.post<{ Body: { cluster?: string; topic?: string; partition?: number } | undefined }>(
    '/preferred-leader-election',
    {
      schema: {
        tags: ['replication'],
        summary: 'Give leadership back to each partition\'s first replica where it is alive and in sync (all partitions, or those of a topic or one partition)',
        body: Type.Optional(Type.Object({ cluster: Type.Optional(Type.String()), topic: Type.Optional(Type.String()), partition: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false })),
        response: { 200: Election, 400: err, 404: err, 503: err },
      },
    },
    async (request, reply) => {
      if (await toController(request, reply)) return reply;
      const body = request.body ?? {};
      if (body.partition !== undefined && body.topic === undefined) throw new WebkaError('INVALID_REQUEST', 'partition needs topic: name the topic whose partition to elect');
      return { partitions: await replication().electPreferredLeaders(body) };
    },
  );

  app.post<{ Params: { nodeId: string }; Body: { replicas?: boolean } | undefined }>(
    '/brokers/:nodeId/drain',
    {
      schema: {
        tags: ['replication'],
        summary: 'Drain a broker before stopping it: its leaderships move to other in-sync replicas and it leaves every ISR (with replicas: true its replicas move to other brokers too); it leads nothing until the drain is cancelled',
        params: BrokerParams,
        body: Type.Optional(Type.Object({ replicas: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
        response: { 202: Drain, 400: err, 404: err, 409: err },
      },
    },
    async (request, reply) => reply.code(202).send(await replication().drain(Number(request.params.nodeId), request.body?.replicas === true)),
  );

  app.get<{ Params: { nodeId: string } }>(
    '/brokers/:nodeId/drain',
    { schema: { tags: ['replication'], summary: 'How far a broker\'s drain has come: leaderships, in-sync and hosted replicas left, and partitions whose leadership cannot move', params: BrokerParams, response: { 200: Drain, 404: err } } },
    async (request) => replication().drainStatus(Number(request.params.nodeId)),
  );

  app.delete<{ Params: { nodeId: string } }>(
    '/brokers/:nodeId/drain',
    { schema: { tags: ['replication'], summary: 'Cancel a broker\'s drain: it may lead and join ISRs again (after a restart too)', params: BrokerParams, response: { 200: Drain, 404: err, 409: err } } },
    async (request) => replication().undrain(Number(request.params.nodeId)),
  );
}
