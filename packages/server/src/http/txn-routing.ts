/**
 * Transactions in a cluster (docs/transactions.md, "In a cluster"): a transactional id's
 * coordinator is the leader of its `__transaction_state` partition (Kafka's rule), so it moves
 * with that partition's leadership and its state is replicated with it. Any broker takes a
 * transaction call, and a transactional produce: one that does not coordinate the id forwards it
 * there (forward.ts: one hop, the caller's principal asserted). The coordinator joins the
 * partitions to the transaction, sends the shares other brokers lead to them as binary produces
 * marked as joined already (produce-split.ts, TXN_SHARE), writes the markers at each partition's leader, and the
 * offsets at each group's coordinator, through one inter-broker route (POST
 * /v1/internal/clusters/:cluster/transactions, below). A Kafka client produces to each leader
 * itself, after adding the partition at the coordinator: the leader asks the coordinator whether
 * it did (check-joined) before the first batch of a transaction in the partition. `__transaction_state` is defined through
 * the controller the first time a transaction call needs it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS, groupPartition, type OffsetCommit } from '../groups/offset-store.js';
import { TXN_TOPIC, TXN_TOPIC_CONFIGS, TXN_TOPIC_PARTITIONS, type TxnPartition } from '../transactions/txn-state-log.js';
import type { TxnRemote } from '../transactions/transaction-coordinator.js';
import type { MarkerType } from '../storage/control-record.js';
import { forward, isForwarded } from './forward.js';
import { brokerPost, type BrokerAnswer } from '../replication/broker-http.js';

/** How long another broker may take to answer a coordinator's call. */
const CALL_TIMEOUT_MS = 30_000;

/**
 * The node id of the transactional id's coordinator (-1: none now), defining the state topic
 * first if the cluster has none. Undefined outside a cluster.
 */
export async function txnCoordinatorOf(app: FastifyInstance, cluster: string, transactionalId: string): Promise<number | undefined> {
  const replication = app.webka.replication;
  if (replication === undefined) return undefined;
  app.webka.broker.catalog.getCluster(cluster);
  await replication.ensureInternalTopic(cluster, TXN_TOPIC, TXN_TOPIC_PARTITIONS, TXN_TOPIC_CONFIGS);
  return replication.leaderOf(cluster, TXN_TOPIC, groupPartition(transactionalId, TXN_TOPIC_PARTITIONS)) ?? -1;
}

/**
 * In a cluster: the coordinator's node id when it is another broker and the request may go there
 * (undefined: this broker serves it, once the id's state is loaded). NOT_COORDINATOR while the id
 * has no coordinator, or when a forwarded request meets a broker that no longer is it.
 */
export async function txnCoordinatorElsewhere(app: FastifyInstance, request: FastifyRequest, cluster: string, transactionalId: unknown): Promise<number | undefined> {
  const member = app.webka.cluster;
  if (member === undefined || typeof transactionalId !== 'string') return undefined;
  const coordinator = await txnCoordinatorOf(app, cluster, transactionalId);
  if (coordinator === undefined) return undefined;
  if (coordinator === member.nodeId) {
    await app.webka.transactions?.ready(cluster, transactionalId);
    return undefined;
  }
  if (coordinator < 0 || isForwarded(request)) {
    throw new WebkaError('NOT_COORDINATOR', `broker ${member.nodeId} does not coordinate transactional id "${transactionalId}" and cannot forward the call (coordinator: ${coordinator < 0 ? 'none, an election is under way' : `broker ${coordinator}`}); retry in a moment`, { coordinator });
  }
  return coordinator;
}

/** Forwards the request to the broker `nodeId`. */
export async function forwardTo(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, nodeId: number): Promise<FastifyReply> {
  const member = app.webka.cluster!;
  const url = await member.brokerUrl(nodeId);
  if (url === undefined) throw new WebkaError('NOT_COORDINATOR', `broker ${nodeId}, the coordinator, is not live; retry in a moment`, { coordinator: nodeId });
  return forward(request, reply, url, member.nodeId);
}

/** A preHandler for the routes that name a transactional id: forwards the call to its coordinator in a cluster. */
export function routeToTxnCoordinator(app: FastifyInstance) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const { cluster, transactionalId } = request.params as { cluster?: string; transactionalId?: string };
    if (cluster === undefined || transactionalId === undefined) return undefined;
    const to = await txnCoordinatorElsewhere(app, request, cluster, transactionalId);
    return to === undefined ? undefined : forwardTo(app, request, reply, to);
  };
}

type Call =
  | { op: 'first-offsets'; producerId: number; partitions: TxnPartition[] }
  | { op: 'markers'; producerId: number; producerEpoch: number; type: MarkerType; partitions: Array<TxnPartition & { firstOffset?: number }> }
  | { op: 'offsets-end'; groupId: string }
  | { op: 'commit-offsets'; groupId: string; offsets: OffsetCommit[]; end: number | null }
  | { op: 'check-member'; groupId: string; memberId: string; generation: number; principal: string; offsets: OffsetCommit[] }
  | { op: 'add-offsets'; transactionalId: string; producerId: number; producerEpoch: number; principal: string; superuser: boolean; groupId: string; offsets: OffsetCommit[] }
  | { op: 'check-joined'; transactionalId: string; producerId: number; producerEpoch: number; principal: string; superuser: boolean; topic: string; indexes: number[] };

/** What the coordinator asks of other brokers, over the inter-broker route below. */
export function clusterTxnRemote(app: FastifyInstance): TxnRemote & { checkMember(cluster: string, coordinator: number, input: Omit<Extract<Call, { op: 'check-member' }>, 'op'>): Promise<void> } {
  const member = () => app.webka.cluster!;
  const replication = () => app.webka.replication!;
  async function call<T>(cluster: string, nodeId: number, body: Call): Promise<T> {
    const url = await member().brokerUrl(nodeId);
    if (url === undefined) throw new WebkaError('NOT_LEADER', `broker ${nodeId} is not live; retry`, { leader: nodeId });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = app.security.interBroker?.header();
    if (auth !== undefined) headers.authorization = auth;
    let res: BrokerAnswer;
    let text: string;
    try {
      res = await brokerPost(`${url}/v1/internal/clusters/${encodeURIComponent(cluster)}/transactions`, headers, JSON.stringify(body), CALL_TIMEOUT_MS);
      text = res.body.toString('utf8');
    } catch (err) {
      throw new WebkaError('NOT_LEADER', `broker ${nodeId} did not answer (${body.op}): ${(err as Error).message}; retry`, { leader: nodeId });
    }
    const parsed = JSON.parse(text) as { result?: T; error?: { code: string; message: string } & Record<string, unknown> };
    if (res.status !== 200) {
      const { code, message, ...details } = parsed.error ?? { code: 'INTERNAL', message: `broker ${nodeId} answered ${res.status}` };
      throw new WebkaError(Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'INTERNAL', message, details);
    }
    return parsed.result as T;
  }
  function coordinatorOf(cluster: string, transactionalId: string): number {
    const coordinator = replication().leaderOf(cluster, TXN_TOPIC, groupPartition(transactionalId, TXN_TOPIC_PARTITIONS)) ?? -1;
    if (coordinator < 0) throw new WebkaError('NOT_COORDINATOR', `transactional id "${transactionalId}" has no coordinator now (an election is under way); retry`);
    return coordinator;
  }
  return {
    leaderElsewhere(cluster, topic, partition) {
      const leader = replication().leaderOf(cluster, topic, partition);
      return leader === undefined || leader === member().nodeId ? undefined : leader;
    },
    groupElsewhere(cluster, groupId) {
      const leader = replication().leaderOf(cluster, OFFSETS_TOPIC, groupPartition(groupId, OFFSETS_TOPIC_PARTITIONS));
      return leader === member().nodeId ? undefined : (leader ?? -1);
    },
    firstOffsets: (cluster, leader, producerId, partitions) => call(cluster, leader, { op: 'first-offsets', producerId, partitions }),
    writeMarkers: (cluster, leader, marker, partitions) => call(cluster, leader, { op: 'markers', ...marker, partitions }),
    offsetsEnd: (cluster, coordinator, groupId) => call(cluster, coordinator, { op: 'offsets-end', groupId }),
    commitOffsets: (cluster, coordinator, groupId, offsets, end) => call(cluster, coordinator, { op: 'commit-offsets', groupId, offsets, end }),
    checkMember: (cluster, coordinator, input) => call(cluster, coordinator, { op: 'check-member', ...input }),
    async verifyJoined(cluster, transactionalId, { producer, caller, topic, partitions }) {
      await call(cluster, coordinatorOf(cluster, transactionalId), { op: 'check-joined', transactionalId, ...producer, principal: caller.name, superuser: caller.superuser, topic, indexes: partitions });
    },
    async addOffsets(cluster, transactionalId, { producer, caller, groupId, offsets }) {
      await call(cluster, coordinatorOf(cluster, transactionalId), { op: 'add-offsets', transactionalId, ...producer, principal: caller.name, superuser: caller.superuser, groupId, offsets });
    },
  };
}

const TP = Type.Object({ topic: Type.String(), partition: Type.Integer({ minimum: 0 }), firstOffset: Type.Optional(Type.Integer()) });
const Offset = Type.Object({ topic: Type.String(), partition: Type.Integer({ minimum: 0 }), offset: Type.Integer({ minimum: 0 }), metadata: Type.Optional(Type.Union([Type.String(), Type.Null()])) });
const CallBody = Type.Object({
  op: Type.Union([Type.Literal('first-offsets'), Type.Literal('markers'), Type.Literal('offsets-end'), Type.Literal('commit-offsets'), Type.Literal('check-member'), Type.Literal('check-joined'), Type.Literal('add-offsets')]),
  transactionalId: Type.Optional(Type.String()),
  superuser: Type.Optional(Type.Boolean()),
  topic: Type.Optional(Type.String()),
  indexes: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 100_000 })),
  producerId: Type.Optional(Type.Integer()),
  producerEpoch: Type.Optional(Type.Integer()),
  type: Type.Optional(Type.Union([Type.Literal('commit'), Type.Literal('abort')])),
  partitions: Type.Optional(Type.Array(TP, { maxItems: 100_000 })),
  groupId: Type.Optional(Type.String()),
  offsets: Type.Optional(Type.Array(Offset, { maxItems: 100_000 })),
  end: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  memberId: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  principal: Type.Optional(Type.String()),
});

/**
 * POST /v1/internal/clusters/:cluster/transactions: a coordinator's call to the leader of
 * partitions its transaction touched (where the producer's open transaction starts; write the
 * markers, answered once committed) or to a group's coordinator (the end of its offsets
 * partition; commit the transaction's offsets; check a member as a commit would). Inter-broker
 * credential only (route-permissions.ts).
 */
export async function txnInternalRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Params: { cluster: string }; Body: Call }>(
    '/internal/clusters/:cluster/transactions',
    { schema: { hide: true, params: Type.Object({ cluster: Type.String() }), body: CallBody } },
    async (request) => {
      const { broker, groups, cluster: member } = app.webka;
      const cluster = request.params.cluster;
      const b = request.body;
      const led = (tp: TxnPartition) => {
        const p = broker.partition(cluster, tp.topic, tp.partition);
        if (p.replica !== null && !p.replica.leads) {
          throw new WebkaError('NOT_LEADER', `broker ${member?.nodeId ?? '?'} does not lead partition ${tp.partition} of topic "${tp.topic}"; retry`, { leader: app.webka.replication?.leaderOf(cluster, tp.topic, tp.partition) ?? -1 });
        }
        return p;
      };
      const coordinated = async (groupId: string) => {
        if (groups === undefined) throw new WebkaError('NOT_COORDINATOR', 'this broker serves no groups');
        const leader = app.webka.replication?.leaderOf(cluster, OFFSETS_TOPIC, groupPartition(groupId, OFFSETS_TOPIC_PARTITIONS));
        if (leader !== undefined && leader !== member?.nodeId) throw new WebkaError('NOT_COORDINATOR', `broker ${member?.nodeId ?? '?'} does not coordinate group "${groupId}"; retry`, { coordinator: leader });
        await groups.offsets.ready(cluster, groupId);
        return groups;
      };
      const transactions = async (transactionalId: string) => {
        const txns = app.webka.transactions;
        if (txns === undefined) throw new WebkaError('NOT_COORDINATOR', 'this broker serves no transactions');
        await txns.ready(cluster, transactionalId);
        return txns;
      };
      switch (b.op) {
        case 'first-offsets':
          return { result: b.partitions.map((tp) => led(tp).txns.firstOffset(b.producerId)) };
        case 'markers': {
          const flushes: Array<Promise<void>> = [];
          for (const tp of b.partitions) {
            const p = led(tp);
            const offset = p.writeMarker(b.producerId, b.producerEpoch, b.type, 0, tp.firstOffset);
            if (offset >= 0) flushes.push(p.flush(offset + 1));
          }
          await Promise.all(flushes);
          return { result: null };
        }
        case 'offsets-end':
          return { result: (await coordinated(b.groupId)).offsets.logEnd(cluster, b.groupId) };
        case 'commit-offsets': {
          const g = await coordinated(b.groupId);
          const end = b.end;
          const fresh = end === null ? b.offsets : b.offsets.filter((o) => (g.offsets.writtenAt(cluster, b.groupId, o.topic, o.partition) ?? -1) < end);
          await g.offsets.commit(cluster, b.groupId, fresh);
          return { result: null };
        }
        case 'check-member': {
          const g = await coordinated(b.groupId);
          g.checkOwner(cluster, b.groupId, b.memberId, b.principal);
          g.checkMemberCommit(cluster, b.groupId, b.memberId, b.generation, b.offsets);
          return { result: null };
        }
        case 'check-joined': {
          const txns = await transactions(b.transactionalId);
          txns.checkJoined(cluster, b.transactionalId, { producerId: b.producerId, producerEpoch: b.producerEpoch }, { name: b.principal, superuser: b.superuser }, b.topic, b.indexes);
          return { result: null };
        }
        case 'add-offsets': {
          const txns = await transactions(b.transactionalId);
          // the group's coordinator, which sent this, has checked the member
          await txns.addOffsets(cluster, b.transactionalId, { producerId: b.producerId, producerEpoch: b.producerEpoch }, { name: b.principal, superuser: b.superuser }, { groupId: b.groupId, offsets: b.offsets, checkMember: () => undefined });
          return { result: null };
        }
      }
    },
  );
}
