/**
 * Fetch: stored batches as they are, from the batch holding each partition's fetchOffset (the
 * client skips the records before it, as with Kafka). Limits follow KIP-74: partitionMaxBytes
 * per partition and maxBytes per response, except that the first partition with data always
 * gets its first batch whole. When fewer than minBytes are available the request waits, woken by
 * the next append to any of its partitions (never by a timer that looks), up to maxWaitMs.
 * read_committed (isolation level 1) stops at the last stable offset and lists the aborted
 * transactions of what it returns. Fetch sessions (KIP-227) are not kept: every request is a
 * full one (sessionId 0).
 */
import { Fetch } from '../messages-core.js';
import { KafkaErrors, kafkaErrorCode } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import type { Partition } from '../../partitions/partition.js';

interface Slot {
  topic: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  p: Partition | null;
  errorCode: number;
}

function resolveSlots(ctx: KafkaContext, req: Message): Slot[] {
  const slots: Slot[] = [];
  for (const t of req.topics as Message[]) {
    for (const part of t.partitions as Message[]) {
      const slot: Slot = { topic: t.topic, partition: part.partition, fetchOffset: part.fetchOffset, maxBytes: part.partitionMaxBytes, p: null, errorCode: 0 };
      try {
        ctx.require('read', 'topic', t.topic);
        slot.p = ctx.broker.partition(ctx.settings.cluster, t.topic, part.partition);
      } catch (err) {
        slot.errorCode = kafkaErrorCode(err);
      }
      slots.push(slot);
    }
  }
  return slots;
}

function readAll(slots: Slot[], maxBytes: number, readCommitted: boolean): { partitions: Message[]; bytes: number } {
  let budget = maxBytes;
  let bytes = 0;
  const partitions: Message[] = [];
  for (const s of slots) {
    const out: Message = { partitionIndex: s.partition, errorCode: s.errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: readCommitted ? [] : null, preferredReadReplica: -1, records: null };
    partitions.push(out);
    if (s.p === null) continue;
    const log = s.p.log;
    const end = readCommitted ? s.p.lastStableOffset : log.highWatermark;
    out.highWatermark = log.highWatermark;
    out.lastStableOffset = s.p.lastStableOffset;
    out.logStartOffset = log.logStartOffset;
    if (s.fetchOffset < log.logStartOffset || s.fetchOffset > log.highWatermark) {
      out.errorCode = KafkaErrors.OFFSET_OUT_OF_RANGE;
      continue;
    }
    if (s.fetchOffset >= end || (budget <= 0 && bytes > 0)) {
      out.records = Buffer.alloc(0);
      continue;
    }
    try {
      const r = s.p.readEncoded(s.fetchOffset, Math.max(1, Math.min(s.maxBytes, budget)), readCommitted ? 'read_committed' : 'read_uncommitted');
      out.records = r.data;
      out.highWatermark = r.highWatermark;
      out.lastStableOffset = r.lastStableOffset;
      if (readCommitted) out.abortedTransactions = r.aborted.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
      budget -= r.data.length;
      bytes += r.data.length;
    } catch (err) {
      out.errorCode = kafkaErrorCode(err);
    }
  }
  return { partitions, bytes };
}

/** Resolves when any partition gets data past its fetch offset, the wait ends or the connection closes. */
async function waitForAny(slots: Slot[], ms: number, signal: AbortSignal, readCommitted: boolean): Promise<void> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race(slots.filter((s) => s.p !== null).map((s) => s.p!.waitForData(s.fetchOffset, ms, stop.signal, readCommitted ? 'read_committed' : 'read_uncommitted')));
  } finally {
    stop.abort();
    signal.removeEventListener('abort', onAbort);
  }
}

export const fetchHandler: ApiHandler = {
  def: Fetch,
  async handle(ctx, req) {
    const slots = resolveSlots(ctx, req);
    const readCommitted = req.isolationLevel === 1;
    let result = readAll(slots, req.maxBytes, readCommitted);
    const wait = Math.min(Math.max(0, req.maxWaitMs), ctx.settings.maxWaitMs);
    if (result.bytes < Math.max(1, req.minBytes) && wait > 0 && slots.some((s) => s.p !== null) && !result.partitions.some((p) => p.errorCode !== 0)) {
      await waitForAny(slots, wait, ctx.conn.signal, readCommitted);
      if (!ctx.conn.signal.aborted) result = readAll(slots, req.maxBytes, readCommitted);
    }
    const byTopic = new Map<string, Message[]>();
    slots.forEach((s, i) => {
      let list = byTopic.get(s.topic);
      if (list === undefined) byTopic.set(s.topic, (list = []));
      list.push(result.partitions[i]);
    });
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    };
  },
};
