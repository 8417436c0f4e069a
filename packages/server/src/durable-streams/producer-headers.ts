/**
 * Idempotent producers (Producer-Id, Producer-Epoch, Producer-Seq) on Webka's own producer
 * state. A Producer-Id string gets a stable numeric producer id from the catalog; its batches
 * carry (producerId, epoch, sequence) in the RecordBatch header like any idempotent Webka
 * producer's, so the partition's producer table (rebuilt from the log at start) and the broker's
 * sequence tracker are the one source of truth. This file only reads that state to give the
 * protocol's answers, which differ from Webka's native ones in places:
 *
 *   case                                     protocol answer        native Webka answer
 *   epoch older than the newest              403 + Producer-Epoch   PRODUCER_FENCED
 *   newer epoch, seq != 0                    400                    (OUT_OF_ORDER_SEQUENCE)
 *   seq <= last (any age)                    204 duplicate          retry answer (last 5 only)
 *   seq > last + 1                           409 + Expected/Received OUT_OF_ORDER_SEQUENCE
 *
 * Epochs and sequences are RecordBatch fields (int16 and int32), so they are limited to 32767
 * and 2147483647 (the protocol allows up to 2^53-1); larger values get 400.
 */
import type { ProducerEntry } from '../partitions/producer-state.js';
import { StreamError } from './stream-error.js';

export const MAX_EPOCH = 32767;
export const MAX_SEQUENCE = 0x7fffffff;
/** Longest Producer-Id, in UTF-8 bytes (ids are hashed, never stored, but a header is parsed whole). */
export const MAX_PRODUCER_ID_BYTES = 256;

export interface ProducerHeaders {
  id: string;
  epoch: number;
  seq: number;
}

type Headers = Record<string, string | string[] | undefined>;

function one(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function integer(raw: string, name: string, max: number): number {
  if (!/^\d+$/.test(raw)) throw new StreamError(400, `${name} must be a non-negative integer`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new StreamError(400, `${name} must be at most 2^53-1`);
  if (n > max) throw new StreamError(400, `${name} must be at most ${max} on this server (it is stored in a Kafka RecordBatch field)`);
  return n;
}

/** The producer headers, or undefined when none is present; 400 unless all three are valid. */
export function parseProducerHeaders(headers: Headers): ProducerHeaders | undefined {
  const id = one(headers, 'producer-id');
  const epoch = one(headers, 'producer-epoch');
  const seq = one(headers, 'producer-seq');
  if (id === undefined && epoch === undefined && seq === undefined) return undefined;
  if (id === undefined || epoch === undefined || seq === undefined) {
    throw new StreamError(400, 'Producer-Id, Producer-Epoch and Producer-Seq go together: send all three or none');
  }
  if (id.trim().length === 0) throw new StreamError(400, 'Producer-Id must not be empty');
  if (Buffer.byteLength(id, 'utf8') > MAX_PRODUCER_ID_BYTES) throw new StreamError(400, `Producer-Id is ${Buffer.byteLength(id, 'utf8')} bytes; it must be at most ${MAX_PRODUCER_ID_BYTES} bytes (UTF-8): use a shorter name`);
  return { id, epoch: integer(epoch.trim(), 'Producer-Epoch', MAX_EPOCH), seq: integer(seq.trim(), 'Producer-Seq', MAX_SEQUENCE) };
}

export type ProducerVerdict = { kind: 'new' } | { kind: 'duplicate'; lastSeq: number };

/**
 * Checks a request against the producer's state in the stream's partition (undefined: never
 * seen). Throws the protocol's refusals.
 */
export function checkProducer(entry: ProducerEntry | undefined, p: ProducerHeaders): ProducerVerdict {
  if (entry === undefined) {
    if (p.seq === 0) return { kind: 'new' };
    throw gap(0, p.seq);
  }
  if (p.epoch < entry.epoch) {
    throw new StreamError(403, `producer epoch ${p.epoch} is fenced: epoch ${entry.epoch} is current`, { 'Producer-Epoch': String(entry.epoch) });
  }
  if (p.epoch > entry.epoch) {
    if (p.seq !== 0) throw new StreamError(400, `a new producer epoch starts at Producer-Seq 0, got ${p.seq}`);
    return { kind: 'new' };
  }
  if (p.seq <= entry.lastSequence) return { kind: 'duplicate', lastSeq: entry.lastSequence };
  if (p.seq === entry.lastSequence + 1) return { kind: 'new' };
  throw gap(entry.lastSequence + 1, p.seq);
}

function gap(expected: number, received: number): StreamError {
  return new StreamError(409, `Producer-Seq ${received} skips ahead: ${expected} is expected next`, {
    'Producer-Expected-Seq': String(expected),
    'Producer-Received-Seq': String(received),
  });
}
