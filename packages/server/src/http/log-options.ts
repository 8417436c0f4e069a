/**
 * The broker's JSON logger (pino, via Fastify): a request id on every line, and no secrets. The
 * request serializer writes the URL with credential parameters and key- or token-shaped values
 * masked (auth/secrets.ts) and no headers; redaction removes credentials and bodies wherever a
 * log call might pass them (Authorization, Cookie, Set-Cookie, keys, tokens, record values), and
 * error messages are masked by shape (the error serializer and error-handler.ts).
 */
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { REDACTED, redactSecrets, redactUrl } from '../auth/secrets.js';

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
      err: (err: Error & { code?: unknown }) => ({
        type: err.name,
        code: err.code,
        message: redactSecrets(String(err.message)),
        stack: redactSecrets(err.stack ?? ''),
      }),
    },
  };
}
