/**
 * Fetch: stored batches as they are, from the batch holding each partition's fetchOffset (the
 * client skips the records before it, as with Kafka). Limits follow KIP-74: partitionMaxBytes
 * per partition and maxBytes per response, except that the first partition with data always
 * gets its first batch whole. When fewer than minBytes are available the request waits, woken by
 * the next append to any of its partitions (never by a timer that looks), up to maxWaitMs.
 * read_committed (isolation level 1) stops at the last stable offset and lists the aborted
 * transactions of what it returns. Fetch sessions (KIP-227, version 7 and later) are kept in the
 * listener's FetchSessionCache (fetch-sessions.ts): an incremental request names only what
 * changed and is answered only what is new. From version 13 topics are named by their ids (the
 * uuid Metadata gives, topicUuid): they are turned into names on the way in and back into ids on
 * the way out, and an id no topic has is answered UNKNOWN_TOPIC_ID.
 */
import { Fetch } from '../messages-core.js';
import { KafkaErrors, kafkaErrorCode } from '../error-codes.js';
import type { ApiHandler, KafkaContext } from '../context.js';
import type { Message } from '../schema.js';
import type { Partition } from '../../partitions/partition.js';
import { ledPartition, memberOwner } from '../context.js';
import { topicUuid } from './metadata.js';
import { nextEpoch, partitionKey, type FetchSession, type SessionPartition } from '../fetch-sessions.js';

interface Slot {
  topic: string;
  topicId: Buffer | null;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  p: Partition | null;
  errorCode: number;
}

interface Wanted {
  topic: string;
  /** The topic's id when the request named it by id (version 13+); unknownId when no topic has it. */
  topicId: Buffer | null;
  unknownId?: boolean;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

/** Turns topic ids into names (version 13+): a name, or null when no topic of the cluster has the id. */
type IdNames = (id: Buffer) => string | null;

function idNames(ctx: KafkaContext, version: number): IdNames | null {
  if (version < 13) return null;
  let byId: Map<string, string> | null = null;
  return (id) => {
    byId ??= new Map(ctx.broker.listTopics(ctx.settings.cluster).map((t) => [topicUuid(t.id).toString('hex'), t.name]));
    return byId.get(id.toString('hex')) ?? null;
  };
}

/** The partitions a request names, in its order. */
function requested(req: Message, names: IdNames | null): Wanted[] {
  const out: Wanted[] = [];
  for (const t of req.topics as Message[]) {
    const topicId = names === null ? null : (t.topicId as Buffer);
    const topic = topicId === null ? (t.topic as string) : names!(topicId);
    for (const part of t.partitions as Message[]) {
      out.push({ topic: topic ?? `\0${topicId!.toString('hex')}`, topicId, unknownId: topic === null, partition: part.partition, fetchOffset: part.fetchOffset, maxBytes: part.partitionMaxBytes });
    }
  }
  return out;
}

function resolveSlots(ctx: KafkaContext, wanted: Iterable<Wanted>): Slot[] {
  const slots: Slot[] = [];
  for (const w of wanted) {
    const slot: Slot = { topic: w.topic, topicId: w.topicId, partition: w.partition, fetchOffset: w.fetchOffset, maxBytes: w.maxBytes, p: null, errorCode: 0 };
    if (w.unknownId === true) {
      slot.errorCode = KafkaErrors.UNKNOWN_TOPIC_ID;
      slots.push(slot);
      continue;
    }
    try {
      ctx.require('read', 'topic', w.topic);
      slot.p = ledPartition(ctx, w.topic, w.partition);
    } catch (err) {
      slot.errorCode = kafkaErrorCode(err);
    }
    slots.push(slot);
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

/** Reads the slots, waiting for minBytes up to maxWaitMs; one answer per slot, in order. */
async function fetchSlots(ctx: KafkaContext, req: Message, slots: Slot[]): Promise<Message[]> {
  const readCommitted = req.isolationLevel === 1;
  let result = readAll(slots, req.maxBytes, readCommitted);
  const wait = Math.min(Math.max(0, req.maxWaitMs), ctx.settings.maxWaitMs);
  if (result.bytes < Math.max(1, req.minBytes) && wait > 0 && slots.some((s) => s.p !== null) && !result.partitions.some((p) => p.errorCode !== 0)) {
    await waitForAny(slots, wait, ctx.conn.signal, readCommitted);
    if (!ctx.conn.signal.aborted) result = readAll(slots, req.maxBytes, readCommitted);
  }
  return result.partitions;
}

function answer(sessionId: number, slots: Slot[], partitions: Message[], errorCode = 0): Message {
  const byTopic = new Map<string, { topic: string; topicId: Buffer | null; partitions: Message[] }>();
  slots.forEach((s, i) => {
    if (partitions[i] === undefined) return;
    let entry = byTopic.get(s.topic);
    if (entry === undefined) byTopic.set(s.topic, (entry = { topic: s.topic, topicId: s.topicId, partitions: [] }));
    entry.partitions.push(partitions[i]);
  });
  return { throttleTimeMs: 0, errorCode, sessionId, responses: [...byTopic.values()] };
}

/** Whether the answer for a session partition tells the client something it was not told yet. */
function news(cached: SessionPartition, out: Message): boolean {
  const records = out.records as Buffer | null;
  return (records !== null && records.length > 0) || out.errorCode !== 0 || out.highWatermark !== cached.highWatermark || out.lastStableOffset !== cached.lastStableOffset || out.logStartOffset !== cached.logStartOffset;
}

function remember(cached: SessionPartition, out: Message): void {
  cached.highWatermark = out.highWatermark;
  cached.lastStableOffset = out.lastStableOffset;
  cached.logStartOffset = out.logStartOffset;
}

async function incremental(ctx: KafkaContext, req: Message, session: FetchSession, names: IdNames | null): Promise<Message> {
  for (const t of (req.forgottenTopicsData as Message[] | undefined) ?? []) {
    const topic = names === null ? (t.topic as string) : names(t.topicId as Buffer);
    if (topic === null) continue;
    for (const partition of t.partitions as number[]) session.partitions.delete(partitionKey(topic, partition));
  }
  for (const w of requested(req, names)) {
    const key = partitionKey(w.topic, w.partition);
    const cached = session.partitions.get(key);
    if (cached === undefined) session.partitions.set(key, { ...w, highWatermark: -2, lastStableOffset: -2, logStartOffset: -2 });
    else Object.assign(cached, { fetchOffset: w.fetchOffset, maxBytes: w.maxBytes });
  }
  session.epoch = nextEpoch(session.epoch);
  const cached = [...session.partitions.values()];
  const slots = resolveSlots(ctx, cached);
  const all = await fetchSlots(ctx, req, slots);
  const shown = all.map((out, i) => {
    if (!news(cached[i], out)) return undefined;
    remember(cached[i], out);
    return out;
  });
  return answer(session.id, slots, shown as Message[]);
}

export const fetchHandler: ApiHandler = {
  def: Fetch,
  async handle(ctx, req, version) {
    const sessionId: number = version >= 7 ? req.sessionId : 0;
    const epoch: number = version >= 7 ? req.sessionEpoch : -1;
    const owner = memberOwner(ctx);
    const names = idNames(ctx, version);
    if (epoch > 0) {
      const session = ctx.fetchSessions.get(sessionId, owner);
      if (session === undefined) return answer(0, [], [], KafkaErrors.FETCH_SESSION_ID_NOT_FOUND);
      if (epoch !== session.epoch) return answer(0, [], [], KafkaErrors.INVALID_FETCH_SESSION_EPOCH);
      return incremental(ctx, req, session, names);
    }
    if (sessionId !== 0) ctx.fetchSessions.remove(sessionId, owner);
    const wanted = requested(req, names);
    const slots = resolveSlots(ctx, wanted);
    const partitions = await fetchSlots(ctx, req, slots);
    if (epoch < 0 || ctx.conn.signal.aborted) return answer(0, slots, partitions);
    const session = ctx.fetchSessions.open(
      owner,
      wanted.map((w, i) => ({ ...w, highWatermark: partitions[i].highWatermark, lastStableOffset: partitions[i].lastStableOffset, logStartOffset: partitions[i].logStartOffset })),
    );
    return answer(session?.id ?? 0, slots, partitions);
  },
};
