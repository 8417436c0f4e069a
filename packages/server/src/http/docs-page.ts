/**
 * The broker's front door: the OpenAPI document, its interactive page at /docs (titled Webka, with
 * an Authorize button for an API key or token) and where `GET /` leads.
 */
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SERVER_VERSION } from '../version.js';
import { describePreflights } from './cors.js';

/** Where `GET /` redirects (302): the one place to change when another page becomes the front door. */
export const HOME_PAGE = '/console';

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32"><text x="0" y="24" font-family="sans-serif" font-size="24" font-weight="bold" fill="#fff">Webka</text></svg>`;

export async function registerDocsPage(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Webka',
        version: SERVER_VERSION,
        description:
          'A durable, partitioned, replayable event log over HTTP. Every error answer is {"error":{"code","message"}}; codes are listed in docs/errors.md. ' +
          'With authentication on, press Authorize and give an API key or a token (sent as Authorization: Bearer ...).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (wk_...) or a token from POST /v1/tokens' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'clusters', description: 'Named groups of topics with their own defaults' },
        { name: 'topics', description: 'Create, describe, alter and delete topics' },
        { name: 'records', description: 'Produce and fetch records' },
        { name: 'producers', description: 'Idempotent producer identities' },
        { name: 'groups', description: 'Consumer groups: members, polls, committed offsets' },
        { name: 'ops', description: 'Health, readiness, docs and the broker itself' },
        { name: 'replication', description: 'A cluster\'s partition moves: reassignment, preferred-leader election, draining a broker' },
        { name: 'streams', description: 'Durable Streams (the protocol lives at /v1/stream/*)' },
      ],
    },
    // every documented path answers CORS preflights (cors.ts): say so, with what they answer
    transformObject: (doc) => ('openapiObject' in doc ? describePreflights(doc.openapiObject as Parameters<typeof describePreflights>[0]) : doc.swaggerObject),
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    theme: { title: 'Webka API' },
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO), href: '/docs', target: '_self' },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(HOME_PAGE, 302));
}
