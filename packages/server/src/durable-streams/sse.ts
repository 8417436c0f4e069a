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
 *
 * The route is authorised again before each pump that writes (`recheck`): once the principal's
 * read right is revoked nothing more is written, and the response ends with a comment giving
 * the status and message a fresh read gets (the protocol has no error event; the client's
 * reconnect from its last offset gets that answer as an HTTP status).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { StreamContext } from './stream-context.js';
import type { StreamState } from './stream-store.js';
import { COMMON_HEADERS } from './http-headers.js';
import { encodeOffset, nextCursor } from './offsets.js';
import { isJson, isTextual } from './stream-meta.js';
import { readSlice, renderBody } from './stream-read.js';
import { startOffset, type ReadParams } from './read-params.js';
import { runSoon } from '../partitions/run-soon.js';
import { toStreamError } from './stream-error.js';

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

/** recheck: throws what a fresh read of the stream would get (a read right revoked meanwhile). */
export function serveSse(ctx: StreamContext, s: StreamState, params: ReadParams, reply: FastifyReply, recheck: () => void): undefined {
  // resolve the start before answering, so that a 410 is still an HTTP status
  const pos = startOffset(ctx, s, params.offset);
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
  new Subscriber(ctx, s, res, pos, cursor, recheck, (err) => reply.log.warn({ err }, 'SSE stream failed')).start();
  return undefined;
}

/**
 * One SSE subscriber, driven by events rather than a loop of awaits: it subscribes once to the
 * stream's partition (appends) and to the stream (closure, removal), and each wake schedules one
 * pump in a later turn, which writes every event up to the tail until the socket's buffer is
 * full (then the next 'drain' pumps again). Two timers live as long as the connection: the
 * keep-alive, pushed back by every write, and the sseMaxMs end. A live subscriber so costs no
 * promise, timer or listener per append, which is most of a fan-out's work at 1,000 subscribers.
 *
 *   start -> pump --buffer full--> [blocked] --drain--> pump
 *             |  ^
 *   at tail   v  | append, close, removal (partition / stream wake)
 *          [idle] --longPollMs--> ": keep-alive"
 *   end: closed stream (after its last control), removal, client gone, shutdown, sseMaxMs
 */
class Subscriber {
  readonly #ctx: StreamContext;
  readonly #s: StreamState;
  readonly #res: ServerResponse;
  readonly #cursor: string;
  readonly #recheck: () => void;
  readonly #onError: (err: unknown) => void;
  #pos: number;
  #controlled = false;
  #scheduled = false;
  #blocked = false;
  #done = false;
  #cleanups: Array<() => void> = [];
  #keepAlive: NodeJS.Timeout | null = null;
  #wake = (): void => this.#schedule();
  #pumpNow = (): void => this.#pump();

  constructor(ctx: StreamContext, s: StreamState, res: ServerResponse, pos: number, cursor: string, recheck: () => void, onError: (err: unknown) => void) {
    this.#ctx = ctx;
    this.#s = s;
    this.#res = res;
    this.#pos = pos;
    this.#cursor = cursor;
    this.#recheck = recheck;
    this.#onError = onError;
  }

  start(): void {
    const { store, shutdown, longPollMs, sseMaxMs } = this.#ctx;
    const res = this.#res;
    const onClose = (): void => this.#end();
    const onDrain = (): void => {
      this.#blocked = false;
      this.#schedule();
    };
    res.on('close', onClose);
    res.on('drain', onDrain);
    shutdown.addEventListener('abort', onClose, { once: true });
    this.#cleanups.push(
      () => res.off('drain', onDrain),
      () => shutdown.removeEventListener('abort', onClose),
      store.partition(this.#s).subscribe(this.#wake),
      this.#s.watch(this.#wake),
    );
    this.#keepAlive = setTimeout(() => this.#idle(), longPollMs);
    const end = setTimeout(onClose, sseMaxMs);
    this.#cleanups.push(() => clearTimeout(end), () => clearTimeout(this.#keepAlive!));
    if (shutdown.aborted) this.#end();
    else this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#blocked || this.#done) return;
    this.#scheduled = true;
    runSoon(this.#pumpNow);
  }

  #write(chunk: string | Buffer): void {
    this.#keepAlive!.refresh();
    if (!this.#res.write(chunk)) this.#blocked = true;
  }

  #pump(): void {
    this.#scheduled = false;
    if (this.#done || this.#blocked) return;
    const s = this.#s;
    const { store } = this.#ctx;
    try {
      if (s.gone) return this.#end();
      if (this.#pos < store.tail(s) || store.closedForReaders(s) || !this.#controlled) {
        try {
          this.#recheck();
        } catch (err) {
          const refused = toStreamError(err);
          this.#write(`: ${refused.status} ${refused.message.replace(/[\r\n]+/g, ' ')}\n\n`);
          return this.#end();
        }
      }
      while (this.#pos < store.tail(s)) {
        // the data event and its control in one write: one chunk, one syscall per subscriber
        const events = render(this.#ctx, s, this.#pos, this.#cursor);
        if (events.next <= this.#pos) break;
        this.#pos = events.next;
        this.#controlled = true;
        this.#write(events.bytes);
        if (this.#blocked) return;
      }
      if (store.closedForReaders(s) && this.#pos >= store.tail(s)) {
        this.#write(controlEvent({ streamNextOffset: encodeOffset(this.#pos), streamClosed: true }));
        return this.#end();
      }
      if (!this.#controlled) {
        this.#controlled = true;
        this.#write(controlEvent({ streamNextOffset: encodeOffset(this.#pos), streamCursor: this.#cursor, upToDate: true }));
      }
    } catch (err) {
      this.#onError(err);
      this.#end();
    }
  }

  /** Nothing written for longPollMs: a comment keeps proxies from closing the connection. */
  #idle(): void {
    if (this.#done) return;
    const s = this.#s;
    if (!this.#blocked && !s.gone && !this.#ctx.store.closedForReaders(s) && this.#pos >= this.#ctx.store.tail(s)) this.#write(': keep-alive\n\n');
    else this.#keepAlive!.refresh();
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    for (const fn of this.#cleanups) fn();
    this.#cleanups.length = 0;
    this.#res.end();
  }
}
