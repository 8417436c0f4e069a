/**
 * What Webka remembers about a stream beyond its records, and where.
 *
 * Rarely-changing facts (content type, TTL or expiry, creation time, closure, fork origin,
 * soft deletion) are a StreamMeta, saved in the catalog under the extension key
 * `durableStreams` (the catalog writes atomically, so a crash keeps the state before or after
 * a change). They change on create, close and delete, never on an append.
 *
 * Per-append facts live in the log itself, in the headers of the last record of each appended
 * batch, so they are exactly as durable as the data and cost no extra write:
 *   Stream-Seq      the stream's last Stream-Seq after this append (present once one was given)
 *   Stream-Closed   "true" on the batch of an append-and-close (the catalog is updated right
 *                   after; the header closes the crash window between the two writes)
 * They are read back from the log tail when a stream is first used after a start.
 *
 * Only the sliding-TTL clock (last access) is memory-only: after a restart it starts again,
 * so a stream can outlive its TTL by the downtime but never expires early.
 */
export const EXTENSION_KEY = 'durableStreams';
export const SEQ_HEADER = 'Stream-Seq';
export const CLOSED_HEADER = 'Stream-Closed';

export interface ClosedBy {
  producerId: string;
  epoch: number;
  seq: number;
}

export interface ForkOrigin {
  /** The source stream's path. */
  source: string;
  /** The stream offset where the fork's own records begin (records below it are the source's). */
  offset: number;
  /** Stream-Fork-Offset as given (null when the source's tail was taken), for idempotent PUTs. */
  offsetGiven: string | null;
  subOffset: number;
}

export interface StreamMeta {
  path: string;
  topic: string;
  /** The topic's id: new each time the path is created, so ETags of an old stream never match. */
  topicId: string;
  contentType: string;
  ttlSeconds: number | null;
  /** Stream-Expires-At as given (RFC 3339). */
  expiresAt: string | null;
  createdAt: number;
  closed: boolean;
  closedBy: ClosedBy | null;
  fork: ForkOrigin | null;
  /** Live forks reading through this stream; while > 0 a DELETE only soft-deletes it. */
  forks: number;
  softDeleted: boolean;
}

export interface SavedStreams {
  version: 1;
  streams: StreamMeta[];
}

/** Lower-cased media type without parameters: `Application/JSON; charset=utf-8` -> `application/json`. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export function isJson(contentType: string): boolean {
  return mediaType(contentType) === 'application/json';
}

/** SSE carries text/* and JSON as text; everything else as base64. */
export function isTextual(contentType: string): boolean {
  const m = mediaType(contentType);
  return m.startsWith('text/') || m === 'application/json';
}
