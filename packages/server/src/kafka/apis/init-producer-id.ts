/**
 * InitProducerId: a producer id and epoch from the catalog, the same ids HTTP producers get
 * (POST /v1/clusters/{cluster}/producers), so one table of epochs fences both. A transactional
 * id maps to a named producer whose epoch goes up on every call, fencing the previous instance.
 */
import { InitProducerId } from '../messages-core.js';
import { kafkaErrorCode } from '../error-codes.js';
import type { ApiHandler } from '../context.js';

export const initProducerIdHandler: ApiHandler = {
  def: InitProducerId,
  handle(ctx, req) {
    try {
      ctx.require('write', 'cluster');
      // The id belongs to the connection's principal, and a transactional id is taken within its
      // namespace, as POST /producers does with a name (docs/security.md, "Ownership").
      const owner = ctx.conn.principal !== null && ctx.conn.principal.via !== 'anonymous' ? ctx.conn.principal.name : undefined;
      const tid = req.transactionalId ?? undefined;
      const p = ctx.broker.allocateProducer(ctx.settings.cluster, tid === undefined || owner === undefined ? tid : `principal:${owner}/${tid}`, owner);
      return { throttleTimeMs: 0, errorCode: 0, producerId: p.producerId, producerEpoch: p.producerEpoch };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: kafkaErrorCode(err), producerId: -1, producerEpoch: -1 };
    }
  },
};
