/**
 * GET (catch-up and long-poll reads) and HEAD of /v1/stream/{path}.
 *
 * A catch-up read answers from the offset up to about readBytes, with an ETag naming exactly
 * that range (`"<topic id>:<from>:<next>[:c]"`), so a CDN or browser cache can hold historical
 * chunks: a range below the tail never changes. A long poll at the tail waits for an append,
 * the stream's closure, or streamLongPollMs.
 *
 * Live reads (long poll, SSE) authorise the route again before each delivery after a wait
 * (`security.reauthorize`): a read right revoked while they wait stops them with the answer a
 * fresh read gets.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamContext } from './stream-context.js';
import type { StreamState } from './stream-store.js';
import { StreamError } from './stream-error.js';
import { header } from './http-headers.js';
import { streamPathOfUrl } from './stream-path.js';
import { encodeOffset, nextCursor } from './offsets.js';
import { parseReadQuery, startOffset, type ReadParams } from './read-params.js';
import { isJson } from './stream-meta.js';
import { readSlice, renderBody } from './stream-read.js';
import { waitAtTail, requestSignal } from './live-wait.js';
import { serveSse } from './sse.js';

type Query = Record<string, string | string[] | undefined>;

function emptyBody(s: StreamState): Buffer {
  return isJson(s.meta.contentType) ? Buffer.from('[]') : Buffer.alloc(0);
}

/** Answers the data from `from` (200), as catch-up and long-poll reads do. */
function sendData(ctx: StreamContext, s: StreamState, from: number, request: FastifyRequest, reply: FastifyReply, extra: Record<string, string>): FastifyReply {
  const slice = readSlice(ctx.store, s, from, ctx.readBytes);
  const next = Math.max(slice.next, from);
  const upToDate = next >= ctx.store.tail(s);
  const closedAtTail = upToDate && ctx.store.closedForReaders(s);
  const etag = `"${s.meta.topicId}:${from}:${next}${closedAtTail ? ':c' : ''}"`;
  const headers: Record<string, string> = {
    'content-type': s.meta.contentType,
    'stream-next-offset': encodeOffset(next),
    etag,
    // a range below the tail never changes; at the tail it grows, so caches must revalidate
    'cache-control': upToDate ? 'no-cache' : 'public, max-age=60, stale-while-revalidate=300',
    ...extra,
  };
  if (upToDate) headers['stream-up-to-date'] = 'true';
  if (closedAtTail) headers['stream-closed'] = 'true';
  if (header(request.headers, 'if-none-match') === etag) return reply.code(304).headers(headers).send();
  return reply.code(200).headers(headers).send(slice.values.length === 0 ? emptyBody(s) : renderBody(s.meta.contentType, slice.values));
}

export async function readStream(ctx: StreamContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const path = streamPathOfUrl(request.url);
  const params = parseReadQuery(request.query as Query);
  const s = ctx.store.find(path, true);
  if (params.live === 'sse') return serveSse(ctx, s, params, reply, () => request.server.security.reauthorize(request));
  if (params.live === 'long-poll') return longPoll(ctx, s, params, request, reply);
  if (params.offset.kind === 'now') {
    const headers: Record<string, string> = {
      'content-type': s.meta.contentType,
      'stream-next-offset': encodeOffset(ctx.store.tail(s)),
      'stream-up-to-date': 'true',
      'cache-control': 'no-store',
    };
    if (ctx.store.closedForReaders(s)) headers['stream-closed'] = 'true';
    return reply.code(200).headers(headers).send(emptyBody(s));
  }
  return sendData(ctx, s, startOffset(ctx, s, params.offset), request, reply, {});
}

async function longPoll(ctx: StreamContext, s: StreamState, params: ReadParams, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const cursor = { 'stream-cursor': nextCursor(params.cursor) };
  const from = startOffset(ctx, s, params.offset);
  if (from < ctx.store.tail(s)) return sendData(ctx, s, from, request, reply, cursor);
  if (!ctx.store.closedForReaders(s)) {
    const { signal, dispose } = requestSignal(reply.raw, ctx.shutdown);
    try {
      await waitAtTail(ctx.store, s, from, ctx.longPollMs, signal);
    } finally {
      dispose();
    }
    if (s.gone) throw new StreamError(404, 'stream not found');
    // the right to read may have been revoked while the poll waited
    request.server.security.reauthorize(request);
    if (from < ctx.store.tail(s)) return sendData(ctx, s, from, request, reply, cursor);
  }
  const headers: Record<string, string> = {
    ...cursor,
    'stream-next-offset': encodeOffset(ctx.store.tail(s)),
    'stream-up-to-date': 'true',
  };
  if (ctx.store.closedForReaders(s)) headers['stream-closed'] = 'true';
  return reply.code(204).headers(headers).send();
}

export function headStream(ctx: StreamContext, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const s = ctx.store.find(streamPathOfUrl(request.url), false);
  const headers: Record<string, string> = {
    'content-type': s.meta.contentType,
    'stream-next-offset': encodeOffset(ctx.store.tail(s)),
    'cache-control': 'no-store',
    // Webka's extension: the topic (in the streams cluster) that holds the stream, for the native API
    'webka-topic': s.meta.topic,
  };
  if (s.meta.ttlSeconds !== null) headers['stream-ttl'] = String(s.meta.ttlSeconds);
  if (s.meta.expiresAt !== null) headers['stream-expires-at'] = s.meta.expiresAt;
  if (ctx.store.closedForReaders(s)) headers['stream-closed'] = 'true';
  return reply.code(200).headers(headers).send();
}
