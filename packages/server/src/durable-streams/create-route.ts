/**
 * PUT /v1/stream/{path}: create a stream (or confirm an identical one), optionally with initial
 * content, closed, or as a fork of another stream.
 *
 * A fork inherits its source's records below the fork offset by reading through the source's
 * partition (nothing is copied); its own appends go to its own topic, whose offset 0 is the
 * fork offset in the stream's offsets. Stream-Fork-Sub-Offset also copies the first N bytes
 * (or N JSON values) of the source's append at the fork offset: that prefix becomes the fork's
 * first own batch.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamContext } from './stream-context.js';
import type { StreamState } from './stream-store.js';
import { StreamError } from './stream-error.js';
import { header, isTrue } from './http-headers.js';
import { streamPathOfUrl, streamPathOfReference, topicNameFor } from './stream-path.js';
import { encodeOffset, parseForkOffset } from './offsets.js';
import { mediaType, type StreamMeta } from './stream-meta.js';
import { splitBody } from './stream-read.js';
import { appendValues } from './stream-append.js';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

interface CreateRequest {
  path: string;
  contentType: string | undefined;
  ttlSeconds: number | null;
  expiresAt: string | null;
  closed: boolean;
  fork: { source: string; offsetGiven: string | null; offset: number | null; subOffset: number } | null;
  body: Buffer;
}

function parseRequest(request: FastifyRequest): CreateRequest {
  const h = request.headers;
  const ttlRaw = header(h, 'stream-ttl');
  const expiresRaw = header(h, 'stream-expires-at');
  if (ttlRaw !== undefined && expiresRaw !== undefined) throw new StreamError(400, 'send Stream-TTL or Stream-Expires-At, not both');
  let ttlSeconds: number | null = null;
  if (ttlRaw !== undefined) {
    if (!/^(0|[1-9]\d*)$/.test(ttlRaw) || !Number.isSafeInteger(Number(ttlRaw))) {
      throw new StreamError(400, 'Stream-TTL must be a whole number of seconds, without sign, leading zeros or decimals');
    }
    ttlSeconds = Number(ttlRaw);
  }
  let expiresAt: string | null = null;
  if (expiresRaw !== undefined) {
    const v = expiresRaw.trim();
    if (!RFC3339.test(v) || Number.isNaN(Date.parse(v))) throw new StreamError(400, 'Stream-Expires-At must be an RFC 3339 timestamp');
    expiresAt = v;
  }
  const forkedFrom = header(h, 'stream-forked-from');
  const forkOffsetRaw = header(h, 'stream-fork-offset');
  const subRaw = header(h, 'stream-fork-sub-offset');
  let fork: CreateRequest['fork'] = null;
  if (forkedFrom === undefined) {
    if (forkOffsetRaw !== undefined) throw new StreamError(400, 'Stream-Fork-Offset needs Stream-Forked-From');
    if (subRaw !== undefined) throw new StreamError(400, 'Stream-Fork-Sub-Offset needs Stream-Forked-From');
  } else {
    let offset: number | null = null;
    if (forkOffsetRaw !== undefined) {
      offset = parseForkOffset(forkOffsetRaw.trim());
      if (offset === null) throw new StreamError(400, 'Stream-Fork-Offset must be an offset this server handed out');
    }
    let subOffset = 0;
    if (subRaw !== undefined) {
      if (!/^(0|[1-9]\d*)$/.test(subRaw.trim()) || !Number.isSafeInteger(Number(subRaw.trim()))) {
        throw new StreamError(400, 'Stream-Fork-Sub-Offset must be a non-negative whole number');
      }
      subOffset = Number(subRaw.trim());
    }
    fork = { source: streamPathOfReference(forkedFrom.trim()), offsetGiven: forkOffsetRaw?.trim() ?? null, offset, subOffset };
  }
  const ct = header(h, 'content-type');
  return {
    path: streamPathOfUrl(request.url),
    contentType: ct === undefined || ct.trim() === '' ? undefined : ct,
    ttlSeconds,
    expiresAt,
    closed: isTrue(header(h, 'stream-closed')),
    fork,
    body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
  };
}

/** Does an existing stream match a create request (an idempotent PUT)? */
function sameConfig(meta: StreamMeta, req: CreateRequest): boolean {
  const inherits = req.fork !== null;
  const ct = req.contentType ?? (inherits ? meta.contentType : DEFAULT_CONTENT_TYPE);
  if (mediaType(ct) !== mediaType(meta.contentType)) return false;
  const inheritsExpiry = inherits && req.ttlSeconds === null && req.expiresAt === null;
  if (!inheritsExpiry) {
    if (req.ttlSeconds !== meta.ttlSeconds) return false;
    const a = req.expiresAt === null ? null : Date.parse(req.expiresAt);
    const b = meta.expiresAt === null ? null : Date.parse(meta.expiresAt);
    if (a !== b) return false;
  }
  if (req.closed !== meta.closed) return false;
  if ((req.fork === null) !== (meta.fork === null)) return false;
  if (req.fork !== null && meta.fork !== null) {
    if (req.fork.source !== meta.fork.source || req.fork.subOffset !== meta.fork.subOffset) return false;
    if (req.fork.offset !== null && meta.fork.offsetGiven !== null && req.fork.offset !== parseForkOffset(meta.fork.offsetGiven)) return false;
    if ((req.fork.offset === null) !== (meta.fork.offsetGiven === null)) return false;
  }
  return true;
}

function streamHeaders(ctx: StreamContext, s: StreamState): Record<string, string> {
  const out: Record<string, string> = {
    'content-type': s.meta.contentType,
    'stream-next-offset': encodeOffset(ctx.store.tail(s)),
    'webka-topic': s.meta.topic,
  };
  if (s.meta.closed) out['stream-closed'] = 'true';
  return out;
}

export async function createStream(ctx: StreamContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { store } = ctx;
  const req = parseRequest(request);
  const existing = store.peek(req.path);
  if (existing !== undefined) {
    if (existing.meta.softDeleted) throw new StreamError(409, 'a deleted stream that forks still read is at this path');
    if (!sameConfig(existing.meta, req)) throw new StreamError(409, 'a stream with a different configuration exists at this path');
    // in a cluster, a stream being made by a request just before is confirmed once it is saved
    await existing.saving;
    if (existing.gone) throw new StreamError(503, 'the stream at this path could not be saved; retry');
    return reply.code(200).headers(streamHeaders(ctx, existing)).send();
  }

  // Everything is checked before anything is created.
  let contentType = req.contentType ?? DEFAULT_CONTENT_TYPE;
  let { ttlSeconds, expiresAt } = req;
  let fork: StreamMeta['fork'] = null;
  const initial: Buffer[] = [];
  if (req.fork !== null) {
    const source = store.peek(req.fork.source);
    if (source === undefined) throw new StreamError(404, 'the stream to fork from does not exist');
    if (source.meta.softDeleted) throw new StreamError(409, 'the stream to fork from was deleted');
    if (req.contentType !== undefined && mediaType(req.contentType) !== mediaType(source.meta.contentType)) {
      throw new StreamError(409, `a fork keeps its source's content type (${source.meta.contentType})`);
    }
    contentType = req.contentType ?? source.meta.contentType;
    if (ttlSeconds === null && expiresAt === null) {
      ttlSeconds = source.meta.ttlSeconds;
      expiresAt = source.meta.expiresAt;
    }
    const tail = store.tail(source);
    const offset = req.fork.offset ?? tail;
    if (offset > tail) throw new StreamError(400, 'Stream-Fork-Offset is beyond the end of the source stream');
    if (offset < store.earliest(source)) throw new StreamError(400, 'Stream-Fork-Offset is before the oldest record the source still holds');
    if (req.fork.subOffset > 0) initial.push(...subOffsetPrefix(ctx, source, offset, req.fork.subOffset));
    fork = { source: req.fork.source, offset, offsetGiven: req.fork.offsetGiven, subOffset: req.fork.subOffset };
  }
  initial.push(...splitBody(contentType, req.body, true));

  const topic = topicNameFor(req.path);
  // the topic and the stream's metadata are saved together: one atomic catalog write
  const { s, durable } = store.broker.catalog.atomically(() => {
    const record = store.createTopic(topic);
    const created = store.add({
      path: req.path,
      topic,
      topicId: record.id,
      contentType,
      ttlSeconds,
      expiresAt,
      createdAt: Date.now(),
      // closed before the append, so that the batch carries Stream-Closed
      closed: req.closed,
      closedBy: null,
      fork,
      forks: 0,
      softDeleted: false,
    });
    const appended = initial.length > 0 ? appendValues(store, created, initial, { seq: null, close: req.closed ? { by: null } : undefined }) : Promise.resolve();
    return { s: created, durable: Promise.all([appended, store.save(created)]) };
  });
  try {
    await durable;
  } catch (err) {
    // refused before anything was written (e.g. a record too large), or in a cluster its
    // document could not be written: no stream either
    if (store.partition(s).log.nextOffset === 0 || (store.clustered && s.revision === null)) await store.remove(s).catch(() => undefined);
    throw err;
  }
  const q = request.url.indexOf('?');
  const location = `${request.protocol}://${request.host}${q < 0 ? request.url : request.url.slice(0, q)}`;
  return reply.code(201).headers({ ...streamHeaders(ctx, s), location }).send();
}

/**
 * The first n bytes (or n JSON values) of the source's append that starts at offset, to be
 * the fork's first own append.
 */
function subOffsetPrefix(ctx: StreamContext, source: StreamState, offset: number, n: number): Buffer[] {
  const seg = ctx.store.segments(source).find((g) => offset >= g.base && offset < g.end);
  const t = seg === undefined ? -1 : offset - seg.base;
  if (seg === undefined || t >= seg.partition.log.highWatermark || t < seg.partition.log.logStartOffset) {
    throw new StreamError(400, 'Stream-Fork-Sub-Offset needs an append at the fork offset, and there is none');
  }
  // maxBytes 1 reads exactly the batch holding t: one append
  const { records } = seg.partition.read(t, { maxRecords: Number.MAX_SAFE_INTEGER, maxBytes: 1 });
  const values = records.filter((r) => r.offset < seg.end - seg.base).map((r) => r.value ?? Buffer.alloc(0));
  if (values.length === 0) throw new StreamError(400, 'Stream-Fork-Sub-Offset needs an append at the fork offset, and there is none');
  if (values.length === 1 && !isJsonValues(source)) {
    if (n > values[0].length) throw new StreamError(400, `Stream-Fork-Sub-Offset ${n} is longer than the append at the fork offset (${values[0].length} bytes)`);
    return [values[0].subarray(0, n)];
  }
  if (n > values.length) throw new StreamError(400, `Stream-Fork-Sub-Offset ${n} is more than the ${values.length} values of the append at the fork offset`);
  return values.slice(0, n);
}

function isJsonValues(s: StreamState): boolean {
  return mediaType(s.meta.contentType) === 'application/json';
}
