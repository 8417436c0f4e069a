/**
 * Produce: each partition's record set is one or more RecordBatch v2 that the client encoded.
 * Each is checked here (sizes, magic, CRC, codec, record structure after decompression, no
 * control batches) and then appended as it is (Broker.appendEncoded: the log assigns its base offset, which the CRC does
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
import { decodeRecords, readBatchHeader, validateBatch, type DecodedRecord } from '../../storage/record-batch.js';
import { LOG_OVERHEAD, BATCH_HEADER_SIZE } from '../../storage/batch-fields.js';
import { unsupportedCodec } from '../../storage/codecs.js';
import type { Acks } from '../../broker.js';


export interface CheckedBatch {
  batch: Buffer;
  count: number;
  /** Set for a transactional batch: the producer it belongs to. */
  txnProducer: { producerId: number; producerEpoch: number } | null;
}

/** Splits a record set into its batches, checking each; throws KafkaError on the first bad one. */
export function checkedBatches(records: Buffer): CheckedBatch[] {
  const out: CheckedBatch[] = [];
  let pos = 0;
  while (pos < records.length) {
    if (records.length - pos < BATCH_HEADER_SIZE) throw new KafkaError('CORRUPT_MESSAGE', `${records.length - pos} trailing bytes are not a whole batch`);
    const size = LOG_OVERHEAD + records.readInt32BE(pos + 8);
    const magic = records.readInt8(pos + 16);
    if (magic !== 2) throw new KafkaError('UNSUPPORTED_FOR_MESSAGE_FORMAT', `message format (magic) ${magic} is not supported; Webka stores RecordBatch v2 (Kafka clients 0.11 and newer)`);
    const problem = validateBatch(records, pos, size);
    if (problem !== null) throw new KafkaError('CORRUPT_MESSAGE', `batch ${out.length}: ${problem}`);
    const batch = records.subarray(pos, pos + size);
    const h = readBatchHeader(batch, 0);
    if (h.isControl) throw new KafkaError('INVALID_RECORD', 'clients may not write control batches');
    if (h.isTransactional && h.producerId < 0) throw new KafkaError('INVALID_RECORD', `batch ${out.length} is transactional without a producer id`);
    if (h.recordCount <= 0 || h.lastOffsetDelta !== h.recordCount - 1) {
      throw new KafkaError('INVALID_RECORD', `batch ${out.length} holds ${h.recordCount} records but its lastOffsetDelta is ${h.lastOffsetDelta}`);
    }
    const unsupported = unsupportedCodec(h.compression);
    if (unsupported !== null) throw new KafkaError('UNSUPPORTED_COMPRESSION_TYPE', `batch ${out.length}: ${unsupported}`);
    const decoded: DecodedRecord[] = [];
    try {
      decodeRecords(batch, 0, decoded);
    } catch (err) {
      throw new KafkaError('CORRUPT_MESSAGE', (err as Error).message);
    }
    if (decoded.length !== h.recordCount) throw new KafkaError('CORRUPT_MESSAGE', `batch ${out.length} claims ${h.recordCount} records and holds ${decoded.length}`);
    out.push({ batch, count: h.recordCount, txnProducer: h.isTransactional ? { producerId: h.producerId, producerEpoch: h.producerEpoch } : null });
    pos += size;
  }
  if (out.length === 0) throw new KafkaError('INVALID_RECORD', 'the record set is empty');
  return out;
}

/** Joins the transaction of the record set's transactional batches; the release to call once they are appended. */
async function joinTransaction(ctx: KafkaContext, transactionalId: string | null, topic: string, index: number, batches: CheckedBatch[]): Promise<() => void> {
  const producer = batches.find((b) => b.txnProducer !== null)?.txnProducer ?? null;
  if (producer === null) return () => undefined;
  if (batches.some((b) => b.txnProducer === null || b.txnProducer.producerId !== producer.producerId || b.txnProducer.producerEpoch !== producer.producerEpoch)) {
    throw new KafkaError('INVALID_RECORD', 'a record set mixes transactional batches with others, or batches of several producers');
  }
  if (transactionalId === null) throw new KafkaError('INVALID_TXN_STATE', 'transactional batches need the request\'s transactionalId (set transactional.id on the producer)');
  const { txns, caller } = txnAccess(ctx);
  return txns.join(ctx.settings.cluster, transactionalId, producer, caller, topic, [index]);
}

async function producePartition(ctx: KafkaContext, transactionalId: string | null, topic: string, index: number, records: Buffer | null, acks: Acks): Promise<Message> {
  const base = { index, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null };
  try {
    ctx.require('write', 'topic', topic);
    if (records === null) throw new KafkaError('INVALID_RECORD', 'the record set is null');
    const batches = checkedBatches(records);
    const release = await joinTransaction(ctx, transactionalId, topic, index, batches);
    let first: { baseOffset: number; logAppendTime: number; logStartOffset: number } | undefined;
    try {
      for (const { batch, count, txnProducer } of batches) {
        const r = await ctx.broker.appendEncoded(ctx.settings.cluster, topic, index, batch, count, acks, ctx.conn.principal ?? undefined, txnProducer !== null);
        first ??= r;
      }
    } finally {
      release();
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
