/**
 * The producer's binary request body (docs/http-api.md "Binary produce"): its records routed to
 * partitions here, as the broker routes a JSON body (the record's partition, else murmur2 of the
 * key, else one partition per request), and written into one RecordBatch v2 per partition by
 * @webka/protocol's RecordBatchBuilder, so that the broker appends them without decoding.
 */
import { RecordBatchBuilder, VALUE_FORMAT_TAGS, murmur2, produceBody, type BatchHeader } from '@webka/protocol';
import { WebkaError } from './errors.js';
import type { ProducerRecord, ValueFormat } from './types.js';

/** A record checked and reduced to what goes into a batch. */
export interface BatchRecord {
  key: string | null;
  value: string | Uint8Array | null;
  headers: BatchHeader[] | undefined;
  partition: number | undefined;
  timestamp: number;
  /** The record's attributes byte: how its value was produced, so readers show it as sent (docs/values.md). */
  attributes: number;
  /** About the bytes it takes in a batch (for batchSize). */
  size: number;
}

/** Strings without characters that need escaping (the common case) skip JSON.stringify. */
const PLAIN = /^[^"\\\u0000-\u001f\u2028\u2029\ud800-\udfff]*$/;

/** Checks a record as encodeRecord does (the same errors) and reduces it to its batch fields; `now` stamps a record without a timestamp. */
export function toBatchRecord(r: ProducerRecord, format: ValueFormat, now: number): BatchRecord {
  if (r === null || typeof r !== 'object' || !('value' in r)) throw new WebkaError('INVALID_REQUEST', 'a record needs a "value" (null for a tombstone)');
  const v = r.value;
  if (v === undefined) throw new WebkaError('INVALID_REQUEST', 'record value is undefined; use null for a tombstone');
  let value: string | Uint8Array | null;
  if (v === null) value = null;
  else if (format === 'text') {
    if (typeof v !== 'string') throw new WebkaError('INVALID_REQUEST', 'with valueFormat text, values are strings');
    value = v;
  } else if (format === 'binary') {
    if (!(v instanceof Uint8Array)) throw new WebkaError('INVALID_REQUEST', 'with valueFormat binary, values are Uint8Array');
    value = v;
  } else {
    // json: the value's JSON text, as the broker stores a JSON body's value
    value = typeof v === 'string' && v.length < 256 && PLAIN.test(v) ? '"' + v + '"' : JSON.stringify(v);
    if (value === undefined) throw new WebkaError('INVALID_REQUEST', 'record value has no JSON form (a function or a symbol?)');
  }
  let key: string | null = null;
  if (r.key !== undefined && r.key !== null) {
    if (typeof r.key !== 'string') throw new WebkaError('INVALID_REQUEST', 'a record key is a string (or null)');
    key = r.key;
  }
  let headers: BatchHeader[] | undefined;
  let size = 24 + (key?.length ?? 0) + (value?.length ?? 0);
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object') throw new WebkaError('INVALID_REQUEST', 'record headers are an object of strings (or null values)');
    headers = [];
    for (const [k, hv] of Object.entries(r.headers)) {
      if (hv !== null && typeof hv !== 'string') throw new WebkaError('INVALID_REQUEST', `header "${k}" must be a string or null`);
      headers.push([k, hv]);
      size += 4 + k.length + (hv?.length ?? 0);
    }
  }
  if (r.partition !== undefined && (!Number.isInteger(r.partition) || r.partition < 0)) throw new WebkaError('INVALID_REQUEST', 'a record partition is a non-negative integer');
  let timestamp = now;
  if (r.timestamp !== undefined) {
    if (!Number.isInteger(r.timestamp)) throw new WebkaError('INVALID_TIMESTAMP', 'a record timestamp is an integer of milliseconds since the epoch');
    timestamp = r.timestamp;
  }
  return { key, value, headers, partition: r.partition, timestamp, attributes: VALUE_FORMAT_TAGS[format], size };
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** Kafka's partition for a key (murmur2 of its UTF-8 bytes), as the broker routes a JSON body. */
function partitionForKey(key: string, partitions: number): number {
  if (scratch.length < key.length * 3) scratch = new Uint8Array(key.length * 3);
  const n = encoder.encodeInto(key, scratch).written;
  return (murmur2(scratch.subarray(0, n)) & 0x7fffffff) % partitions;
}

export interface BuiltBody {
  body: Uint8Array;
  /** For each record of the request, its partition and its index in that partition's batch. */
  partitionOf: Int32Array;
  indexInBatch: Int32Array;
  /** The partitions the body has a batch for. */
  partitions: number[];
}

/**
 * The body for `records` on a topic of `partitions` partitions; keyless records go to
 * `keyless`. With a producer, every batch carries its id, epoch and the request's sequence.
 */
export function buildBody(records: readonly BatchRecord[], partitions: number, keyless: number, producer?: { producerId: number; producerEpoch: number; sequence: number }): BuiltBody {
  const builders = new Map<number, RecordBatchBuilder>();
  const partitionOf = new Int32Array(records.length);
  const indexInBatch = new Int32Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const p = r.partition !== undefined ? r.partition : r.key !== null ? partitionForKey(r.key, partitions) : keyless;
    let b = builders.get(p);
    if (b === undefined) builders.set(p, (b = new RecordBatchBuilder(Math.min(1 << 20, 64 + records.length * (r.size + 8)))));
    partitionOf[i] = p;
    indexInBatch[i] = b.count;
    b.append(r.key, r.value, r.timestamp, r.headers, r.attributes);
  }
  const fields = producer === undefined ? undefined : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: producer.sequence };
  const frames: Uint8Array[] = [];
  for (const [p, b] of builders) frames.push(b.finish(p, fields));
  return { body: produceBody(frames), partitionOf, indexInBatch, partitions: [...builders.keys()] };
}
