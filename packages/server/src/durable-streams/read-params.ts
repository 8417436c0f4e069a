/** The query of a stream read (offset, live, cursor) and where the read starts. */
import type { StreamContext } from './stream-context.js';
import type { StreamState } from './stream-store.js';
import { StreamError } from './stream-error.js';
import { encodeOffset, parseOffset, type OffsetParam } from './offsets.js';

type Query = Record<string, string | string[] | undefined>;

function single(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new StreamError(400, `${name} is given more than once`);
  return v;
}

export interface ReadParams {
  offset: OffsetParam;
  offsetGiven: boolean;
  live: 'long-poll' | 'sse' | undefined;
  cursor: string | undefined;
}

export function parseReadQuery(q: Query): ReadParams {
  const raw = single(q, 'offset');
  const liveRaw = single(q, 'live');
  if (liveRaw !== undefined && liveRaw !== 'long-poll' && liveRaw !== 'sse') throw new StreamError(400, 'live must be long-poll or sse');
  let offset: OffsetParam = { kind: 'start' };
  if (raw !== undefined) {
    const parsed = parseOffset(raw);
    if (parsed === null) throw new StreamError(400, 'offset must be -1, now, or an offset this server handed out');
    offset = parsed;
  }
  if (liveRaw !== undefined && raw === undefined) throw new StreamError(400, `live=${liveRaw} needs an offset`);
  return { offset, offsetGiven: raw !== undefined, live: liveRaw, cursor: single(q, 'cursor') };
}

/** The stream offset a read starts at: 410 below what retention kept; past the tail reads at the tail. */
export function startOffset(ctx: StreamContext, s: StreamState, offset: OffsetParam): number {
  const tail = ctx.store.tail(s);
  if (offset.kind === 'now') return tail;
  const earliest = ctx.store.earliest(s);
  if (offset.kind === 'start') return earliest;
  if (offset.offset < earliest) {
    throw new StreamError(410, `offset is before the oldest record the stream still holds (${encodeOffset(earliest)}); retention deleted older records`);
  }
  return Math.min(offset.offset, tail);
}

