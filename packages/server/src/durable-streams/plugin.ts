/**
 * The Durable Streams protocol at /v1/stream/{path}: a Fastify plugin over the broker core.
 *
 * Encapsulated on purpose: its body parser takes every body as raw bytes (any Content-Type, or
 * none), its error handler answers the protocol's statuses and headers with a text/plain
 * message (not Webka's JSON error shape), and every answer (errors, 204s, hijacked SSE
 * included) carries the browser security and CORS headers. The rest of the app is untouched.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { toStreamError } from './stream-error.js';
import { redactSecrets } from '../auth/secrets.js';
import { StreamStore } from './stream-store.js';
import type { StreamContext } from './stream-context.js';
import { ALLOWED_HEADERS, ALLOWED_METHODS, COMMON_HEADERS, header } from './http-headers.js';
import { streamPathOfUrl } from './stream-path.js';
import { createStream } from './create-route.js';
import { appendToStream } from './append-route.js';
import { readStream, headStream } from './read-route.js';
import { encodeOffset } from './offsets.js';
import { handleError } from '../http/error-handler.js';
import { fromOtherBrokers } from '../http/group-routing.js';
import { STREAM_RECORD_OVERHEAD, routeToStreamLeader, streamCluster, streamsKnown } from './cluster-streams.js';

const StreamListSchema = Type.Object({
  streams: Type.Array(
    Type.Object({
      path: Type.String(),
      topic: Type.String({ description: 'Its topic in the "streams" cluster' }),
      contentType: Type.String(),
      ttlSeconds: Type.Union([Type.Integer(), Type.Null()]),
      expiresAt: Type.Union([Type.String(), Type.Null()]),
      createdAt: Type.Integer(),
      closed: Type.Boolean(),
      tailOffset: Type.String({ description: 'The offset the next append gets' }),
    }),
  ),
});

const SSE_MAX_MS = 60_000;
const SWEEP_INTERVAL_MS = 30_000;

/**
 * Takes every body as bytes, whatever its Content-Type (or none). A body over the limit is read
 * to its end (up to DRAIN_LIMIT more) before the 413, so that the client, still sending, reads
 * the answer instead of a reset connection.
 */
const DRAIN_LIMIT = 64 * 1024 * 1024;

function readBody(limit: number) {
  return (_request: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: Buffer) => void): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    payload.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit + DRAIN_LIMIT) (payload as NodeJS.ReadableStream & { destroy(): void }).destroy();
    });
    payload.on('end', () => {
      if (size > limit) done(Object.assign(new Error(`the body is larger than ${limit} bytes`), { statusCode: 413 }));
      else done(null, Buffer.concat(chunks, size));
    });
    payload.on('error', (err: Error) => done(err));
  };
}

export async function durableStreamsRoutes(app: FastifyInstance): Promise<void> {
  const { broker, config, shutdown } = app.webka;
  const maxMessageBytes = config.bodyLimit + STREAM_RECORD_OVERHEAD;
  const cluster = streamCluster(app);
  const store = new StreamStore(broker, {
    maxMessageBytes,
    onWarning: (message, details) => app.log.warn(details ?? {}, message),
    cluster,
  });
  const ctx: StreamContext = {
    store,
    longPollMs: config.streamLongPollMs,
    readBytes: config.defaultFetchBytes,
    sseMaxMs: SSE_MAX_MS,
    shutdown,
    producers: { max: config.streamMaxProducers, expiryMs: config.streamProducerExpiryMs },
  };
  const sweeper = setInterval(() => store.sweep(Date.now(), true), SWEEP_INTERVAL_MS).unref();
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    store.close();
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', readBody(config.bodyLimit));

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(COMMON_HEADERS);
    return payload;
  });

  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = toStreamError(err);
    if (e.status >= 500) request.log.error({ err }, 'stream request failed');
    return reply.code(e.status).headers(e.headers).type('text/plain').send(Buffer.from(redactSecrets(e.message) + '\n'));
  });

  // The list is Webka's own JSON API, not the protocol's: Webka's error answers again.
  await app.register(async (listing) => {
    listing.setErrorHandler(handleError);
    // in a cluster each broker lists the streams it leads (where their tails are), and the one
    // asked gathers the others' lists
    listing.get('/v1/streams', { schema: { tags: ['streams'], summary: 'Every Durable Stream the caller may see, with its content type, TTL and tail', response: { 200: StreamListSchema } } }, async (request) => {
      await streamsKnown(store);
      const own = store.list().filter((s) => cluster === undefined || cluster.leaderEpoch(s.meta.topicId) >= 0);
      const others = await fromOtherBrokers(app, request, (body) => (body as Static<typeof StreamListSchema>).streams);
      const streams = own.map((s) => ({
        path: s.meta.path,
        topic: s.meta.topic,
        contentType: s.meta.contentType,
        ttlSeconds: s.meta.ttlSeconds,
        expiresAt: s.meta.expiresAt,
        createdAt: s.meta.createdAt,
        closed: s.meta.closed,
        tailOffset: encodeOffset(store.tail(s)),
      }));
      return { streams: [...streams, ...others] };
    });
  });

  const url = '/v1/stream/*';
  const opts = {
    schema: { hide: true },
    bodyLimit: config.bodyLimit,
    ...(cluster === undefined ? {} : { preHandler: routeToStreamLeader(app, store, maxMessageBytes, 2 * config.streamLongPollMs + 1000) }),
  };
  app.put(url, opts, (request, reply) => createStream(ctx, request, reply));
  app.post(url, opts, (request, reply) => appendToStream(ctx, request, reply));
  app.get(url, { ...opts, exposeHeadRoute: false }, (request, reply) => readStream(ctx, request, reply));
  app.head(url, opts, async (request, reply) => headStream(ctx, request, reply));
  app.delete(url, opts, async (request, reply) => {
    await store.remove(store.find(streamPathOfUrl(request.url), false));
    return reply.code(204).send();
  });
  app.options(url, opts, async (request, reply) => {
    const asked = header(request.headers, 'access-control-request-headers');
    return reply
      .code(204)
      .headers({
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': asked === undefined ? ALLOWED_HEADERS : `${ALLOWED_HEADERS}, ${asked}`,
        'access-control-max-age': '86400',
      })
      .send();
  });
}
