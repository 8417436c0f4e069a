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

const ALLOW_HEADERS: Record<string, { description: string; schema: { type: string } }> = {
  'Access-Control-Allow-Origin': { description: 'The Origin asked about, or * when corsOrigins is * without corsCredentials', schema: { type: 'string' } },
  'Access-Control-Allow-Methods': { description: METHODS.join(', '), schema: { type: 'string' } },
  'Access-Control-Allow-Headers': { description: 'The headers the preflight asked for (Access-Control-Request-Headers), all allowed', schema: { type: 'string' } },
  'Access-Control-Max-Age': { description: `How long the browser may keep this answer: ${PREFLIGHT_MAX_AGE} seconds`, schema: { type: 'integer' } },
  'Access-Control-Allow-Credentials': { description: 'true, only when corsCredentials is on', schema: { type: 'string' } },
  Vary: { description: 'Origin', schema: { type: 'string' } },
};

/**
 * Adds the preflight that installPreflight answers, as an OPTIONS operation, to every path of an
 * OpenAPI document (Durable Streams, which answer their own, are not in it). Each keeps the path
 * parameters of the path's other operations.
 */
export function describePreflights<T extends { paths?: Record<string, Record<string, any>>; components?: { schemas?: Record<string, any> } }>(openapi: T): T {
  const errorRef = Object.entries(openapi.components?.schemas ?? {}).find(([, s]) => s?.title === 'Error')?.[0];
  const errorSchema = errorRef === undefined ? { type: 'object' } : { $ref: `#/components/schemas/${errorRef}` };
  for (const item of Object.values(openapi.paths ?? {})) {
    const pathParams = new Map<string, unknown>();
    for (const op of Object.values(item)) for (const p of op?.parameters ?? []) if (p.in === 'path') pathParams.set(p.name, p);
    const header = (name: string, required: boolean, description: string): object => ({ in: 'header', name, required, description, schema: { type: 'string' } });
    item.options = {
      summary: 'CORS preflight: may a page of another origin make this call?',
      description:
        'What a browser sends by itself before a cross-origin call. Answered before authentication (a preflight carries no credentials): 204 with the CORS headers when corsOrigins allows the origin ' +
        '(a page the broker serves itself always is), else 403 FORBIDDEN naming the setting. An OPTIONS request without Origin and Access-Control-Request-Method is not a preflight: it gets 404 as a method with no route (401 first when authentication is on and it carries no credentials).',
      tags: ['ops'],
      security: [],
      parameters: [
        ...pathParams.values(),
        header('Origin', true, 'The origin of the calling page, e.g. https://app.example.com'),
        header('Access-Control-Request-Method', true, 'The method of the call to come'),
        header('Access-Control-Request-Headers', false, 'The headers the call will send, e.g. authorization, content-type'),
      ],
      responses: {
        204: { description: 'The origin is allowed: the browser goes on with the call', headers: ALLOW_HEADERS },
        403: {
          description: 'corsOrigins does not allow the origin (code FORBIDDEN; setting is corsOrigins, origin the origin refused; the message says what to set)',
          content: { 'application/json': { schema: { allOf: [errorSchema, { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['setting', 'origin'], properties: { setting: { const: 'corsOrigins' }, origin: { type: 'string' } } } } }] } } },
        },
        401: { description: 'Not a preflight (no Origin or no Access-Control-Request-Method), authentication on and no credentials', content: { 'application/json': { schema: errorSchema } } },
        404: { description: 'Not a preflight (no Origin or no Access-Control-Request-Method): code NOT_FOUND', content: { 'application/json': { schema: errorSchema } } },
      },
    };
  }
  return openapi;
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
