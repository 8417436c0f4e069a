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
import type { OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
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

/** Response headers that the stream sets itself, or that a close-delimited body must not carry. */
const OWN_HEADERS = new Set(['content-type', 'cache-control', 'x-accel-buffering', 'connection', 'transfer-encoding', 'content-length', 'keep-alive', 'date']);
const BAD_HEADER_TEXT = /[\r\n\0]/;

export class SseStream {
  #socket: Socket | null;
  #ended = false;
  #drainWaiter: (() => void) | null = null;
  #closeHandlers: Array<() => void> = [];
  /** Characters handed to the socket (bytes, for ASCII): what this client has cost at most. */
  charsWritten = 0;

  /**
   * Takes the connection over from Fastify and sends the head. The body goes straight to the
   * socket, delimited by the connection's close (`Connection: close`) rather than chunked: one
   * write per delivery instead of four (size, CRLF, data, CRLF) through the response's cork, which
   * is most of a fan-out's cost per subscriber. A stream never shares its connection anyway.
   * Headers set by hooks so far (CORS from @fastify/cors, x-request-id) are copied, since a
   * hijacked reply does not send them.
   */
  static open(reply: FastifyReply): SseStream {
    const headers = reply.getHeaders() as OutgoingHttpHeaders;
    reply.hijack();
    const socket = reply.raw.socket;
    if (socket === null || socket.destroyed) {
      const gone = new SseStream(null);
      gone.#ended = true;
      return gone;
    }
    let head = 'HTTP/1.1 200 OK\r\n' +
      `content-type: ${SSE_CONTENT_TYPE}; charset=utf-8\r\n` +
      'cache-control: no-cache, no-transform\r\n' +
      // nginx buffers responses unless told not to
      'x-accel-buffering: no\r\n' +
      'connection: close\r\n' +
      `date: ${new Date().toUTCString()}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || OWN_HEADERS.has(name.toLowerCase())) continue;
      for (const one of Array.isArray(value) ? value : [value]) {
        const text = String(one);
        if (!BAD_HEADER_TEXT.test(name) && !BAD_HEADER_TEXT.test(text)) head += `${name}: ${text}\r\n`;
      }
    }
    socket.write(head + '\r\n');
    const stream = new SseStream(socket);
    // A token's end ends the stream with a clear event (docs/security.md).
    const expiresAt = reply.request.principal?.expiresAt;
    if (expiresAt !== undefined) {
      const t = setTimeout(() => stream.fail(new WebkaError('UNAUTHENTICATED', 'the access token expired; reconnect with a new one')), Math.max(0, expiresAt - Date.now()));
      t.unref();
      stream.onClose(() => clearTimeout(t));
    }
    return stream;
  }

  private constructor(socket: Socket | null) {
    this.#socket = socket;
    if (socket === null) return;
    socket.on('drain', () => {
      const w = this.#drainWaiter;
      this.#drainWaiter = null;
      w?.();
    });
    socket.once('close', () => {
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
    return this.#socket?.writableLength ?? 0;
  }

  /** Writes whole events; false when the client's buffer is full (then wait for whenDrained). */
  write(text: string | Buffer): boolean {
    if (this.#ended) return false;
    this.charsWritten += text.length;
    return this.#socket!.write(text);
  }

  /** Calls fn once when the client has read what is buffered (one waiter at a time). */
  whenDrained(fn: () => void): void {
    this.#drainWaiter = fn;
  }

  onClose(fn: () => void): void {
    if (this.#ended && (this.#socket === null || this.#socket.closed)) fn();
    else this.#closeHandlers.push(fn);
  }

  /** A comment that keeps proxies from closing an idle stream; skipped while the buffer is full. */
  ping(): void {
    if (!this.#ended && !this.#socket!.writableNeedDrain) this.write(': ping\n\n');
  }

  /** Sends `event: error` with the error body and ends the stream. */
  fail(err: WebkaError): void {
    if (this.#ended) return;
    this.write(sseEvent(SseEvent.error, errorBody(err.code, err.message, err.details)));
    this.end();
  }

  /** Ends the stream: what is buffered is sent, then the connection is closed. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket!.end();
  }
}
