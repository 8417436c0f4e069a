/**
 * Kafka's transactions (KIP-98, KIP-447) over the HTTP API's transaction coordinator
 * (docs/transactions.md): a Kafka transactional.id is a transactional id of the listener's
 * cluster, whichever protocol initialised it. InitProducerId with a transactional id (in
 * init-producer-id.ts) is the coordinator's init; AddPartitionsToTxn joins partitions to the
 * open transaction (a transactional Produce also joins the partitions it writes to, as over
 * HTTP); AddOffsetsToTxn checks the producer; TxnOffsetCommit keeps consumer offsets with the
 * transaction; EndTxn commits or aborts it. Each needs write on the cluster, as over HTTP.
 */
import { AddOffsetsToTxn, AddPartitionsToTxn, EndTxn, TxnOffsetCommit } from '../messages-txn.js';
import { KafkaError, KafkaErrors, txnErrorCode } from '../error-codes.js';
import { memberOwner, type ApiHandler, type KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import type { TransactionCoordinator, TxnCaller } from '../../transactions/transaction-coordinator.js';
import { commitOffsets } from './offsets.js';

/** The coordinator and the caller, once the connection may write on the cluster. */
export function txnAccess(ctx: KafkaContext): { txns: TransactionCoordinator; caller: TxnCaller } {
  ctx.require('write', 'cluster');
  if (ctx.transactions === null) throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'this listener serves no transaction coordinator');
  return { txns: ctx.transactions, caller: ctx.conn.principal! };
}

/**
 * Joins one transaction's topics' partitions to it, or with verifyOnly checks that they joined
 * already (INVALID_TXN_STATE for one that did not); one error code per partition.
 */
async function addPartitions(ctx: KafkaContext, txn: Message, verifyOnly: boolean): Promise<Array<{ name: string; results: Array<{ partitionIndex: number; errorCode: number }> }>> {
  const cluster = ctx.settings.cluster;
  const producer = { producerId: txn.producerId, producerEpoch: txn.producerEpoch };
  const results = [];
  for (const t of txn.topics as Message[]) {
    const partitions = t.partitions as number[];
    let errorCode = 0;
    let joined: Set<number> | null = null;
    try {
      const { txns, caller } = txnAccess(ctx);
      ctx.require('write', 'topic', t.name);
      for (const p of partitions) ctx.broker.partition(cluster, t.name, p);
      if (verifyOnly) {
        txns.verify(cluster, txn.transactionalId, producer, caller);
        joined = new Set(txns.describe(cluster, txn.transactionalId, caller).partitions.filter((p) => p.topic === t.name).map((p) => p.partition));
      } else {
        // answered before the join is durable: the Produce that follows waits for it (TransactionCoordinator.join)
        (await txns.join(cluster, txn.transactionalId, producer, caller, t.name, partitions)).release();
      }
    } catch (err) {
      errorCode = txnErrorCode(err);
    }
    const code = (p: number): number => (errorCode === 0 && joined !== null && !joined.has(p) ? KafkaErrors.INVALID_TXN_STATE : errorCode);
    results.push({ name: t.name, results: partitions.map((partitionIndex) => ({ partitionIndex, errorCode: code(partitionIndex) })) });
  }
  return results;
}

export const addPartitionsToTxnHandler: ApiHandler = {
  def: AddPartitionsToTxn,
  async handle(ctx, req, version) {
    if (version <= 3) return { throttleTimeMs: 0, results: await addPartitions(ctx, req, false) };
    const resultsByTransaction = [];
    for (const txn of req.transactions as Message[]) {
      const topics = await addPartitions(ctx, txn, txn.verifyOnly === true);
      resultsByTransaction.push({
        transactionalId: txn.transactionalId,
        topicResults: topics.map((t) => ({ name: t.name, resultsByPartition: t.results.map((r) => ({ partitionIndex: r.partitionIndex, partitionErrorCode: r.errorCode })) })),
      });
    }
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction };
  },
};

export const addOffsetsToTxnHandler: ApiHandler = {
  def: AddOffsetsToTxn,
  handle(ctx, req) {
    try {
      const { txns, caller } = txnAccess(ctx);
      ctx.require('read', 'group', req.groupId);
      txns.verify(ctx.settings.cluster, req.transactionalId, { producerId: req.producerId, producerEpoch: req.producerEpoch }, caller);
      return { throttleTimeMs: 0, errorCode: 0 };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: txnErrorCode(err) };
    }
  },
};

export const txnOffsetCommitHandler: ApiHandler = {
  def: TxnOffsetCommit,
  handle(ctx, req) {
    const cluster = ctx.settings.cluster;
    return commitOffsets(
      ctx,
      req,
      (offsets) => {
        const { txns, caller } = txnAccess(ctx);
        return txns.addOffsetsAtGroup(cluster, req.transactionalId, { producerId: req.producerId, producerEpoch: req.producerEpoch }, caller, {
          groupId: req.groupId,
          offsets,
          // versions 0-2 name no member (Kafka checks none); from 3 the member's generation is checked
          checkMember: () => {
            if (req.memberId !== '' || req.generationId >= 0) ctx.groups.checkMemberCommit(cluster, req.groupId, req.memberId, memberOwner(ctx), req.generationId);
          },
        });
      },
      txnErrorCode,
    );
  },
};

export const endTxnHandler: ApiHandler = {
  def: EndTxn,
  async handle(ctx, req) {
    try {
      const { txns, caller } = txnAccess(ctx);
      await txns.end(ctx.settings.cluster, req.transactionalId, { producerId: req.producerId, producerEpoch: req.producerEpoch }, caller, req.committed ? 'commit' : 'abort');
      return { throttleTimeMs: 0, errorCode: 0 };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: txnErrorCode(err) };
    }
  },
};
