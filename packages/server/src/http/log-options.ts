/**
 * The broker's JSON logger (pino, via Fastify): a request id on every line, and no secrets. The
 * request serializer writes the URL with the access_token parameter masked and no headers;
 * redaction removes credentials and bodies wherever a log call might pass them (Authorization,
 * Cookie, Set-Cookie, keys, tokens, record values).
 */
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config/config.js';

export const REDACTED = '[redacted]';

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  'key',
  'token',
  'access_token',
  'password',
  'body',
  'records',
  'value',
  '*.key',
  '*.token',
  '*.access_token',
  '*.password',
  '*.body',
  '*.records',
];

/** Masks credentials carried in a URL's query (tokens for EventSource/WebSocket). */
export function redactUrl(url: string): string {
  return url.includes('access_token=') ? url.replace(/([?&]access_token=)[^&#]*/g, `$1${REDACTED}`) : url;
}

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      req: (req: { method: string; url: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: req.method,
        url: redactUrl(req.url),
        host: req.hostname,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  };
}
