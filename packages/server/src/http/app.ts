/**
 * Builds the HTTP face of the broker (it does not listen: the CLI or a test does), so tests can
 * listen on port 0 against a real data directory. Routes are plugins in routes/; this file only
 * wires logging, request ids, error handling, the OpenAPI document and shutdown.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ErrorSchema } from '@webka/protocol';
import type { Broker } from '../broker.js';
import type { Config } from '../config/config.js';
import { installErrorHandling, frameworkErrorHandler, sendError } from './error-handler.js';
import { WebkaError } from '../errors.js';
import { IdempotencyCache } from './idempotency.js';
import { healthRoutes } from './routes/health.js';
import { clusterRoutes } from './routes/clusters.js';
import { replicationRoutes } from './routes/replication.js';
import { clusterAdminRoutes } from './routes/cluster-admin.js';
import { topicRoutes } from './routes/topics.js';
import { recordRoutes } from './routes/records.js';
import { producerRoutes } from './routes/producers.js';
import { groupRoutes } from './routes/groups.js';
import { transactionRoutes } from './routes/transactions.js';
import type { GroupCoordinator } from '../groups/group-coordinator.js';
import type { ClusterMember } from '../cluster/cluster-member.js';
import type { ReplicaManager } from '../replication/replica-manager.js';
import type { TransactionCoordinator } from '../transactions/transaction-coordinator.js';
import { installSecurity } from './plugins/security.js';
import { securityRoutes } from './routes/security.js';
import { metricsRoutes } from './routes/metrics.js';
import { loggerOptions } from './log-options.js';
import { lazyChildLogger } from './request-logger.js';
import { serverOptions } from './server-options.js';
import { BrokerMetrics } from '../metrics/broker-metrics.js';
import { durableStreamsRoutes } from '../durable-streams/plugin.js';
import { installPreflight, registerCors } from './cors.js';
import { streamingRoutes } from './streaming/index.js';
import { brokerInfoRoutes } from './routes/broker-info.js';
import { registerDocsPage } from './docs-page.js';
import { consoleRoutes } from './routes/console.js';
import { installJsonParser } from './json-body.js';
import { clientErrorHandler } from './client-errors.js';
import type { Coordinator } from '../cluster/coordinator.js';
import { lazySerializers, lazyValidators } from './lazy-compilers.js';

export interface AppContext {
  broker: Broker;
  config: Config;
  idempotency: IdempotencyCache;
  /** Aborted when the server starts closing: long polls and streams end early. */
  shutdown: AbortSignal;
  /** The group coordinator: shared with the Kafka listener (startServer), else made by the groups routes. */
  groups?: GroupCoordinator;
  /** This broker's cluster membership (set by startServer after listening), absent on a single node. */
  cluster?: ClusterMember;
  /** This broker's replicas in the cluster (set once the cluster's metadata has been read), absent on a single node. */
  replication?: ReplicaManager;
  /** Set by the transactions routes (routes/transactions.ts); produce joins transactions through it. */
  transactions?: TransactionCoordinator;
}

declare module 'fastify' {
  interface FastifyInstance {
    webka: AppContext;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
  /** Made by startServer before the Broker (which reports into it); a fresh one otherwise. */
  metrics?: BrokerMetrics;
  /** A group coordinator shared with the Kafka listener; the groups routes make one otherwise. */
  groups?: GroupCoordinator;
  /** In a cluster: the coordination service, where principals, keys and ACLs are shared. */
  coordinator?: Coordinator;
}

export async function buildApp(broker: Broker, config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config),
    // Timeouts against slow clients, and HTTPS when tlsCert/tlsKey are set (server-options.ts).
    ...(serverOptions(config) as object),
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // genReqId reads x-request-id itself: with requestIdHeader set, Fastify would take any
    // header value as the id unchecked, and genReqId's check would never run.
    requestIdHeader: false,
    // one line per request, written by the onResponse hook below at a level chosen by status
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidators() as never, buildSerializer: lazySerializers() as never } },
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: frameworkErrorHandler,
    // requests Node's parser or timeouts refuse answer in Webka's error shape too
    clientErrorHandler,
  });
  const shutdown = new AbortController();
  // every long poll and stream listens for shutdown: thousands at once is normal, not a leak
  setMaxListeners(0, shutdown.signal);
  app.decorate('webka', {
    broker,
    config,
    idempotency: new IdempotencyCache(config.idempotencyWindowMs, config.idempotencyMaxKeys),
    shutdown: shutdown.signal,
    groups: opts.groups,
  });
  // Per-request hooks take a callback rather than returning a promise: one fewer microtask turn
  // on every request, which shows at tens of thousands of requests a second.
  const inCluster = config.coordinator !== '';
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // A broker of a cluster serves no topic until it has joined and read the cluster's metadata:
    // until then its copies have no role, and would take and serve records as a lone broker's
    // (acknowledging what the partition's leader never gets).
    if (inCluster && app.webka.replication === undefined && request.url.startsWith('/v1/clusters/')) {
      sendError(reply, new WebkaError('COORDINATION_UNAVAILABLE', 'this broker is joining the cluster (registering in etcd and reading the cluster\'s metadata); retry in a moment'));
      return;
    }
    done();
  });
  // A broker answers thousands of requests a second: successful ones are logged at debug, refused
  // ones (4xx, 5xx) at info, so the default log shows what went wrong without the firehose.
  app.addHook('onResponse', (request, reply, done) => {
    const level = reply.statusCode >= 400 ? 'info' : 'debug';
    if ((request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level)) {
      request.log[level]({ req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
    }
    done();
  });
  app.addHook('preClose', async () => {
    shutdown.abort();
  });
  app.addSchema(ErrorSchema);
  installErrorHandling(app);
  installPreflight(app, config);
  // Before any route: every route passes through authentication, ACLs, quotas and metrics.
  await installSecurity(app, broker, config, opts.metrics ?? new BrokerMetrics(), opts.coordinator);
  await registerCors(app, config);
  // The API speaks JSON: without this, Fastify's built-in text/plain parser would hand routes a
  // string and the client would get a 400 about the body's shape instead of 415. A plugin that
  // takes text bodies adds its own parser in its scope.
  app.removeContentTypeParser('text/plain');
  // Fastify's own JSON parser (secure-json-parse, refusing "__proto__" and "constructor" keys), then
  // the depth limit: no JSON body can overflow a recursive step after it.
  installJsonParser(app, 'error', 'error');

  await registerDocsPage(app);
  // WebSockets, for every route that takes them (/v1/ws, the brokers' replica channel): a frame
  // larger than maxFrameBytes closes its socket with 1009, as ws reads it, before it is in memory.
  await app.register(websocket, { options: { maxPayload: config.maxFrameBytes, perMessageDeflate: false } });

  await app.register(healthRoutes);
  await app.register(clusterRoutes, { prefix: '/v1' });
  await app.register(topicRoutes, { prefix: '/v1' });
  await app.register(recordRoutes, { prefix: '/v1' });
  await app.register(producerRoutes, { prefix: '/v1' });
  await app.register(groupRoutes, { prefix: '/v1' });
  await app.register(transactionRoutes, { prefix: '/v1' });
  await app.register(securityRoutes, { prefix: '/v1' });
  await app.register(brokerInfoRoutes, { prefix: '/v1' });
  await app.register(replicationRoutes, { prefix: '/v1' });
  await app.register(clusterAdminRoutes, { prefix: '/v1' });
  await app.register(metricsRoutes);
  await app.register(durableStreamsRoutes);
  await app.register(streamingRoutes, { prefix: '/v1' });
  await app.register(consoleRoutes);
  return app;
}
