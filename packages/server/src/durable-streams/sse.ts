/**
 * GET /v1/stream/{path}?live=sse: Server-Sent Events.
 *
 * Every data event is followed by a control event, so a client always knows the offset to
 * resume from:
 *
 *   event: data
 *   data:<line>                  one per line of the payload (split on CR, LF and CRLF, so
 *   data:<line>                  stored newlines can never start a forged event)
 *
 *   event: control
 *   data:{"streamNextOffset":"…","streamCursor":"…","upToDate":true}
 *
 * A data event carries one read chunk: JSON streams as a JSON array, text/* as text, anything
 * else base64 (announced by `Stream-SSE-Data-Encoding: base64`), each event decodable alone. On
 * a closed stream the last control is `{"streamNextOffset":"…","streamClosed":true}` and the
 * response ends. Idle connections get a `: keep-alive` comment each streamLongPollMs and are
 * closed after sseMaxMs so that CDNs can collapse clients (protocol 8.2).
 */
import type { FastifyReply } from 'fastify';
import type { StreamContext } from './stream-context.js';
import type { StreamState } from './stream-store.js';
import { COMMON_HEADERS } from './http-headers.js';
import { encodeOffset, nextCursor } from './offsets.js';
import { isJson, isTextual } from './stream-meta.js';
import { readSlice, renderBody } from './stream-read.js';
import { requestSignal, streamSignal, waitOnStream } from './live-wait.js';
import { startOffset, type ReadParams } from './read-params.js';

function dataEvent(contentType: string, values: Buffer[]): string {
  let payload: string;
  if (isJson(contentType)) payload = renderBody(contentType, values).toString('utf8');
  else if (isTextual(contentType)) payload = Buffer.concat(values).toString('utf8');
  else payload = Buffer.concat(values).toString('base64');
  let out = 'event: data\n';
  for (const line of payload.split(/\r\n|\r|\n/)) out += `data:${line}\n`;
  return out + '\n';
}

function controlEvent(control: Record<string, unknown>): string {
  return `event: control\ndata:${JSON.stringify(control)}\n\n`;
}

/** The events for one read from `from`: a data event (when there are values) and its control. */
interface Rendered {
  from: number;
  tail: number;
  earliest: number;
  cursor: string;
  next: number;
  /** Encoded once, written to every subscriber as it is. */
  bytes: Buffer;
}

/**
 * The events rendered for each stream in this turn of the event loop. In a live fan-out every
 * subscriber wakes at the same offset after an append, in the same turn, and would read and
 * render the same bytes: the first one does, the others reuse its bytes. Records below the tail
 * never change, so (from, tail, earliest, cursor) names the bytes exactly. The map is emptied
 * after the turn, so it never holds a stream's data longer than that.
 */
const rendered = new Map<StreamState, Rendered>();
let emptying = false;

function remember(s: StreamState, r: Rendered): void {
  rendered.set(s, r);
  if (emptying) return;
  emptying = true;
  setImmediate(() => {
    rendered.clear();
    emptying = false;
  });
}

function render(ctx: StreamContext, s: StreamState, from: number, cursor: string): Rendered {
  const { store } = ctx;
  const tail = store.tail(s);
  const earliest = store.earliest(s);
  const hit = rendered.get(s);
  if (hit !== undefined && hit.from === from && hit.tail === tail && hit.earliest === earliest && hit.cursor === cursor) return hit;
  const slice = readSlice(store, s, from, ctx.readBytes);
  let text = '';
  if (slice.next > from) {
    if (slice.values.length > 0) text = dataEvent(s.meta.contentType, slice.values);
    const control: Record<string, unknown> = { streamNextOffset: encodeOffset(slice.next), streamCursor: cursor };
    if (slice.next >= tail) control.upToDate = true;
    text += controlEvent(control);
  }
  const events = { from, tail, earliest, cursor, next: slice.next, bytes: Buffer.from(text) };
  remember(s, events);
  return events;
}

export function serveSse(ctx: StreamContext, s: StreamState, params: ReadParams, reply: FastifyReply): undefined {
  const { store } = ctx;
  // resolve the start before answering, so that a 410 is still an HTTP status
  let pos = startOffset(ctx, s, params.offset);
  const cursor = nextCursor(params.cursor);
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string> = {
    ...COMMON_HEADERS,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': String(reply.request.id),
  };
  if (!isTextual(s.meta.contentType)) headers['stream-sse-data-encoding'] = 'base64';
  res.writeHead(200, headers);
  res.flushHeaders();
  const { signal, dispose: disposeRequest } = requestSignal(res, ctx.shutdown);
  const live = streamSignal(s, signal);
  const dispose = (): void => {
    live.dispose();
    disposeRequest();
  };

  const write = async (chunk: string | Buffer): Promise<void> => {
    if (res.write(chunk) || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      res.on('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });
  };

  const run = async (): Promise<void> => {
    const deadline = Date.now() + ctx.sseMaxMs;
    let controlled = false;
    while (!signal.aborted && !s.gone) {
      while (pos < store.tail(s) && !signal.aborted) {
        // the data event and its control in one write: one chunk, one syscall per subscriber
        const events = render(ctx, s, pos, cursor);
        if (events.next <= pos) break;
        pos = events.next;
        await write(events.bytes);
        controlled = true;
      }
      if (signal.aborted || s.gone) break;
      if (s.meta.closed && pos >= store.tail(s)) {
        await write(controlEvent({ streamNextOffset: encodeOffset(pos), streamClosed: true }));
        break;
      }
      if (!controlled) {
        await write(controlEvent({ streamNextOffset: encodeOffset(pos), streamCursor: cursor, upToDate: true }));
        controlled = true;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await waitOnStream(store, s, pos, Math.min(ctx.longPollMs, left), live.signal);
      if (!signal.aborted && !s.gone && !s.meta.closed && pos >= store.tail(s)) await write(': keep-alive\n\n');
    }
  };
  run()
    .catch((err: unknown) => reply.log.warn({ err }, 'SSE stream failed'))
    .finally(() => {
      dispose();
      res.end();
    });
  return undefined;
}
