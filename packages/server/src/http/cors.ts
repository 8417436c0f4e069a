/**
 * Cross-origin access for browser apps (config keys corsOrigins and corsCredentials), through
 * @fastify/cors on every route. It sets its headers in an onRequest hook, so routes that take the
 * response over (SSE streams) copy them from the reply (streaming/sse-stream.ts).
 *
 * corsOrigins: "none" (the default: no CORS headers; browsers allow same-origin calls only), "*"
 * (any origin; with corsCredentials the request's Origin is echoed, since browsers refuse "*"
 * with credentials), or a comma-separated list of exact origins such as
 * "https://app.example.com,http://localhost:5173".
 *
 * Preflights (OPTIONS with Origin and Access-Control-Request-Method) always get an answer, before
 * authentication: 403 FORBIDDEN naming corsOrigins when the origin is not allowed (browsers then
 * report the call as blocked, and the answer says what to set), 204 when it is.
 */
import type { FastifyInstance } from 'fastify';
import { WebkaError } from '../errors.js';
import { sendError } from './error-handler.js';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Browsers cache a preflight's answer for this many seconds. */
const PREFLIGHT_MAX_AGE = 600;
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/\s,]+$/i;

/** The @fastify/cors options for the configuration, or null when CORS is off. */
export function corsOptions(config: Pick<Config, 'corsOrigins' | 'corsCredentials'>): FastifyCorsOptions | null {
  const raw = config.corsOrigins.trim();
  if (raw === 'none') return null;
  let origin: FastifyCorsOptions['origin'];
  if (raw === '*') {
    origin = config.corsCredentials ? true : '*';
  } else {
    const list = raw.split(',').map((s) => s.trim().replace(/\/$/, ''));
    for (const o of list) {
      if (!ORIGIN.test(o)) throw new ConfigError(`corsOrigins: "${o}" is not an origin (scheme://host[:port]); use a comma-separated list, * or none`);
    }
    origin = list;
  }
  return {
    origin,
    credentials: config.corsCredentials,
    methods: METHODS,
    exposedHeaders: ['x-request-id', 'retry-after', 'location'],
    maxAge: PREFLIGHT_MAX_AGE,
  };
}

export async function registerCors(app: FastifyInstance, config: Config): Promise<void> {
  const options = corsOptions(config);
  if (options !== null) await app.register(cors, options);
}

/**
 * Answers every preflight here, before authentication (preflights carry no credentials): 403 when
 * corsOrigins refuses the origin, else 204 with the headers @fastify/cors would give. Durable
 * Streams answer their own (any origin, as that protocol asks).
 */
export function installPreflight(app: FastifyInstance, config: Config): void {
  const anyOrigin = config.corsOrigins.trim() === '*' && !config.corsCredentials;
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (request.method !== 'OPTIONS' || origin === undefined || request.headers['access-control-request-method'] === undefined || request.url.startsWith('/v1/stream/')) return done();
    if (!originAllowed(config, origin, request.headers.host)) {
      const setting = config.corsOrigins.trim() === 'none' ? 'corsOrigins is "none" (the default), so only pages served by the broker may call it' : `corsOrigins (${JSON.stringify(config.corsOrigins.trim().slice(0, 300))}) does not list it`;
      sendError(reply, new WebkaError('FORBIDDEN', `cross-origin requests from ${JSON.stringify(origin.slice(0, 200))} are not allowed: ${setting}; add the origin to corsOrigins (WEBKA_CORS_ORIGINS, or "*" for any) to allow them`, { setting: 'corsOrigins', origin: origin.slice(0, 200) }));
      return;
    }
    reply.code(204).headers({
      'access-control-allow-origin': anyOrigin ? '*' : origin,
      'access-control-allow-methods': METHODS.join(', '),
      'access-control-allow-headers': request.headers['access-control-request-headers'] ?? '',
      'access-control-max-age': String(PREFLIGHT_MAX_AGE),
      vary: 'Origin',
    });
    if (config.corsCredentials) reply.header('access-control-allow-credentials', 'true');
    reply.send();
  });
}

/**
 * Whether a browser page of `origin` may open a WebSocket here. Browsers apply no CORS to
 * WebSockets and send cookies with them, so the upgrade checks Origin itself (cross-site
 * WebSocket hijacking): the broker's own origin (Host), or one corsOrigins allows.
 */
export function originAllowed(config: Pick<Config, 'corsOrigins'>, origin: string, host: string | undefined): boolean {
  const o = origin.replace(/\/$/, '');
  if (host !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(o) && o.slice(o.indexOf('://') + 3).toLowerCase() === host.toLowerCase()) return true;
  const raw = config.corsOrigins.trim();
  if (raw === '*') return true;
  if (raw === 'none') return false;
  return raw.split(',').map((s) => s.trim().replace(/\/$/, '')).includes(o);
}
