/**
 * Turns every failure into the one error shape (DESIGN decision 5), including Fastify's own
 * (validation, body limit, media type, malformed JSON) so that no client ever sees another shape.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import { redactSecrets } from '../auth/secrets.js';

/** The error shape. A message may quote input, so key- and token-shaped values are masked. */
export function errorBody(code: ErrorCode | string, message: string, details?: Record<string, unknown>): string {
  return JSON.stringify({ error: { code, message: redactSecrets(message), ...details } });
}

export function sendError(reply: FastifyReply, err: WebkaError): FastifyReply {
  if (err.code === 'TOO_MANY_REQUESTS' && typeof err.details?.retryAfterSeconds === 'number') {
    reply.header('retry-after', String(err.details.retryAfterSeconds));
  }
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorBody(err.code, err.message, err.details));
}

/** Maps a thrown value to a WebkaError; unknown errors become INTERNAL (and are logged). */
export function toWebkaError(err: unknown): WebkaError {
  if (err instanceof WebkaError) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e.validation) {
    const where = e.validationContext ?? 'request';
    const first = e.validation[0];
    if (first?.instancePath === '/name' && first.keyword === 'pattern') {
      // a name outside Kafka's rule gets the same code as "." or "..", which pass the pattern
      return new WebkaError('INVALID_NAME', `${where}/name: ${ERROR_CODES.INVALID_NAME.hint}`);
    }
    if (where === 'querystring' && first?.instancePath === '/offset') {
      // offset=-1, offset=abc: the code that names the field, as for every other bad offset
      return new WebkaError('INVALID_OFFSET', `querystring/offset: ${ERROR_CODES.INVALID_OFFSET.hint}`);
    }
    return new WebkaError('INVALID_REQUEST', `${where}${e.message.startsWith(where) ? e.message.slice(where.length) : ': ' + e.message}`);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WebkaError('PAYLOAD_TOO_LARGE', `the request body is larger than the broker's limit; ${ERROR_CODES.PAYLOAD_TOO_LARGE.hint}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.statusCode === 415
        ? new WebkaError('UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type; send application/json (a produce body may also be application/vnd.webka.recordbatch)`)
        : new WebkaError('INVALID_REQUEST', e.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new WebkaError('INVALID_JSON', 'the body is empty; send a JSON document');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new WebkaError('INVALID_JSON', `the body is not valid JSON: ${e.message}`);
  }
  if (e instanceof SyntaxError || e.name === 'SyntaxError') return new WebkaError('INVALID_JSON', `the body is not valid JSON: ${e.message}`);
  if (typeof e.statusCode === 'number' && e.statusCode === 413) return new WebkaError('PAYLOAD_TOO_LARGE', e.message);
  if (typeof e.statusCode === 'number' && e.statusCode === 415) return new WebkaError('UNSUPPORTED_MEDIA_TYPE', e.message);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new WebkaError('INVALID_REQUEST', e.message);
  return new WebkaError('INTERNAL', 'internal error; the broker logged the details under this request id');
}

/**
 * Fastify's `frameworkErrors` option: errors raised before routing (a URL that does not decode,
 * a path parameter longer than maxParamLength) would otherwise answer in Fastify's own shape.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a name in the URL is longer than any valid name (names have at most 249 characters)'
      : 'the URL does not decode to valid names (percent-encoding must be valid UTF-8)';
  sendError(reply, new WebkaError('INVALID_REQUEST', message));
}

/** Webka's error answer for anything a handler or hook threw; plugins with their own reset to it. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const w = toWebkaError(err);
  if (w.code === 'INTERNAL') request.log.error({ err }, 'unhandled error');
  else if (w.status >= 500) request.log.warn({ code: w.code, msg: redactSecrets(w.message) }, 'request failed');
  return sendError(reply, w);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new WebkaError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; see /openapi.json`));
  });
}
