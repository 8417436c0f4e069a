/**
 * One Server-Sent Events response: the wire format (text/event-stream, WHATWG HTML 9.2) and the
 * socket's backpressure. Created by SseStream.open() from a route once every check has passed (so
 * that errors before it answer with a status and the error shape); ends when the client goes, the
 * stream fails (an `event: error`, then the end) or the broker shuts down.
 *
 * Injection: an event is `id:`, `event:` and ONE `data:` line. Data is JSON, whose strings
 * escape CR and LF; the only raw line breaks valid JSON can hold are whitespace between tokens (a
 * value stored as text and shown as JSON can have them), and those are replaced by spaces, which
 * changes no JSON value. So no key, value or header can end an event or start a field.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { SSE_CONTENT_TYPE, SseEvent } from '@webka/protocol';
import { WebkaError } from '../../errors.js';
import { errorBody } from '../error-handler.js';

const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /[\r\n]/g;

/** JSON text as one SSE data line. */
export function dataLine(json: string): string {
  return LINE_BREAK.test(json) ? json.replace(LINE_BREAKS, ' ') : json;
}

/** One event: `id` is a position (digits, base 36, "t:" and "."), `event` a fixed name. */
export function sseEvent(event: string, json: string, id?: string): string {
  return (id === undefined ? '' : `id: ${id}\n`) + `event: ${event}\ndata: ${dataLine(json)}\n\n`;
}

export class SseStream {
  #res: ServerResponse;
  #ended = false;
  #drainWaiter: (() => void) | null = null;
  #closeHandlers: Array<() => void> = [];
  /** Characters handed to the socket (bytes, for ASCII): what this client has cost at most. */
  charsWritten = 0;

  /**
   * Takes the response over from Fastify and sends the headers. Headers set by hooks so far
   * (CORS from @fastify/cors, x-request-id) are copied, since a hijacked reply does not send them.
   */
  static open(reply: FastifyReply): SseStream {
    const headers = reply.getHeaders() as OutgoingHttpHeaders;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...headers,
      'content-type': `${SSE_CONTENT_TYPE}; charset=utf-8`,
      'cache-control': 'no-cache, no-transform',
      // nginx buffers responses unless told not to
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const stream = new SseStream(res);
    // A token's end ends the stream with a clear event (docs/security.md).
    const expiresAt = reply.request.principal?.expiresAt;
    if (expiresAt !== undefined) {
      const t = setTimeout(() => stream.fail(new WebkaError('UNAUTHENTICATED', 'the access token expired; reconnect with a new one')), Math.max(0, expiresAt - Date.now()));
      t.unref();
      stream.onClose(() => clearTimeout(t));
    }
    return stream;
  }

  private constructor(res: ServerResponse) {
    this.#res = res;
    res.on('drain', () => {
      const w = this.#drainWaiter;
      this.#drainWaiter = null;
      w?.();
    });
    res.on('close', () => {
      this.#ended = true;
      for (const fn of this.#closeHandlers) fn();
      this.#closeHandlers.length = 0;
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes waiting in Node's buffer for this client (not counting the kernel's). */
  get buffered(): number {
    return this.#res.writableLength;
  }

  /** Writes whole events; false when the client's buffer is full (then wait for whenDrained). */
  write(text: string | Buffer): boolean {
    if (this.#ended) return false;
    this.charsWritten += text.length;
    return this.#res.write(text);
  }

  /** Calls fn once when the client has read what is buffered (one waiter at a time). */
  whenDrained(fn: () => void): void {
    this.#drainWaiter = fn;
  }

  onClose(fn: () => void): void {
    if (this.#ended) fn();
    else this.#closeHandlers.push(fn);
  }

  /** A comment that keeps proxies from closing an idle stream; skipped while the buffer is full. */
  ping(): void {
    if (!this.#ended && !this.#res.writableNeedDrain) this.write(': ping\n\n');
  }

  /** Sends `event: error` with the error body and ends the stream. */
  fail(err: WebkaError): void {
    if (this.#ended) return;
    this.write(sseEvent(SseEvent.error, errorBody(err.code, err.message, err.details)));
    this.end();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#res.end();
  }
}
