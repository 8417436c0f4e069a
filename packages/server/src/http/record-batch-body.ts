/**
 * The binary produce body (`Content-Type: application/vnd.webka.recordbatch`): partition frames
 * back to back, each a 4-byte big-endian partition number and one Kafka RecordBatch v2 (layout in
 * @webka/protocol record-batch.ts and docs/http-api.md). Each batch passes checkProducedBatch,
 * the Kafka listener's check; nothing is decoded and nothing re-encoded.
 *
 * The request's producer is in its batches' producer fields: every batch carries the same
 * producerId, producerEpoch and baseSequence, and baseSequence is the request's sequence, as
 * "sequence" is in a JSON body (one number per request and topic, not Kafka's per-record count),
 * so that both bodies follow the same idempotence rules (ProducePath).
 */
import { WebkaError } from '../errors.js';
import { BatchCheckError, checkProducedBatch, type CheckedBatch } from '../storage/batch-check.js';
import type { ProducerRef } from '../partitions/partition.js';

export interface BinaryProduce {
  batches: Map<number, CheckedBatch>;
  producer?: ProducerRef;
  /** True when the batches are transactional (they then need a transactionalId). */
  transactional: boolean;
  records: number;
}

const FRAME = 4;

/** Splits and checks a binary produce body; throws WebkaError (400/413/422) on the first problem, before anything is written. */
export function parseBinaryProduce(body: Buffer, maxRecords: number): BinaryProduce {
  if (body.length === 0) throw new WebkaError('INVALID_RECORD_BATCH', 'the body is empty; send one or more frames of a 4-byte partition number and a RecordBatch v2');
  const batches = new Map<number, CheckedBatch>();
  let first: CheckedBatch | undefined;
  let records = 0;
  let pos = 0;
  while (pos < body.length) {
    if (body.length - pos < FRAME) throw new WebkaError('INVALID_RECORD_BATCH', `the body ends with ${body.length - pos} bytes where a 4-byte partition number and a batch should be`);
    const partition = body.readInt32BE(pos);
    if (batches.has(partition)) throw new WebkaError('INVALID_RECORD_BATCH', `partition ${partition} has two batches; send one batch per partition in a request`);
    let b: CheckedBatch;
    try {
      b = checkProducedBatch(body, pos + FRAME, body.length, `partition ${partition}'s batch`);
    } catch (err) {
      if (!(err instanceof BatchCheckError)) throw err;
      throw new WebkaError(err.problem === 'timestamp' ? 'INVALID_TIMESTAMP' : err.problem === 'too-large' ? 'RECORD_TOO_LARGE' : 'INVALID_RECORD_BATCH', err.message, { partition });
    }
    if (first === undefined) {
      first = b;
    } else if (b.producerId !== first.producerId || b.producerEpoch !== first.producerEpoch || b.baseSequence !== first.baseSequence || b.isTransactional !== first.isTransactional) {
      throw new WebkaError(
        'INVALID_RECORD_BATCH',
        `partition ${partition}'s batch has producerId ${b.producerId}, producerEpoch ${b.producerEpoch}, baseSequence ${b.baseSequence}${b.isTransactional ? ' (transactional)' : ''}, ` +
          `the first batch ${first.producerId}, ${first.producerEpoch}, ${first.baseSequence}${first.isTransactional ? ' (transactional)' : ''}: the batches of one request carry the same producer fields`,
      );
    }
    records += b.count;
    if (records > maxRecords) throw new WebkaError('TOO_MANY_RECORDS', `more than ${maxRecords} records in one request (maxRecordsPerRequest); split the batches`);
    batches.set(partition, b);
    pos += FRAME + b.batch.length;
  }
  const producer = first!.producerId < 0 ? undefined : { producerId: first!.producerId, producerEpoch: first!.producerEpoch, sequence: first!.baseSequence };
  return { batches, producer, transactional: first!.isTransactional, records };
}
