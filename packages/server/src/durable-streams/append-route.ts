/**
 * POST /v1/stream/{path}: append, append-and-close, or close (an empty body with
 * Stream-Closed: true). The checks run in the protocol's order, which decides which refusal a
 * request gets when several apply:
 *
 *   producer headers well-formed -> close-only? -> body present -> Content-Type present ->
 *   stream exists -> not closed -> Content-Type matches -> producer sequence -> Stream-Seq ->
 *   body valid (JSON) -> append
 *
 * All of it runs in one turn of the event loop up to the append (see stream-append.ts), so
 * concurrent writers of a stream are serialised without locks.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamContext } from './stream-context.js';
import type { StreamState } from './stream-store.js';
import { StreamError } from './stream-error.js';
import { header, isTrue } from './http-headers.js';
import { streamPathOfUrl } from './stream-path.js';
import { encodeOffset } from './offsets.js';
import { mediaType, type ClosedBy } from './stream-meta.js';
import { splitBody } from './stream-read.js';
import { appendValues, closeStream, toRef } from './stream-append.js';
import { parseProducerHeaders, checkProducer, type ProducerHeaders } from './producer-headers.js';
import { streamProducerId, ownProducer, producerState } from './stream-producer-id.js';

function sameTuple(by: ClosedBy | null, p: ProducerHeaders | undefined): boolean {
  return by !== null && p !== undefined && by.producerId === p.id && by.epoch === p.epoch && by.seq === p.seq;
}

function producerHeaders(epoch: number, seq: number): Record<string, string> {
  return { 'producer-epoch': String(epoch), 'producer-seq': String(seq) };
}

function closedHeaders(ctx: StreamContext, s: StreamState): Record<string, string> {
  return { 'stream-closed': 'true', 'stream-next-offset': encodeOffset(ctx.store.tail(s)) };
}

/** A request on a closed stream: the exact retry of the request that closed it succeeds again. */
function onClosed(ctx: StreamContext, s: StreamState, producer: ProducerHeaders | undefined, reply: FastifyReply): FastifyReply {
  if (sameTuple(s.meta.closedBy, producer)) {
    return reply.code(204).headers({ ...closedHeaders(ctx, s), ...producerHeaders(producer!.epoch, producer!.seq) }).send();
  }
  throw new StreamError(409, 'the stream is closed', closedHeaders(ctx, s));
}

/** A producer's duplicate is answered as the first attempt was, once what it duplicates is durable. */
async function answerDuplicate(ctx: StreamContext, s: StreamState, producer: ProducerHeaders, lastSeq: number, reply: FastifyReply): Promise<FastifyReply> {
  const p = ctx.store.partition(s);
  await p.flush(p.log.nextOffset);
  return reply
    .code(204)
    .headers({ ...producerHeaders(producer.epoch, lastSeq), 'stream-next-offset': encodeOffset(ctx.store.tail(s)) })
    .send();
}

export async function appendToStream(ctx: StreamContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { store } = ctx;
  const path = streamPathOfUrl(request.url);
  const producer = ownProducer(parseProducerHeaders(request.headers), request.principal);
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const closing = isTrue(header(request.headers, 'stream-closed'));
  if (body.length === 0 && closing) return closeOnly(ctx, path, producer, reply);
  if (body.length === 0) throw new StreamError(400, 'the body is empty; an append needs data (or Stream-Closed: true to close)');
  const contentType = header(request.headers, 'content-type');
  if (contentType === undefined || contentType.trim() === '') throw new StreamError(400, 'Content-Type is required and must match the stream');

  const s = store.find(path, true);
  if (s.meta.closed) return onClosed(ctx, s, producer, reply);
  if (mediaType(contentType) !== mediaType(s.meta.contentType)) {
    throw new StreamError(409, `the stream's content type is ${s.meta.contentType}`);
  }
  const p = store.partition(s);
  let ref;
  if (producer !== undefined) {
    const producerId = streamProducerId(store.broker.catalog, producer.id);
    const verdict = checkProducer(producerState(store.broker, p, producerId, ctx.producers), producer);
    if (verdict.kind === 'duplicate') return answerDuplicate(ctx, s, producer, verdict.lastSeq, reply);
    ref = toRef(producerId, producer.epoch, producer.seq);
  }
  const streamSeq = header(request.headers, 'stream-seq');
  const lastSeq = store.lastSeq(s);
  if (streamSeq !== undefined && lastSeq !== null && Buffer.compare(Buffer.from(streamSeq, 'utf8'), Buffer.from(lastSeq, 'utf8')) <= 0) {
    throw new StreamError(409, `Stream-Seq ${JSON.stringify(streamSeq)} is not after the last one (${JSON.stringify(lastSeq)})`);
  }
  const values = splitBody(s.meta.contentType, body, false);
  const by: ClosedBy | null = producer === undefined ? null : { producerId: producer.id, epoch: producer.epoch, seq: producer.seq };
  await appendValues(store, s, values, { producer: ref, seq: streamSeq ?? lastSeq, close: closing ? { by } : undefined });

  const headers: Record<string, string> = { 'stream-next-offset': encodeOffset(store.tail(s)) };
  if (closing) headers['stream-closed'] = 'true';
  if (producer === undefined) return reply.code(204).headers(headers).send();
  return reply
    .code(200)
    .headers({ ...headers, ...producerHeaders(producer.epoch, producer.seq) })
    .send();
}

async function closeOnly(ctx: StreamContext, path: string, producer: ProducerHeaders | undefined, reply: FastifyReply): Promise<FastifyReply> {
  const { store } = ctx;
  const s = store.find(path, true);
  if (producer === undefined) {
    await closeStream(store, s, null);
    return reply.code(204).headers(closedHeaders(ctx, s)).send();
  }
  if (s.meta.closed) return onClosed(ctx, s, producer, reply);
  const p = store.partition(s);
  const verdict = checkProducer(producerState(store.broker, p, streamProducerId(store.broker.catalog, producer.id), ctx.producers), producer);
  if (verdict.kind === 'duplicate') return answerDuplicate(ctx, s, producer, verdict.lastSeq, reply);
  // A close writes no record: the stream's offsets do not move, and since nothing can be
  // appended after it, the producer's sequence has nothing left to order.
  const saved = closeStream(store, s, { producerId: producer.id, epoch: producer.epoch, seq: producer.seq });
  await Promise.all([saved, p.flush(p.log.nextOffset)]);
  return reply
    .code(204)
    .headers({ ...closedHeaders(ctx, s), ...producerHeaders(producer.epoch, producer.seq) })
    .send();
}
