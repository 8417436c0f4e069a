/**
 * Starts a whole broker: opens storage, builds the HTTP app, listens. Used by `webka start` and
 * by the integration tests (which pass port 0 and a temporary data directory).
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { Broker } from './broker.js';
import { buildApp } from './http/app.js';
import { describeConfig, type Config } from './config/config.js';
import { BrokerMetrics } from './metrics/broker-metrics.js';
import { tlsFiles } from './http/server-options.js';
import { watchTls } from './http/tls-reload.js';
import { KafkaListener } from './kafka/listener.js';
import { clusterView } from './kafka/cluster-view.js';
import type { KafkaSecurity } from './kafka/context.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { ClassicGroupCoordinator } from './groups/classic-groups.js';
import { TXN_TOPIC } from './transactions/txn-state-log.js';
import { OFFSETS_TOPIC } from './groups/offset-store.js';
import fs from 'node:fs';
import { ClusterMember } from './cluster/cluster-member.js';
import { EtcdCoordinator } from './cluster/etcd-coordinator.js';
import { CoordinatorError } from './cluster/coordinator.js';
import { parseCoordinatorUrl } from './cluster/coordinator-url.js';
import { ClusterProducerIds } from './cluster/cluster-producer-ids.js';
import { ReplicaManager } from './replication/replica-manager.js';

export interface RunningServer {
  app: FastifyInstance;
  broker: Broker;
  url: string;
  port: number;
  /** The Kafka listener's port, or null when it is off (kafkaPort -1). */
  kafkaPort: number | null;
  /** Stops accepting, finishes in-flight requests (ending long polls), flushes and closes files. */
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: { logger?: FastifyServerOptions['logger'] } = {}): Promise<RunningServer> {
  let app: FastifyInstance | undefined;
  const metrics = new BrokerMetrics();
  const broker = Broker.open({
    dataDir: config.dataDir,
    flushIntervalMs: config.flushIntervalMs,
    checkpointIntervalMs: config.checkpointIntervalMs,
    retentionCheckIntervalMs: config.retentionCheckIntervalMs,
    maxPartitionsPerTopic: config.maxPartitionsPerTopic,
    maxPartitions: config.maxPartitions,
    maxOpenSegmentFiles: config.maxOpenSegmentFiles,
    maxBatchBytes: Math.max(config.bodyLimit * 2, 1 << 20),
    debugAckFromMemory: config.debugAckFromMemory,
    onWarning: (msg, details) => app?.log.warn(details ?? {}, msg),
    probe: {
      recovered: (dir, r) => app?.log.warn({ dir, ...r }, 'log recovered after an unclean stop'),
      ...metrics.logProbe,
    },
    traffic: metrics.traffic,
  });
  let kafka: KafkaListener | undefined;
  let classicGroups: ClassicGroupCoordinator | undefined;
  let member: ClusterMember | undefined;
  let replication: ReplicaManager | undefined;
  // made before the app: the security plugin reads principals, keys and ACLs from it
  let coordinator: EtcdCoordinator | undefined;
  if (config.coordinator !== '') {
    const { endpoints, prefix } = parseCoordinatorUrl(config.coordinator);
    coordinator = new EtcdCoordinator({ endpoints, prefix, leaseTtlSeconds: config.coordinatorLeaseSeconds });
  }
  try {
    await broker.ready();
    // in a cluster producer ids are the cluster's, from the first request on
    if (coordinator !== undefined) broker.useClusterProducerIds(await ClusterProducerIds.attach(coordinator, broker.catalog.nextProducerId));
    // one group coordinator for both listeners: committed offsets are shared, and a group is
    // either an HTTP group or a Kafka-protocol group
    const groups = new GroupCoordinator(broker, { maxMembers: config.maxGroupMembers });
    // in a cluster __consumer_offsets is the controller's to define, replicated (http/group-routing.ts)
    groups.offsets.clustered = coordinator !== undefined;
    classicGroups = new ClassicGroupCoordinator(groups);
    app = await buildApp(broker, config, { logger: opts.logger, metrics, groups, coordinator });
    if (coordinator !== undefined) {
      const log = app.log;
      coordinator.onSessionRenewed = () => log.warn('this broker\'s etcd lease lapsed (it was stopped or cut off from etcd for longer than coordinatorLeaseSeconds): it registered again under a new lease and rejoins the cluster');
    }
    const tls = tlsFiles(config);
    if (tls !== null) {
      const unwatch = watchTls(app.server as unknown as import('node:https').Server, tls, app.log);
      app.addHook('onClose', async () => unwatch());
    }
    app.addHook('onClose', async () => {
      await broker.close();
    });
    app.log.info({ config: describeConfig(config) }, 'effective configuration');
    for (const o of broker.offlinePartitions()) app.log.error(o, 'partition offline');
    await app.listen({ port: config.port, host: config.host });
    if (config.kafkaPort >= 0) {
      const log = app.log;
      kafka = await KafkaListener.start(broker, {
        host: config.kafkaHost === '' ? config.host : config.kafkaHost,
        port: config.kafkaPort,
        groups: classicGroups,
        transactions: app.webka.transactions ?? null,
        security: kafkaSecurity(app),
        cluster: config.kafkaCluster,
        nodeId: config.coordinator === '' ? 0 : config.nodeId,
        advertisedHost: config.kafkaAdvertisedHost === '' ? null : config.kafkaAdvertisedHost,
        maxWaitMs: config.maxLongPollMs,
        maxRequestBytes: config.kafkaMaxRequestBytes,
        maxConnections: config.maxConnections,
        tls: tls === null ? null : { cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) },
        onError: (msg, details) => log.info(details, msg),
        joining: coordinator !== undefined,
      });
      app.log.info({ port: kafka.port }, 'kafka listener started');
    }
    if (coordinator !== undefined) {
      const log = app.log;
      const url = config.advertisedUrl === '' ? ownUrl(app, config) : config.advertisedUrl.replace(/\/$/, '');
      const registration = { nodeId: config.nodeId, url, ...(kafka === undefined ? {} : { kafka: { host: kafkaHost(config, url), port: kafka.port } }) };
      // DEBUG ONLY (WEBKA_DEBUG_JOIN_DELAY_MS): a slow join, so that a test can see what a joining broker serves
      if (config.debugJoinDelayMs > 0) await new Promise((r) => setTimeout(r, config.debugJoinDelayMs));
      member = await ClusterMember.join(coordinator, registration, (err) =>
        // etcd unreachable (this broker cut off, etcd restarting) is a condition to wait out, not a fault of the broker
        err instanceof CoordinatorError ? log.warn({ err: err.message }, 'controller campaign failed; trying again in a second') : log.error({ err }, 'controller campaign failed'), () => {
        metrics.controllerChanges.inc();
        // the partitions whose leader died with the last controller get new leaders now
        replication?.controllerTermStarted();
      });
      app.webka.cluster = member;
      replication = new ReplicaManager(broker, member, { onWarning: (msg, details) => log.warn(details ?? {}, msg), replicaLagTimeMaxMs: config.replicaLagTimeMaxMs, authorization: app.security.interBroker?.header(), debugHwFromLeader: config.debugHwFromLeader, debugNoReplicaChannel: config.debugNoReplicaChannel, autoLeaderRebalance: config.autoLeaderRebalance, onIsrChange: (shrunk) => (shrunk ? metrics.isrShrinks : metrics.isrExpands).inc(),
        // leading an offsets partition is coordinating its groups
        onLeadership: (t, index) => {
          if (t.internal === true && t.name === OFFSETS_TOPIC) void groups.takeOver(t.cluster, index);
          // and of a transaction state partition, its transactional ids
          if (t.internal === true && t.name === TXN_TOPIC) void app!.webka.transactions?.takeOver(t.cluster, index);
        },
      });
      const repl = replication;
      const m = member;
      metrics.setReplicationSource({ stats: () => repl.stats(), controller: () => m.term !== null, lastCoordinatorContactMs: () => m.coordinator.lastContactMs() });
      replication.start();
      // the HTTP API's topics and the Kafka listener wait for the cluster's metadata (http/app.ts)
      await replication.applied;
      app.webka.replication = replication;
      groups.useRemoteReads({
        read: (c, t, p) => (req) => repl.readFromLeader(c, t, p, req),
        onError: (err, where) => log.warn({ ...where, error: err.message }, 'a group read from the partition leader failed; the next poll retries'),
      });
      kafka?.setClusterView(clusterView(replication));
      app.log.info({ nodeId: config.nodeId, coordinator: config.coordinator }, 'joined the cluster');
    }
  } catch (err) {
    replication?.close();
    await (member ?? coordinator)?.close().catch(() => undefined);
    await kafka?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await broker.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const running: RunningServer = {
    app,
    broker,
    port,
    kafkaPort: kafka?.port ?? null,
    url: ownUrl(app, config),
    close: async () => {
      // In-flight requests get shutdownTimeoutMs to finish (long polls and streams end at once on
      // the shutdown signal); a connection that never sent a request would otherwise hold the
      // close until its keep-alive timeout.
      const server = app!.server;
      const force = setTimeout(() => server.closeAllConnections(), Math.min(config.shutdownTimeoutMs, 2_000));
      force.unref();
      try {
        // leave the cluster first (others take over the controller office), then the Kafka
        // listener: the broker closes with the HTTP app
        replication?.close();
        await member?.close().catch((err) => app!.log.warn({ err }, 'leaving the cluster failed; the registration lapses with its lease'));
        await kafka?.close();
        classicGroups?.close();
        await app!.close();
      } finally {
        clearTimeout(force);
      }
    },
  };
  return running;
}

/**
 * The host Kafka clients of a cluster are told to reach this broker at: kafkaAdvertisedHost, else
 * the address the listener listens on, else (a wildcard) the host of the advertised URL.
 */
function kafkaHost(config: Config, advertisedUrl: string): string {
  if (config.kafkaAdvertisedHost !== '') return config.kafkaAdvertisedHost;
  const host = config.kafkaHost === '' ? config.host : config.kafkaHost;
  return host === '0.0.0.0' || host === '::' ? new URL(advertisedUrl).hostname.replace(/^\[|\]$/g, '') : host;
}

/** The URL the broker listens on (localhost for a wildcard address). */
function ownUrl(app: FastifyInstance, config: Config): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${tlsFiles(config) !== null ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${port}`;
}

/** The HTTP API's authentication and ACLs for the Kafka listener (null when auth is off). */
function kafkaSecurity(app: FastifyInstance): KafkaSecurity | null {
  const security = app.security;
  if (!security.enabled) return null;
  return {
    verifyKey: async (principal, key) => {
      const check = await security.store.verifyKey(key);
      if (!check.ok || check.principal.name !== principal) return null;
      return { name: check.principal.name, via: 'key', superuser: check.principal.superuser, keyId: check.keyId };
    },
    scramCredentials: (principal) => security.store.scramCredentials(principal),
    keyPrincipal: (principal, keyId) => {
      const p = security.store.findPrincipal(principal);
      const still = security.store.scramCredentials(principal)?.keys.some((k) => k.keyId === keyId) ?? false;
      return p === undefined || !still ? null : { name: p.name, via: 'key', superuser: p.superuser, keyId };
    },
    authorize: (principal, op, resource) => security.authorize(principal, op, resource),
  };
}
