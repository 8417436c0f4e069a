/**
 * Cross-origin access for browser apps (config keys corsOrigins and corsCredentials), through
 * @fastify/cors on every route. It sets its headers in an onRequest hook, so routes that take the
 * response over (SSE streams) copy them from the reply (streaming/sse-stream.ts).
 *
 * corsOrigins: "none" (the default: no CORS headers; browsers allow same-origin calls only), "*"
 * (any origin; with corsCredentials the request's Origin is echoed, since browsers refuse "*"
 * with credentials), or a comma-separated list of exact origins such as
 * "https://app.example.com,http://localhost:5173".
 */
import type { FastifyInstance } from 'fastify';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';

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
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['x-request-id', 'retry-after', 'location'],
    // Browsers cache the preflight answer for this many seconds.
    maxAge: 600,
  };
}

export async function registerCors(app: FastifyInstance, config: Config): Promise<void> {
  const options = corsOptions(config);
  if (options !== null) await app.register(cors, options);
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
