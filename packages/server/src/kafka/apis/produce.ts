/**
 * Produce: each partition's record set is one or more RecordBatch v2 that the client encoded.
 * Each is checked by storage/batch-check.ts (sizes, magic, CRC, record structure, timestamps,
 * producer fields, no control batches), the check the HTTP binary produce body passes, and then
 * appended as it is (Broker.appendEncoded: the log assigns its base offset, which the CRC does
 * not cover, so the client's bytes are never re-encoded). acks=0 gets no response at all.
 * Transactional batches join the request's transactional id's open transaction first
 * (TransactionCoordinator.join, as an HTTP transactional produce does), which holds it open
 * until they are appended.
 */
import { Produce } from '../messages-core.js';
import { KafkaError, KafkaErrors, txnErrorCode } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import { txnAccess } from './transactions.js';
import type { Message } from '../schema.js';
import { BatchCheckError, checkProducedBatch } from '../../storage/batch-check.js';
import type { Acks } from '../../broker.js';
import type { TxnJoin } from '../../partitions/produce-path.js';

/** Kafka's error code for each kind of batch the shared check refuses. */
const PROBLEM_CODES = {
  corrupt: 'CORRUPT_MESSAGE',
  magic: 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  invalid: 'INVALID_RECORD',
  compression: 'UNSUPPORTED_COMPRESSION_TYPE',
  timestamp: 'INVALID_TIMESTAMP',
  'too-large': 'MESSAGE_TOO_LARGE',
} as const;

export interface KafkaBatch {
  batch: Buffer;
  count: number;
  /** Set for a transactional batch: the producer it belongs to. */
  txnProducer: { producerId: number; producerEpoch: number } | null;
}

/**
 * Splits a record set into its batches, each checked by checkProducedBatch (the check an HTTP
 * binary produce body's batches pass too); throws KafkaError on the first bad one.
 */
export function checkedBatches(records: Buffer): KafkaBatch[] {
  const out: KafkaBatch[] = [];
  let pos = 0;
  while (pos < records.length) {
    let b;
    try {
      b = checkProducedBatch(records, pos, records.length, `batch ${out.length}`);
    } catch (err) {
      if (!(err instanceof BatchCheckError)) throw err;
      throw new KafkaError(PROBLEM_CODES[err.problem], err.message);
    }
    out.push({ batch: b.batch, count: b.count, txnProducer: b.isTransactional ? { producerId: b.producerId, producerEpoch: b.producerEpoch } : null });
    pos += b.batch.length;
  }
  if (out.length === 0) throw new KafkaError('INVALID_RECORD', 'the record set is empty');
  return out;
}

const NO_TRANSACTION: TxnJoin = { release: () => undefined, durable: () => Promise.resolve() };

/** Joins the transaction of the record set's transactional batches (TransactionCoordinator.join). */
async function joinTransaction(ctx: KafkaContext, transactionalId: string | null, topic: string, index: number, batches: KafkaBatch[]): Promise<TxnJoin> {
  const producer = batches.find((b) => b.txnProducer !== null)?.txnProducer ?? null;
  if (producer === null) return NO_TRANSACTION;
  if (batches.some((b) => b.txnProducer === null || b.txnProducer.producerId !== producer.producerId || b.txnProducer.producerEpoch !== producer.producerEpoch)) {
    throw new KafkaError('INVALID_RECORD', 'a record set mixes transactional batches with others, or batches of several producers');
  }
  if (transactionalId === null) throw new KafkaError('INVALID_TXN_STATE', 'transactional batches need the request\'s transactionalId (set transactional.id on the producer)');
  const { txns, caller } = txnAccess(ctx);
  return txns.joinAtLeader(ctx.settings.cluster, transactionalId, producer, caller, topic, [index]);
}

async function producePartition(ctx: KafkaContext, transactionalId: string | null, topic: string, index: number, records: Buffer | null, acks: Acks): Promise<Message> {
  const base = { index, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null };
  try {
    ctx.require('write', 'topic', topic);
    if (records === null) throw new KafkaError('INVALID_RECORD', 'the record set is null');
    const batches = checkedBatches(records);
    const join = await joinTransaction(ctx, transactionalId, topic, index, batches);
    let first: { baseOffset: number; logAppendTime: number; logStartOffset: number } | undefined;
    try {
      for (const { batch, count, txnProducer } of batches) {
        const r = await ctx.broker.appendEncoded(ctx.settings.cluster, topic, index, batch, count, acks, ctx.conn.principal ?? undefined, txnProducer !== null);
        first ??= r;
      }
      if (acks !== 0) await join.durable();
    } finally {
      join.release();
    }
    return { ...base, baseOffset: first!.baseOffset, logAppendTimeMs: first!.logAppendTime, logStartOffset: first!.logStartOffset };
  } catch (err) {
    return { ...base, errorCode: txnErrorCode(err), errorMessage: (err as Error).message };
  }
}

/**
 * Versions 0-2 are listed only because librdkafka (up to 2.11) sends gzip, snappy and lz4
 * batches uncompressed unless the broker lists Produce version 0, as Kafka's broker long did.
 * They carry message formats 0 and 1, which Webka does not store: every partition is refused.
 */
const OLD_FORMAT = 'Produce versions 0-2 carry message format 0 or 1, which Webka does not store; use a client that sends Produce 3 or later (Kafka 0.11 and newer clients do)';

export const produceHandler: ApiHandler = {
  def: Produce,
  async handle(ctx, req, version) {
    if (version < 3) {
      if (req.acks === 0) return null;
      const refused = (p: Message) => ({ index: p.index, errorCode: KafkaErrors.UNSUPPORTED_FOR_MESSAGE_FORMAT, baseOffset: -1, errorMessage: OLD_FORMAT });
      return { responses: (req.topicData as Message[]).map((t) => ({ name: t.name, partitionResponses: (t.partitionData as Message[]).map(refused) })), throttleTimeMs: 0 };
    }
    const acks: Acks | null = req.acks === -1 ? 'all' : req.acks === 1 ? 1 : req.acks === 0 ? 0 : null;
    const responses = await Promise.all(
      (req.topicData as Message[]).map(async (t) => ({
        name: t.name,
        partitionResponses: await Promise.all(
          (t.partitionData as Message[]).map((p) =>
            acks === null
              ? { index: p.index, errorCode: KafkaErrors.INVALID_REQUIRED_ACKS, baseOffset: -1, errorMessage: `acks must be -1 (all), 0 or 1, not ${req.acks}` }
              : producePartition(ctx, req.transactionalId, t.name, p.index, p.records, acks),
          ),
        ),
      })),
    );
    if (acks === 0) return null;
    return { responses, throttleTimeMs: 0 };
  },
};
