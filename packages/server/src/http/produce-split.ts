/**
 * In a cluster, a produce whose records go to partitions that different brokers lead (records
 * spread by key over a topic's partitions, the commonest request there is): the receiving broker
 * writes the shares of the partitions it leads and sends every other leader its shares as one
 * binary produce (RecordBatch frames with the request's producer fields and sequence, under the
 * caller's principal, one hop: http/forward.ts), then answers for the whole request in its order.
 *
 * Every record is checked (partition, timestamp, size) before any share is sent, so a request
 * that one leader would refuse writes nothing anywhere. A share that fails after others were
 * written (a leader lost, a full disk) fails the request with that share's error and
 * `writtenPartitions` naming the partitions that were written: an idempotent producer's retry
 * writes only what is missing (its sequence is the same on every leader), a plain one's would
 * write those partitions again.
 */
import type { FastifyRequest } from 'fastify';
import { ERROR_CODES, RECORD_BATCH_CONTENT_TYPE, RecordBatchBuilder, type ErrorCode } from '@webka/protocol';
import type { Acks, Broker, ProduceInput, ProducedRecord } from '../broker.js';
import type { ProducerRef } from '../partitions/partition.js';
import type { CheckedBatch } from '../storage/batch-check.js';
import type { ClusterMember } from '../cluster/cluster-member.js';
import type { ReplicaManager } from '../replication/replica-manager.js';
import { WebkaError } from '../errors.js';
import { forwardHeaders } from './forward.js';
import type { TxnJoin } from '../partitions/produce-path.js';
import { brokerPost, type BrokerAnswer } from '../replication/broker-http.js';

/**
 * Marks a binary produce as the share of a transactional produce that its coordinator sends (its
 * partitions have joined the transaction there): the leader takes it as a Kafka client's
 * transactional batch, checking the partitions with the coordinator.
 */
export const TXN_SHARE = 'x-webka-txn-share';

/** Marks a request as one leader's share of a split request (ProduceOptions.splitShare). */
export const SPLIT_SHARE = 'x-webka-split-share';

/** How long a leader may take to answer its share. */
const SHARE_TIMEOUT_MS = 60_000;

export interface SplitContext {
  broker: Broker;
  member: ClusterMember;
  replication: ReplicaManager;
  request: FastifyRequest;
  cluster: string;
  topic: string;
  acks: Acks;
  /**
   * A transactional produce at its transaction's coordinator, whose partitions have joined the
   * transaction: the shares are transactional, sent marked as joined (TXN_SHARE), and split even
   * when one other broker leads them all.
   */
  transactionalId?: string;
}

/** A join already made by the coordinator (the share's partitions are in the transaction). */
const joined = (): Promise<TxnJoin> => Promise.resolve({ release: () => undefined, durable: () => Promise.resolve() });

/**
 * What a share gave: each partition's base offset and LogAppendTime (-1: records keep their own),
 * or, for this broker's own share, each record's timestamp as stored.
 */
type ShareResult = Map<number, { baseOffset: number; logAppendTime: number; timestamps?: number[] }>;

/** The leader of each partition, grouped; null when this broker leads them all or one other broker does (no split needed). */
function byLeader(ctx: SplitContext, partitions: Iterable<number>): Map<number, number[]> | null {
  const groups = new Map<number, number[]>();
  for (const p of partitions) {
    const leader = ctx.replication.leaderOf(ctx.cluster, ctx.topic, p) ?? ctx.member.nodeId;
    let g = groups.get(leader);
    if (g === undefined) groups.set(leader, (g = []));
    g.push(p);
  }
  return groups.size > 1 || (ctx.transactionalId !== undefined && !groups.has(ctx.member.nodeId)) ? groups : null;
}

/**
 * A JSON produce split by leader: the records' results in request order, or null when no split
 * is needed (the caller then produces, or forwards, as for one broker).
 */
export async function splitProduce(ctx: SplitContext, records: ProduceInput[], producer: ProducerRef | undefined): Promise<ProducedRecord[] | null> {
  if (byLeader(ctx, ctx.broker.topicPartitions(ctx.cluster, ctx.topic).keys()) === null) return null;
  const now = Date.now();
  const routed = ctx.broker.routeRecords(ctx.cluster, ctx.topic, records, producer);
  const groups = byLeader(ctx, new Set(routed));
  if (groups === null) return null;
  // a record another leader would refuse fails the whole request here, before anything is written
  ctx.broker.checkRecords(ctx.cluster, ctx.topic, records, now);
  const byPartition = new Map<number, number[]>();
  routed.forEach((p, i) => {
    let list = byPartition.get(p);
    if (list === undefined) byPartition.set(p, (list = []));
    list.push(i);
  });
  const results = await runShares(ctx, groups, producer, async (leader, partitions) => {
    const pinned = (p: number): ProduceInput[] => byPartition.get(p)!.map((i) => ({ ...records[i], partition: p, timestamp: records[i].timestamp ?? now }));
    if (leader === ctx.member.nodeId) {
      const written = await ctx.broker.produce(ctx.cluster, ctx.topic, partitions.flatMap(pinned), { acks: ctx.acks, producer, caller: ctx.request.principal, splitShare: true, ...txnShare(ctx) });
      const out: ShareResult = new Map();
      for (const r of written) {
        const e = out.get(r.partition);
        if (e === undefined) out.set(r.partition, { baseOffset: r.offset, logAppendTime: -1, timestamps: [r.timestamp] });
        else e.timestamps!.push(r.timestamp);
      }
      return out;
    }
    const frames = partitions.map((p) => {
      const b = new RecordBatchBuilder();
      for (const r of pinned(p)) b.append(r.key, r.value, r.timestamp!, r.headers.map((h) => [h.key, h.value] as const), r.attributes ?? 0);
      return b.finish(p, producer === undefined ? undefined : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: producer.sequence, isTransactional: producer.transactional === true });
    });
    return sendShare(ctx, leader, Buffer.concat(frames));
  });
  // acks=0: nobody is answered with offsets
  if (ctx.acks === 0) return routed.map((partition) => ({ partition, offset: -1, timestamp: -1 }));
  const out: ProducedRecord[] = new Array(records.length);
  for (const [p, indexes] of byPartition) {
    const r = results.get(p)!;
    indexes.forEach((i, j) => {
      const timestamp = r.timestamps?.[j] ?? (r.logAppendTime >= 0 ? r.logAppendTime : (records[i].timestamp ?? now));
      out[i] = { partition: p, offset: r.baseOffset + j, timestamp };
    });
  }
  return out;
}

/** A binary produce split by leader: each partition's result, or null when no split is needed. */
export async function splitProduceEncoded(ctx: SplitContext, batches: ReadonlyMap<number, CheckedBatch>, producer: ProducerRef | undefined): Promise<ShareResult | null> {
  const groups = byLeader(ctx, batches.keys());
  if (groups === null) return null;
  ctx.broker.checkEncoded(ctx.cluster, ctx.topic, batches);
  return runShares(ctx, groups, producer, async (leader, partitions) => {
    if (leader !== ctx.member.nodeId) {
      // each partition's frame as sent: its number, then its batch
      const frames = partitions.flatMap((p) => [Buffer.from([p >>> 24, (p >>> 16) & 255, (p >>> 8) & 255, p & 255]), batches.get(p)!.batch]);
      return sendShare(ctx, leader, Buffer.concat(frames));
    }
    const mine = new Map(partitions.map((p) => [p, batches.get(p)!] as const));
    const written = await ctx.broker.produceEncoded(ctx.cluster, ctx.topic, mine, { acks: ctx.acks, producer, caller: ctx.request.principal, splitShare: true, ...txnShare(ctx) });
    return new Map([...written].map(([p, r]) => [p, { baseOffset: r.baseOffset, logAppendTime: r.logAppendTime }]));
  });
}

/** For a transactional produce's own share at its coordinator: the join is made. */
function txnShare(ctx: SplitContext): { joinTransaction?: () => Promise<TxnJoin> } {
  return ctx.transactionalId === undefined ? {} : { joinTransaction: joined };
}

/** Runs every leader's share at once; all results, or the first failure naming what was written. */
async function runShares(ctx: SplitContext, groups: Map<number, number[]>, producer: ProducerRef | undefined, share: (leader: number, partitions: number[]) => Promise<ShareResult>): Promise<ShareResult> {
  const leaders = [...groups.keys()];
  const settled = await Promise.allSettled(leaders.map((l) => share(l, groups.get(l)!)));
  const results: ShareResult = new Map();
  let failure: unknown;
  for (const s of settled) {
    if (s.status === 'fulfilled') for (const [p, r] of s.value) results.set(p, r);
    else failure ??= s.reason;
  }
  if (failure === undefined) return results;
  const written = [...results.keys()].sort((a, b) => a - b);
  if (written.length === 0 || !(failure instanceof WebkaError)) throw failure;
  const retry = producer !== undefined ? 'a retry with the same sequence writes only the rest' : 'a retry writes those partitions again (use an idempotent producer to retry safely)';
  throw new WebkaError(failure.code, `${failure.message} (partitions ${written.join(', ')} of this request were written: ${retry})`, { ...failure.details, writtenPartitions: written });
}

/** Sends one leader its share as a binary produce; its answer, or its error as a WebkaError. */
async function sendShare(ctx: SplitContext, leader: number, body: Buffer): Promise<ShareResult> {
  const base = await ctx.member.brokerUrl(leader);
  if (base === undefined) throw new WebkaError('NOT_LEADER', `the leader of some of the request's partitions, broker ${leader}, is not live; retry`, { leader });
  const headers = forwardHeaders(ctx.request, ctx.member.nodeId);
  delete headers['idempotency-key']; // the request's key is this broker's to answer for
  headers['content-type'] = RECORD_BATCH_CONTENT_TYPE;
  headers.accept = 'application/json';
  headers[SPLIT_SHARE] = '1';
  if (ctx.transactionalId !== undefined) headers[TXN_SHARE] = '1';
  const acks = ctx.acks === 'all' ? 'all' : String(ctx.acks);
  const txn = ctx.transactionalId === undefined ? '' : `&transactionalId=${encodeURIComponent(ctx.transactionalId)}`;
  let res: BrokerAnswer;
  let text: string;
  try {
    res = await brokerPost(`${base}/v1/clusters/${encodeURIComponent(ctx.cluster)}/topics/${encodeURIComponent(ctx.topic)}/records?acks=${acks}${txn}`, headers, body, SHARE_TIMEOUT_MS);
    text = res.body.toString('utf8');
  } catch (err) {
    throw new WebkaError('NOT_LEADER', `broker ${leader}, the leader of some of the request's partitions, did not answer: ${(err as Error).message}; retry`, { leader });
  }
  let parsed: { partitions?: Array<{ partition: number; baseOffset: number; logAppendTime: number }>; error?: { code: string; message: string } & Record<string, unknown> };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WebkaError('INTERNAL', `broker ${leader} answered ${res.status} with a body that is not JSON`);
  }
  if (res.status === 202) return new Map();
  if (res.status !== 200 || parsed.partitions === undefined) {
    const { code, message, ...details } = parsed.error ?? { code: 'INTERNAL', message: `broker ${leader} answered ${res.status}` };
    throw new WebkaError(Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'INTERNAL', message, details);
  }
  return new Map(parsed.partitions.map((p) => [p.partition, { baseOffset: p.baseOffset, logAppendTime: p.logAppendTime }]));
}
