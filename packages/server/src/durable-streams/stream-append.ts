/**
 * The one write path of every stream route: values become one record batch of the stream's
 * topic through broker.produce (so an append is atomic, checksummed, fsynced under acks=all,
 * and idempotent producers go through Webka's own sequence checks).
 *
 * broker.produce with `immediate` appends synchronously and only then waits for the fsync, so
 * the caller's checks (closure, Stream-Seq, producer state) and the append happen in one turn of
 * the event loop, with no other writer in between. appendValues returns once the batch is in the log;
 * the returned promise settles when it is durable.
 */
import type { ProducerRef } from '../partitions/partition.js';
import type { ProduceInput } from '../broker.js';
import { STREAMS_CLUSTER, type StreamState, type StreamStore } from './stream-store.js';
import { SEQ_HEADER, CLOSED_HEADER, type ClosedBy } from './stream-meta.js';

export interface AppendOptions {
  producer?: ProducerRef;
  /** The stream's Stream-Seq after this append (kept in the batch's last record). */
  seq: string | null;
  /** Close the stream with this append. */
  close?: { by: ClosedBy | null };
}

export function appendValues(store: StreamStore, s: StreamState, values: Buffer[], opts: AppendOptions): Promise<void> {
  const p = store.partition(s);
  const records: ProduceInput[] = values.map((value) => ({ key: null, value, headers: [], partition: 0 }));
  const last = records[records.length - 1];
  if (opts.seq !== null) last.headers.push({ key: SEQ_HEADER, value: Buffer.from(opts.seq, 'utf8') });
  if (opts.close !== undefined) last.headers.push({ key: CLOSED_HEADER, value: Buffer.from('true') });
  const before = p.log.nextOffset;
  const durable = store.broker.produce(STREAMS_CLUSTER, s.meta.topic, records, { acks: 'all', producer: opts.producer, clientEpochs: true, immediate: true });
  if (p.log.nextOffset > before) {
    s.lastSeq = opts.seq;
    if (opts.close !== undefined) return Promise.all([durable, closeStream(store, s, opts.close.by)]).then(() => undefined);
  }
  return durable.then(() => undefined);
}

/**
 * Marks a stream closed and wakes its live readers. Writers are refused from now on; the
 * closure is saved (in the catalog, or in a cluster the stream's document) when the promise
 * resolves.
 */
export function closeStream(store: StreamStore, s: StreamState, by: ClosedBy | null): Promise<void> {
  if (s.meta.closed) return s.saving;
  s.meta.closed = true;
  s.meta.closedBy = by;
  const saved = store.save(s);
  s.notify();
  return saved;
}

export function toRef(producerId: number, epoch: number, seq: number): ProducerRef {
  return { producerId, producerEpoch: epoch, sequence: seq };
}

