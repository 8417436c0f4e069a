/**
 * InitProducerId: a producer id and epoch from the catalog, the same ids HTTP producers get
 * (POST /v1/clusters/{cluster}/producers), so one table of epochs fences both. With a
 * transactional id it is the transaction coordinator's init (POST /v1/clusters/{c}/transactions):
 * a new epoch fencing the previous instance, after aborting what that instance left open.
 */
import { InitProducerId } from '../messages-core.js';
import { KafkaError, kafkaErrorCode, txnErrorCode } from '../error-codes.js';
import type { ApiHandler } from '../context.js';
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '../../transactions/transaction-coordinator.js';
import { txnAccess } from './transactions.js';

const failed = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });

export const initProducerIdHandler: ApiHandler = {
  def: InitProducerId,
  async handle(ctx, req) {
    const tid: string | null = req.transactionalId;
    if (tid !== null) {
      try {
        const { txns, caller } = txnAccess(ctx);
        const timeout: number = req.transactionTimeoutMs;
        if (timeout < MIN_TIMEOUT_MS || timeout > MAX_TIMEOUT_MS) {
          throw new KafkaError('INVALID_TRANSACTION_TIMEOUT', `transaction.timeout.ms must be from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}, not ${timeout}`);
        }
        const p = await txns.init(ctx.settings.cluster, tid, timeout, caller);
        return { throttleTimeMs: 0, errorCode: 0, producerId: p.producerId, producerEpoch: p.producerEpoch };
      } catch (err) {
        return failed(txnErrorCode(err));
      }
    }
    try {
      ctx.require('write', 'cluster');
      // The id belongs to the connection's principal (docs/security.md, "Ownership").
      const owner = ctx.conn.principal !== null && ctx.conn.principal.via !== 'anonymous' ? ctx.conn.principal.name : undefined;
      const p = await ctx.broker.allocateProducer(ctx.settings.cluster, undefined, owner);
      return { throttleTimeMs: 0, errorCode: 0, producerId: p.producerId, producerEpoch: p.producerEpoch };
    } catch (err) {
      return failed(kafkaErrorCode(err));
    }
  },
};
