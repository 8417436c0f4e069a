/**
 * Transactions over HTTP (docs/transactions.md): initialise a transactional id, add consumer
 * offsets, commit, abort, describe. Produce joins a transaction through the records route
 * (transactionalId in the body). Thin: each handler validates, authorises, makes one
 * coordinator call and replies. The coordinator is created here over the broker and the group
 * coordinator, recovers the transactions a crash left half-ended before the app listens, and is
 * closed with the app.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { InitTransactionBody, EndTransactionBody, AbortTransactionBody, TxnOffsetCommitBody, TransactionDescription, TransactionProducer } from '@webka/protocol';
import { WebkaError } from '../../errors.js';
import { TransactionCoordinator, type TxnCaller } from '../../transactions/transaction-coordinator.js';
import { clusterTxnRemote, forwardTo, routeToTxnCoordinator, txnCoordinatorElsewhere, txnInternalRoutes } from '../txn-routing.js';
import { fromOtherBrokers } from '../group-routing.js';

const ClusterParams = Type.Object({ cluster: Type.String() });
const TxnParams = Type.Object({ cluster: Type.String(), transactionalId: Type.String() });
type T = { cluster: string; transactionalId: string };
const err = { $ref: 'Error#' };
const tags = ['transactions'];

function caller(request: FastifyRequest): TxnCaller {
  return { name: request.principal.name, superuser: request.principal.superuser };
}

export async function transactionRoutes(app: FastifyInstance): Promise<void> {
  const { broker, groups: groupCoordinator } = app.webka;
  if (groupCoordinator === undefined) throw new Error('the groups routes must be registered before the transactions routes');
  // in a cluster an id's coordinator is the leader of its __transaction_state partition (txn-routing.ts)
  const remote = app.webka.config.coordinator === '' ? undefined : clusterTxnRemote(app);
  const coordinator = new TransactionCoordinator(broker, groupCoordinator, { remote });
  app.webka.transactions = coordinator;
  app.addHook('onClose', async () => coordinator.close());
  await coordinator.recover();
  app.addHook('preHandler', routeToTxnCoordinator(app));
  await app.register(txnInternalRoutes);

  app.post<{ Params: { cluster: string }; Body: InitTransactionBody }>(
    '/clusters/:cluster/transactions',
    {
      schema: {
        tags,
        summary: 'Initialise a transactional id: its producer id and a new epoch (fencing the older one and aborting what it left open)',
        params: ClusterParams,
        body: InitTransactionBody,
        response: { 200: TransactionProducer, 400: err, 403: err, 404: err, 409: err },
      },
    },
    async (request, reply) => {
      const to = await txnCoordinatorElsewhere(app, request, request.params.cluster, request.body.transactionalId);
      if (to !== undefined) return forwardTo(app, request, reply, to);
      return coordinator.init(request.params.cluster, request.body.transactionalId, request.body.timeoutMs, caller(request));
    },
  );

  app.get<{ Params: { cluster: string } }>(
    '/clusters/:cluster/transactions',
    { schema: { tags, summary: 'List the transactional ids the caller owns (all, for a superuser), with state, partitions and age', params: ClusterParams, response: { 200: Type.Object({ transactions: Type.Array(TransactionDescription) }), 404: err } } },
    async (request) => {
      const who = caller(request);
      // in a cluster each broker lists the ids it coordinates, and the one asked gathers them
      const mine = coordinator.list(request.params.cluster).filter((t) => who.superuser || t.principal === who.name);
      const others = await fromOtherBrokers(app, request, (body) => (body as { transactions: typeof mine }).transactions);
      return { transactions: [...mine, ...others].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0)) };
    },
  );

  app.get<{ Params: T }>(
    '/clusters/:cluster/transactions/:transactionalId',
    { schema: { tags, summary: 'Describe a transactional id: state, partitions, offsets, age', params: TxnParams, response: { 200: TransactionDescription, 403: err, 404: err } } },
    async (request) => coordinator.describe(request.params.cluster, request.params.transactionalId, caller(request)),
  );

  app.post<{ Params: T; Body: TxnOffsetCommitBody }>(
    '/clusters/:cluster/transactions/:transactionalId/offsets',
    {
      schema: {
        tags,
        summary: 'Commit consumer offsets as part of the open transaction (visible to the group once it commits)',
        params: TxnParams,
        body: TxnOffsetCommitBody,
        response: { 204: Type.Null(), 400: err, 403: err, 404: err, 409: err },
      },
    },
    async (request, reply) => {
      const { cluster, transactionalId } = request.params;
      const b = request.body;
      // as a group commit: read on the group and on each topic named
      if (!app.security.authorize(request.principal, 'read', { type: 'group', cluster, name: b.groupId })) {
        throw new WebkaError('FORBIDDEN', `principal "${request.principal.name}" may not read group "${b.groupId}"`);
      }
      for (const t of new Set(b.offsets.map((o) => o.topic))) {
        if (!app.security.authorize(request.principal, 'read', { type: 'topic', cluster, name: t })) {
          throw new WebkaError('FORBIDDEN', `principal "${request.principal.name}" may not read topic "${t}"`);
        }
      }
      await coordinator.addOffsets(cluster, transactionalId, b, caller(request), {
        groupId: b.groupId,
        offsets: b.offsets,
        // another principal's member is answered as a missing one (docs/security.md, "Ownership")
        checkMember: async () => {
          // in a cluster the group's coordinator checks, when it is another broker
          const at = remote?.groupElsewhere(cluster, b.groupId);
          if (at !== undefined) {
            if (at < 0) throw new WebkaError('NOT_COORDINATOR', `group "${b.groupId}" has no coordinator now (an election is under way); retry in a moment`);
            return remote!.checkMember(cluster, at, { groupId: b.groupId, memberId: b.memberId, generation: b.generation, principal: request.principal.name, offsets: b.offsets });
          }
          groupCoordinator.checkOwner(cluster, b.groupId, b.memberId, request.principal.name);
          groupCoordinator.checkMemberCommit(cluster, b.groupId, b.memberId, b.generation, b.offsets);
        },
      });
      return reply.code(204).send();
    },
  );

  for (const type of ['commit', 'abort'] as const) {
    app.post<{ Params: T; Body: AbortTransactionBody }>(
      `/clusters/:cluster/transactions/:transactionalId/${type}`,
      {
        schema: {
          tags,
          summary:
            type === 'commit'
              ? 'Commit the open transaction: markers to every partition it wrote to, then its offsets; answered once durable'
              : 'Abort the open transaction. Without a body (an operator\'s abort), its producer is fenced too',
          params: TxnParams,
          body: type === 'commit' ? EndTransactionBody : AbortTransactionBody,
          response: { 200: TransactionDescription, 400: err, 403: err, 404: err, 409: err },
        },
        // an operator's abort has no body; the validator would refuse a missing one as "not an object"
        preValidation: async (request) => {
          if (type === 'abort' && (request.body === undefined || request.body === null)) request.body = {};
        },
      },
      async (request) => {
        const { cluster, transactionalId } = request.params;
        const { producerId, producerEpoch } = request.body;
        if (producerId === undefined && producerEpoch === undefined) return coordinator.adminAbort(cluster, transactionalId, caller(request));
        if (producerId === undefined || producerEpoch === undefined) throw new WebkaError('INVALID_REQUEST', 'give producerId and producerEpoch together (or neither, for an operator\'s abort)');
        return coordinator.end(cluster, transactionalId, { producerId, producerEpoch }, caller(request), type);
      },
    );
  }
}
