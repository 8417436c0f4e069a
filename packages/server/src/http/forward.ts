/**
 * Forwarding a request to another broker of the cluster (the controller for topic creation, a
 * partition's leader for produce and fetch): the same method, URL and body, and the answer
 * relayed as it came. A forwarded request carries FORWARDED_BY, and a broker never forwards a
 * request that carries it, so a request crosses at most one hop.
 *
 * With authentication on, this broker has already authenticated and authorised the caller; the
 * request goes on with this broker's credential and the caller's principal asserted
 * (x-webka-principal), never the caller's own credentials, and the receiving broker authorises it
 * again as that principal (auth/inter-broker.ts, docs/decisions/0010).
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { brokerRequest, readAnswer } from '../replication/broker-http.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebkaError } from '../errors.js';
import { ScannedProduce } from './produce-body.js';
import { PRINCIPAL_HEADER, encodeAssertion } from '../auth/inter-broker.js';

export const FORWARDED_BY = 'x-webka-forwarded-by';

const PASSED_HEADERS = ['content-type', 'accept', 'x-request-id', 'idempotency-key'];

export function isForwarded(request: FastifyRequest): boolean {
  return request.headers[FORWARDED_BY] !== undefined;
}

/** The body to relay: as it was sent where the broker kept its bytes, else serialised again. */
function forwardedBody(request: FastifyRequest): string | Buffer | undefined {
  const body = request.body;
  if (body === undefined || request.method === 'GET' || request.method === 'HEAD') return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (body instanceof ScannedProduce) return body.bytes();
  return JSON.stringify(body);
}

/** The headers a forwarded request carries: the passed ones, FORWARDED_BY and the inter-broker credential with the caller's principal. */
export function forwardHeaders(request: FastifyRequest, fromNodeId: number): Record<string, string> {
  const headers: Record<string, string> = { [FORWARDED_BY]: String(fromNodeId) };
  for (const h of PASSED_HEADERS) {
    const v = request.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const security = request.server.security;
  if (security.enabled) {
    if (security.interBroker === null) throw new WebkaError('NOT_LEADER', 'this broker has no inter-broker credential (interBrokerSecret) to forward the request with; send it to the leader');
    headers.authorization = security.interBroker.header();
    headers[PRINCIPAL_HEADER] = encodeAssertion(request.principal);
  } else if (security.interBroker !== null) {
    headers.authorization = security.interBroker.header();
  }
  return headers;
}

/** How long a forwarded request may take to be answered (an event stream: to begin). */
const FORWARD_TIMEOUT_MS = 60_000;

/** Answer headers a relay never copies: hop-by-hop ones, and those its own answer sets. */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

export interface ForwardOptions {
  /** More request headers to send (the inter-broker ones are set over them). */
  headers?: Record<string, string>;
  /** Relay every header of the answer, not only its content type (the Durable Streams protocol answers mostly in headers). */
  allHeaders?: boolean;
  /** How long the answer may take (an event stream: to begin), and how long a relayed event stream may stay silent; default 60 s and twice the heartbeat. */
  timeoutMs?: number;
  idleMs?: number;
}

/**
 * Sends the request on and relays the answer. An event stream (text/event-stream) is relayed as
 * it comes, event by event, until either side closes it; every other answer as a whole.
 *
 * Over node:http with the brokers' keep-alive agent (replication/broker-http.ts): through fetch()
 * a forwarded request cost the forwarding broker about as much CPU as the leader spent serving it.
 */
export async function forward(request: FastifyRequest, reply: FastifyReply, baseUrl: string, fromNodeId: number, opts: ForwardOptions = {}): Promise<FastifyReply> {
  const headers = { ...opts.headers, ...forwardHeaders(request, fromNodeId) };
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  reply.raw.once('close', onClose);
  const timeoutMs = opts.timeoutMs ?? FORWARD_TIMEOUT_MS;
  const timer = setTimeout(() => abort.abort(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  const done = (): void => {
    clearTimeout(timer);
    reply.raw.off('close', onClose);
  };
  let res: IncomingMessage;
  try {
    res = await brokerRequest(request.method, `${baseUrl}${request.url}`, headers, forwardedBody(request), abort.signal);
  } catch (err) {
    done();
    const reason = abort.signal.reason instanceof Error ? abort.signal.reason.message : (err as Error).message;
    throw new WebkaError('NOT_LEADER', `the broker at ${baseUrl} could not be reached to forward the request: ${reason}; retry`);
  }
  reply.code(res.statusCode ?? 502);
  const type = res.headers['content-type'];
  if (opts.allHeaders === true) {
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !NOT_RELAYED.has(name)) reply.header(name, value);
    }
  } else if (type !== undefined) {
    reply.header('content-type', type);
  }
  if (type !== undefined && type.startsWith('text/event-stream')) {
    clearTimeout(timer);
    if (opts.allHeaders !== true) reply.header('cache-control', 'no-cache');
    return reply.send(relayEvents(res, abort, opts.idleMs ?? 2 * request.server.webka.config.heartbeatIntervalMs + 1000));
  }
  try {
    return reply.send((await readAnswer(res)).body);
  } catch (err) {
    const reason = abort.signal.reason instanceof Error ? abort.signal.reason.message : (err as Error).message;
    throw new WebkaError('NOT_LEADER', `the broker at ${baseUrl} stopped answering the forwarded request: ${reason}; retry`);
  } finally {
    done();
  }
}

/**
 * An event stream relayed as it comes. It ends, cleanly (so that an EventSource reconnects and
 * resumes by Last-Event-ID), when the other broker ends it, when that broker dies (its connection
 * ends mid-stream), and when nothing, not even its ": ping" heartbeat, has come for `idleMs` (the
 * broker was cut off).
 *
 * It reads from the other broker only as fast as its own client reads: while the client's buffer
 * is full the relay pauses, and the other broker's sends wait in turn (TCP), so a client that
 * never reads holds a bounded amount here. One that has read nothing for `idleMs` is cut off.
 */
export function relayEvents(source: Readable, abort: AbortController, idleMs: number): Readable {
  let idle: NodeJS.Timeout | undefined;
  let ended = false;
  const out = new Readable({
    read() {
      if (source.isPaused()) source.resume();
    },
    destroy(err, callback) {
      clearTimeout(idle);
      abort.abort();
      source.destroy();
      callback(err);
    },
  });
  const end = (): void => {
    clearTimeout(idle);
    if (ended || out.destroyed) return;
    ended = true;
    out.push(null);
  };
  const quiet = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      // waiting on the client: it has not read for idleMs; else the other broker sent nothing
      if (source.isPaused()) return void out.destroy();
      abort.abort(new Error(`no event or heartbeat for ${idleMs} ms`));
      source.destroy();
      end();
    }, idleMs);
  };
  // a comment at once, so that the client has the answer's headers before the first event (the
  // other broker may have nothing to send for a while)
  out.push(': relayed\n\n');
  source.on('data', (chunk: Buffer) => {
    quiet();
    if (!out.push(chunk)) source.pause();
  });
  // the other broker ended it, or went away mid-stream: end here too
  source.on('end', end);
  source.on('error', end);
  source.on('close', end);
  quiet();
  return out;
}
