/**
 * Administration: clusters, topics, partitions' offsets and consumer groups. Each method is one
 * HTTP call (no retries: a create that timed out may have happened; the caller decides), and
 * answers the broker's JSON as documented in docs/http-api.md.
 */
import type { TransactionDescription } from './transactional-producer.js';
import type { PartitionInfoSchema, Static, BrokerInfo, TopicConfigDoc, OPERATION_NAMES, Reassignment, PreferredLeaderResult, DrainStatus } from '@webka/protocol';
import type { HttpClient } from './http-client.js';
import { seg } from './http-client.js';

export type ConfigValue = number | string;

export type { BrokerInfo, TopicConfigDoc, Reassignment, PreferredLeaderResult, DrainStatus };

/** A Durable Stream as GET /v1/streams lists it (docs/durable-streams.md). */
export interface StreamInfo {
  path: string;
  /** Its topic in the "streams" cluster. */
  topic: string;
  contentType: string;
  ttlSeconds: number | null;
  expiresAt: string | null;
  createdAt: number;
  closed: boolean;
  /** The offset the next append gets. */
  tailOffset: string;
}

/** An operation a caller may hold on a resource (Kafka's ACL operations, `admin` for All). */
export type Operation = (typeof OPERATION_NAMES)[number];

export interface ClusterInfo {
  name: string;
  description: string;
  createdAt: number;
  defaults: { partitions: number; replicationFactor: number; configs: Record<string, ConfigValue> };
  topics?: number;
  /** On describe: the operations the caller holds on this cluster. */
  authorizedOperations?: Operation[];
}

export interface TopicInfo {
  name: string;
  cluster: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, ConfigValue>;
  createdAt: number;
}

/** A partition as topic descriptions show it (the broker's schema, shared through @webka/protocol). */
export type PartitionInfo = Static<typeof PartitionInfoSchema>;

export interface TopicDescription extends TopicInfo {
  effectiveConfigs: Record<string, { value: ConfigValue; source: string }>;
  partitionInfo: PartitionInfo[];
  /** The operations the caller holds on this topic. */
  authorizedOperations: Operation[];
}

export interface CreateTopic {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, ConfigValue | null>;
}

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupSummary {
  group: string;
  state: GroupState | string;
  members: number;
  generation: number;
}

export interface GroupOffset {
  topic: string;
  partition: number;
  /** The committed offset (the next to read), null when none. */
  committed: number | null;
  metadata: string | null;
  highWatermark: number | null;
  /** highWatermark - committed; null when either is unknown. */
  lag: number | null;
}

export interface GroupDescription {
  group: string;
  state: GroupState | string;
  generation: number;
  assignmentStrategy: string | null;
  members: {
    memberId: string;
    clientId: string;
    clientHost: string;
    joinedAt: number;
    lastSeenAt: number;
    assignment: { topic: string; partition: number }[];
    [field: string]: unknown;
  }[];
  offsets: GroupOffset[];
  totalLag: number;
  /** The operations the caller holds on this group. */
  authorizedOperations?: Operation[];
}

/** How reset-offsets chooses each partition's new committed offset (the group must be empty). */
export interface ResetOffsets {
  to: 'earliest' | 'latest' | 'timestamp' | 'offsets';
  timestamp?: number;
  offsets?: { topic: string; partition: number; offset: number }[];
  /** Reset every partition of these topics (default: the partitions with committed offsets). */
  topics?: string[];
  dryRun?: boolean;
}

export interface ResetOffsetsResult {
  dryRun: boolean;
  offsets: { topic: string; partition: number; previous: number | null; offset: number }[];
}

export class Admin {
  #http: HttpClient;
  #cluster: string;

  constructor(http: HttpClient, cluster: string) {
    this.#http = http;
    this.#cluster = cluster;
  }

  #c(cluster?: string): string {
    return `/v1/clusters/${seg(cluster ?? this.#cluster)}`;
  }

  // ---- the broker

  /** Nodes, version, uptime, and counts, disk use and traffic over what the caller may see. */
  describeBroker(): Promise<BrokerInfo> {
    return this.#http.json('GET', '/v1/broker');
  }
  /** Every topic config with its type, default, range and doc. */
  async topicConfigs(): Promise<TopicConfigDoc[]> {
    return (await this.#http.json<{ configs: TopicConfigDoc[] }>('GET', '/v1/topic-configs')).configs;
  }

  /** Every Durable Stream the caller may see (its path, content type, TTL and tail offset). */
  async listStreams(): Promise<StreamInfo[]> {
    return (await this.#http.json<{ streams: StreamInfo[] }>('GET', '/v1/streams')).streams;
  }

  // ---- a cluster's partition moves (brokers started with a coordinator)

  /** Starts moving a partition's replicas to `replicas` (the first is the preferred leader). */
  reassignPartition(topic: string, partition: number, replicas: number[]): Promise<Reassignment> {
    return this.#http.json('POST', `${this.#c()}/topics/${seg(topic)}/partitions/${partition}/reassignment`, { body: { replicas } });
  }
  /** A partition's reassignment: its target, which added replicas are in sync, what is left to remove. */
  reassignment(topic: string, partition: number): Promise<Reassignment> {
    return this.#http.json('GET', `${this.#c()}/topics/${seg(topic)}/partitions/${partition}/reassignment`);
  }
  /** Every reassignment in progress, in every cluster. */
  async listReassignments(): Promise<Reassignment[]> {
    return (await this.#http.json<{ reassignments: Reassignment[] }>('GET', '/v1/reassignments')).reassignments;
  }
  /** Leadership back to each partition's first replica where it is alive and in sync (all partitions, a topic's, or one). */
  async electPreferredLeaders(filter: { topic?: string; partition?: number } = {}): Promise<PreferredLeaderResult[]> {
    const body = filter.topic === undefined ? {} : { cluster: this.#cluster, ...filter };
    return (await this.#http.json<{ partitions: PreferredLeaderResult[] }>('POST', '/v1/preferred-leader-election', { body })).partitions;
  }
  /** Drains a broker before it is stopped: its leaderships (and with replicas, its replicas) move elsewhere. */
  drainBroker(nodeId: number, opts: { replicas?: boolean } = {}): Promise<DrainStatus> {
    return this.#http.json('POST', `/v1/brokers/${nodeId}/drain`, { body: opts });
  }
  drainStatus(nodeId: number): Promise<DrainStatus> {
    return this.#http.json('GET', `/v1/brokers/${nodeId}/drain`);
  }
  /** Cancels a drain: the broker may lead and join ISRs again. */
  cancelDrain(nodeId: number): Promise<DrainStatus> {
    return this.#http.json('DELETE', `/v1/brokers/${nodeId}/drain`);
  }

  // ---- clusters

  async listClusters(): Promise<ClusterInfo[]> {
    return (await this.#http.json<{ clusters: ClusterInfo[] }>('GET', '/v1/clusters')).clusters;
  }
  createCluster(name: string, opts: { description?: string; defaults?: { partitions?: number; replicationFactor?: number; configs?: Record<string, ConfigValue | null> } } = {}): Promise<ClusterInfo> {
    return this.#http.json('POST', '/v1/clusters', { body: { name, ...opts } });
  }
  describeCluster(name?: string): Promise<ClusterInfo> {
    return this.#http.json('GET', this.#c(name));
  }
  alterCluster(name: string, changes: { description?: string; defaults?: { partitions?: number; replicationFactor?: number; configs?: Record<string, ConfigValue | null> } }): Promise<ClusterInfo> {
    return this.#http.json('PATCH', this.#c(name), { body: changes });
  }
  async deleteCluster(name: string): Promise<void> {
    await this.#http.json('DELETE', this.#c(name));
  }

  // ---- topics

  async listTopics(): Promise<TopicInfo[]> {
    return (await this.#http.json<{ topics: TopicInfo[] }>('GET', `${this.#c()}/topics`)).topics;
  }
  /**
   * One page of the topics the caller may describe, sorted by name: those whose name contains
   * `search` (ignoring case), from `offset`, at most `limit` (1 to 1000); `total` counts every
   * match, so a caller can page without loading them all.
   */
  topicPage(q: { search?: string; offset?: number; limit?: number } = {}): Promise<{ topics: TopicInfo[]; total: number }> {
    return this.#http.json('GET', `${this.#c()}/topics`, { query: { search: q.search === '' ? undefined : q.search, offset: q.offset, limit: q.limit } });
  }
  createTopic(topic: CreateTopic): Promise<TopicDescription> {
    return this.#http.json('POST', `${this.#c()}/topics`, { body: topic });
  }
  describeTopic(topic: string): Promise<TopicDescription> {
    return this.#http.json('GET', `${this.#c()}/topics/${seg(topic)}`);
  }
  /** Changes configs (null removes an override) and/or grows the partition count. */
  alterTopic(topic: string, changes: { partitions?: number; configs?: Record<string, ConfigValue | null> }): Promise<TopicDescription> {
    return this.#http.json('PATCH', `${this.#c()}/topics/${seg(topic)}`, { body: changes });
  }
  async deleteTopic(topic: string): Promise<void> {
    await this.#http.json('DELETE', `${this.#c()}/topics/${seg(topic)}`);
  }

  // ---- offsets

  /** A partition's earliest and latest offsets, and the first offset at or after a timestamp. */
  listOffsets(topic: string, partition: number, timestamp?: number): Promise<{ earliest: number; latest: number; offsetForTimestamp?: number }> {
    return this.#http.json('GET', `${this.#c()}/topics/${seg(topic)}/partitions/${partition}/offsets`, { query: { timestamp } });
  }

  // ---- groups

  async listGroups(): Promise<GroupSummary[]> {
    return (await this.#http.json<{ groups: GroupSummary[] }>('GET', `${this.#c()}/groups`)).groups;
  }
  /** State, members with their assignments, and committed offsets with lag. */
  describeGroup(group: string): Promise<GroupDescription> {
    return this.#http.json('GET', `${this.#c()}/groups/${seg(group)}`);
  }
  /** The group's committed offsets with each partition's high watermark and lag. */
  async groupOffsets(group: string): Promise<GroupOffset[]> {
    return (await this.#http.json<{ offsets: GroupOffset[] }>('GET', `${this.#c()}/groups/${seg(group)}/offsets`)).offsets;
  }
  /** Commits offsets under a group id without joining it (refused while the group has members). */
  async commitGroupOffsets(group: string, offsets: { topic: string; partition: number; offset: number; metadata?: string }[]): Promise<void> {
    await this.#http.json('POST', `${this.#c()}/groups/${seg(group)}/offsets`, { body: { offsets } });
  }
  /** Sets committed offsets of an empty group. */
  resetGroupOffsets(group: string, reset: ResetOffsets): Promise<ResetOffsetsResult> {
    return this.#http.json('POST', `${this.#c()}/groups/${seg(group)}/offsets/reset`, { body: reset });
  }
  async deleteGroup(group: string): Promise<void> {
    await this.#http.json('DELETE', `${this.#c()}/groups/${seg(group)}`);
  }

  // ---- transactions

  /** The transactional ids the caller owns (all, for a superuser), with state, partitions and age. */
  async listTransactions(): Promise<TransactionDescription[]> {
    return (await this.#http.json<{ transactions: TransactionDescription[] }>('GET', `${this.#c()}/transactions`)).transactions;
  }
  describeTransaction(transactionalId: string): Promise<TransactionDescription> {
    return this.#http.json('GET', `${this.#c()}/transactions/${seg(transactionalId)}`);
  }
  /** An operator's abort: aborts the open transaction and fences its producer. */
  abortTransaction(transactionalId: string): Promise<TransactionDescription> {
    return this.#http.json('POST', `${this.#c()}/transactions/${seg(transactionalId)}/abort`);
  }
}
