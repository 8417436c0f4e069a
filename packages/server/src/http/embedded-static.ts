/**
 * In the single executable, this stands in for @fastify/static where @fastify/swagger-ui serves
 * its files (scripts/build-sea.ts substitutes it when bundling): the same files, read from the
 * executable's embedded assets under `swagger-ui/` instead of the package's `static/` directory,
 * which does not exist beside the executable. Only what swagger-ui uses is offered: files under
 * the plugin's prefix, GET and HEAD.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { embeddedAssets } from '../embedded-assets.js';
import { WebkaError } from '../errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export const SWAGGER_UI_ASSET_PREFIX = 'swagger-ui/';

/** Registered as swagger-ui registers @fastify/static: `{ root, prefix, serve }`; the prefix is applied by Fastify. */
export default async function embeddedStatic(app: FastifyInstance, opts: { serve?: boolean }): Promise<void> {
  if (opts.serve === false) return;
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const file = (request.params as { '*': string })['*'];
    const body = file.includes('..') ? undefined : embeddedAssets()?.get(SWAGGER_UI_ASSET_PREFIX + file);
    if (body === undefined) throw new WebkaError('NOT_FOUND', `no docs file ${file}`);
    return reply
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=3600')
      .send(body);
  });
}
