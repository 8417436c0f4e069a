/**
 * Requests that never reach Fastify's routing: Node's HTTP parser refuses them (spaces, NUL or
 * other bytes not allowed in the request line or a header: 400; more than 16 KB of headers: 431)
 * or the server's timeouts end them (headers or the whole request too slow: 408). Node raises
 * `clientError` on the socket, and Fastify would answer in its own shape; this handler answers
 * in Webka's `{"error":{"code","message"}}` like every other refusal, then closes the socket
 * (the parser cannot find where the next request would start).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '@webka/protocol';
import { errorBody } from './error-handler.js';

function refusal(err: NodeJS.ErrnoException): [number, ErrorCode, string] {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [408, 'REQUEST_TIMEOUT', 'the request did not arrive in time (headersTimeoutMs, requestTimeoutMs); send it faster or retry'];
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return [431, 'HEADERS_TOO_LARGE', 'the request line and headers are larger than 16 KB; send fewer or shorter headers'];
  }
  return [400, 'INVALID_REQUEST', `the request could not be parsed as HTTP/1.1 (${err.code ?? 'parse error'}): URLs and header values must not hold spaces, control characters or raw non-ASCII bytes (percent-encode them)`];
}

export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const [status, code, message] = refusal(err);
    const body = errorBody(code, message);
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
