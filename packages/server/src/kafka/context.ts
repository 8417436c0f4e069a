/**
 * What an API handler gets: the broker core, the one Webka cluster this listener serves as
 * Kafka's cluster, how to name this broker in Metadata, and the connection it answers on.
 */
import type { Broker } from '../broker.js';
import type { ClassicGroupCoordinator } from '../groups/classic-groups.js';
import type { TransactionCoordinator } from '../transactions/transaction-coordinator.js';
import type { ApiDef, Message } from './schema.js';
import type { Operation, RequestPrincipal, Resource } from '../auth/types.js';
import type { ScramCredentials } from '../auth/auth-store.js';
import type { ScramServerState } from '../auth/scram.js';
import type { FetchSessionCache } from './fetch-sessions.js';
import type { Partition } from '../partitions/partition.js';
import type { TopicRecord } from '../catalog/catalog-store.js';
import { KafkaError } from './error-codes.js';

/**
 * Authentication and ACLs for the listener, the HTTP API's own (null: auth is off and every
 * client acts as the anonymous superuser). verifyKey checks a principal's API key (SASL/PLAIN);
 * scramCredentials gives its keys' SCRAM-SHA-256 credentials and keyPrincipal who a key that
 * proved itself acts as (null once the key or principal is gone).
 */
export interface KafkaSecurity {
  verifyKey(principal: string, key: string): Promise<RequestPrincipal | null>;
  scramCredentials(principal: string): ScramCredentials | null;
  keyPrincipal(principal: string, keyId: string): RequestPrincipal | null;
  authorize(principal: RequestPrincipal, op: Operation, resource: Resource): boolean;
}

/** A partition's replication as Metadata reports it. */
export interface KafkaPartitionReplicas {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

/**
 * In a cluster of brokers: what Kafka clients are told of it, so that they go to each
 * partition's leader directly (kafka/cluster-view.ts builds it from the replica manager).
 */
export interface KafkaClusterView {
  /** The live brokers that run a Kafka listener, as clients should reach them. */
  brokers(): { nodeId: number; host: string; port: number }[];
  /** The controller's node id, or -1 while the office is vacant or etcd does not answer. */
  controllerId(): Promise<number>;
  /** A partition's leader, epoch, replicas and ISR; undefined for a topic this broker alone holds. */
  partition(topicId: string, index: number): KafkaPartitionReplicas | undefined;
  /** The node id of a group's coordinator (the leader of its __consumer_offsets partition; -1: none now), defining that topic first if need be. */
  groupCoordinator(cluster: string, group: string): Promise<number>;
  /** The node id of a transactional id's coordinator (the leader of its __transaction_state partition; -1: none now), defining that topic first if need be. */
  txnCoordinator(cluster: string, transactionalId: string): Promise<number>;
  /** Defines a topic in the cluster: on the controller only (elsewhere NOT_CONTROLLER, which clients send on to the controller). */
  createTopic(cluster: string, input: TopicInput): Promise<TopicRecord>;
  /** Deletes a cluster topic: on the controller only (elsewhere NOT_CONTROLLER). */
  deleteTopic(cluster: string, name: string): Promise<void>;
  /** Changes a cluster topic's configs or partition count: on the controller only (elsewhere NOT_CONTROLLER). */
  alterTopic(cluster: string, name: string, changes: { partitions?: unknown; configs?: unknown }): Promise<TopicRecord>;
}

/** A topic to create, as CreateTopics gives it (absent: the cluster's default). */
export interface TopicInput {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs: Record<string, unknown>;
}

export interface KafkaListenerSettings {
  /** The Webka cluster whose topics are this listener's topics (`--kafka-cluster`). */
  cluster: string;
  /** Node id reported in Metadata (one broker: 0; in a cluster, the broker's node id). */
  nodeId: number;
  /** Set once the broker has joined a cluster (null: a single broker, the only one Metadata names). */
  clusterView?: KafkaClusterView | null;
  /** Host clients are told to connect to; null: the address the client reached us on. */
  advertisedHost: string | null;
  /** Longest Fetch wait honoured (maxLongPollMs, as over HTTP). */
  maxWaitMs: number;
}

export interface ConnectionInfo {
  /** The local address and port the client connected to (advertised when none is configured). */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  clientId: string | null;
  /** Aborted when the connection closes or the listener stops: long fetches end early. */
  signal: AbortSignal;
  /** Who the connection authenticated as (SASL); the anonymous superuser when auth is off. */
  principal: RequestPrincipal | null;
  /** The SASL mechanism chosen by SaslHandshake, until SaslAuthenticate. */
  saslMechanism: string | null;
  /** A SCRAM exchange between its first and second SaslAuthenticate. */
  scram: ScramServerState | null;
}

export interface KafkaContext {
  broker: Broker;
  groups: ClassicGroupCoordinator;
  /** The HTTP API's transaction coordinator (null: transactions are not served). */
  transactions: TransactionCoordinator | null;
  settings: KafkaListenerSettings;
  /** The listener's fetch sessions (KIP-227), shared by its connections. */
  fetchSessions: FetchSessionCache;
  conn: ConnectionInfo;
  security: KafkaSecurity | null;
  /** Throws the Kafka authorization error for the resource's type unless the principal may. */
  require(op: Operation, type: 'topic' | 'group' | 'cluster', name?: string): void;
  /** Whether the principal may (for listings filtered to what it may see). */
  may(op: Operation, type: 'topic' | 'group' | 'cluster', name?: string): boolean;
}

/**
 * The partition, for a read that only its leader may answer (Fetch, ListOffsets): in a cluster a
 * broker that does not lead it answers NOT_LEADER_OR_FOLLOWER, and the client asks for Metadata
 * again, rather than being served what a follower holds.
 */
export function ledPartition(ctx: KafkaContext, topic: string, index: number): Partition {
  const p = ctx.broker.partition(ctx.settings.cluster, topic, index);
  if (p.replica !== null && !p.replica.leads) throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `broker ${ctx.settings.nodeId} does not lead partition ${index} of topic "${topic}"; ask Metadata for its leader`);
  return p;
}

/**
 * In a cluster a group belongs to its coordinator (the leader of its __consumer_offsets
 * partition, which holds its offsets): a group request that reaches another broker fails with
 * NOT_COORDINATOR (COORDINATOR_NOT_AVAILABLE while the partition has no leader), so the client
 * finds the coordinator again, as with Kafka, instead of joining or reading a second, local copy
 * of the group. A single broker coordinates every group.
 */
export async function mustCoordinate(ctx: KafkaContext, group: string): Promise<void> {
  const view = ctx.settings.clusterView;
  if (view == null) return;
  const id = await view.groupCoordinator(ctx.settings.cluster, group).catch(() => -1);
  if (id === ctx.settings.nodeId) return;
  if (id < 0) throw new KafkaError('COORDINATOR_NOT_AVAILABLE', `group "${group}" has no coordinator right now (its offsets partition is electing a leader); find the coordinator again`);
  throw new KafkaError('NOT_COORDINATOR', `broker ${ctx.settings.nodeId} does not coordinate group "${group}" (broker ${id} does); find the coordinator again`);
}

/** The name group members joined over this connection belong to ("anonymous" with auth off). */
export function memberOwner(ctx: KafkaContext): string {
  const p = ctx.conn.principal;
  return p === null || p.via === 'anonymous' ? 'anonymous' : p.name;
}

/** One API: its table entry and the function that maps a request onto the broker's calls. */
export interface ApiHandler {
  def: ApiDef;
  /** Resolves to the response body, or null for no response at all (Produce with acks=0). */
  handle(ctx: KafkaContext, request: Message, version: number): Promise<Message | null> | Message | null;
}
