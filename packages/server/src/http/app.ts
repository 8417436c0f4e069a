/**
 * Builds the HTTP face of the broker (it does not listen: the CLI or a test does), so tests can
 * listen on port 0 against a real data directory. Routes are plugins in routes/; this file only
 * wires logging, request ids, error handling, the OpenAPI document and shutdown.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorSchema } from '@webka/protocol';
import type { Broker } from '../broker.js';
import type { Config } from '../config/config.js';
import { installErrorHandling } from './error-handler.js';
import { IdempotencyCache } from './idempotency.js';
import { healthRoutes } from './routes/health.js';
import { clusterRoutes } from './routes/clusters.js';
import { topicRoutes } from './routes/topics.js';
import { recordRoutes } from './routes/records.js';
import { producerRoutes } from './routes/producers.js';

export interface AppContext {
  broker: Broker;
  config: Config;
  idempotency: IdempotencyCache;
  /** Aborted when the server starts closing: long polls and streams end early. */
  shutdown: AbortSignal;
}

declare module 'fastify' {
  interface FastifyInstance {
    webka: AppContext;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(broker: Broker, config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestIdHeader: 'x-request-id',
    requestIdLogLabel: 'requestId',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    routerOptions: { maxParamLength: 512 },
  });
  const shutdown = new AbortController();
  app.decorate('webka', {
    broker,
    config,
    idempotency: new IdempotencyCache(config.idempotencyWindowMs, config.idempotencyMaxKeys),
    shutdown: shutdown.signal,
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preClose', async () => {
    shutdown.abort();
  });
  app.addSchema(ErrorSchema);
  installErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Webka',
        version: '0.1.0',
        description: 'A durable, partitioned, replayable event log over HTTP. Every error answer is {"error":{"code","message"}}; codes are listed in docs/errors.md.',
      },
      tags: [
        { name: 'clusters', description: 'Named groups of topics with their own defaults' },
        { name: 'topics', description: 'Create, describe, alter and delete topics' },
        { name: 'records', description: 'Produce and fetch records' },
        { name: 'producers', description: 'Idempotent producer identities' },
        { name: 'ops', description: 'Health, readiness and docs' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(clusterRoutes, { prefix: '/v1' });
  await app.register(topicRoutes, { prefix: '/v1' });
  await app.register(recordRoutes, { prefix: '/v1' });
  await app.register(producerRoutes, { prefix: '/v1' });
  return app;
}
