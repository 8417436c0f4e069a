/**
 * A broker's replicas in a cluster. The ReplicaManager follows the cluster's metadata in the
 * coordinator (topics and partition states), creates this broker's copy of every topic the
 * controller defines (with the topic's id), and, on the controller, defines new topics (replica
 * assignment, first partition states, the topic) for the HTTP and Kafka adapters.
 *
 * Created by startServer after the broker joined the cluster; start() begins following the
 * metadata, close() stops. Runs on the event loop; the metadata is replaced as a whole on every
 * change the coordinator reports.
 */
import type { Broker } from '../broker.js';
import type { TopicRecord } from '../catalog/catalog-store.js';
import type { ClusterMember } from '../cluster/cluster-member.js';
import type { ClusterMetadata, ClusterTopic, PartitionState } from '../cluster/coordinator.js';
import { ReplicationFactorError, defineTopic } from '../cluster/replica-assignment.js';
import { WebkaError } from '../errors.js';

export interface ReplicaManagerOptions {
  onWarning: (message: string, details?: Record<string, unknown>) => void;
}

/** A partition's replication state as describe reports it. */
export interface ReplicaView {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

export class ReplicaManager {
  #metadata: ClusterMetadata = { topics: [], partitions: new Map() };
  #stopWatching: (() => void) | null = null;
  /** Topic names the controller is defining now (a second create of the same name waits its turn). */
  #defining = new Set<string>();
  #changed = new Set<() => void>();

  constructor(
    readonly broker: Broker,
    readonly member: ClusterMember,
    readonly options: ReplicaManagerOptions,
  ) {
    // the controller checks a topic's replication factor against the live brokers
    broker.catalog.maxReplicationFactor = Number.MAX_SAFE_INTEGER;
  }

  get nodeId(): number {
    return this.member.nodeId;
  }

  start(): void {
    this.#stopWatching = this.member.coordinator.watchMetadata((m) => this.#apply(m));
  }

  #apply(metadata: ClusterMetadata): void {
    this.#metadata = metadata;
    for (const t of metadata.topics) this.#createLocal(t);
    for (const fn of [...this.#changed]) fn();
  }

  /** Creates this broker's copy of a cluster topic unless it has it. */
  #createLocal(t: ClusterTopic): void {
    const local = this.broker.catalog.findTopic(t.cluster, t.name);
    if (local !== undefined) {
      if (local.id !== t.id) this.options.onWarning('a local topic has the name of a cluster topic; the cluster topic is not served here', { cluster: t.cluster, topic: t.name, localId: local.id, clusterId: t.id });
      return;
    }
    try {
      this.broker.createTopic(t.cluster, { name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs }, false, { id: t.id, createdAt: t.createdAt });
    } catch (err) {
      this.options.onWarning('creating the local copy of a cluster topic failed', { cluster: t.cluster, topic: t.name, error: (err as Error).message });
    }
  }

  /**
   * Defines a topic in the cluster; only the controller may (NOT_CONTROLLER elsewhere: the HTTP
   * adapter forwards to the controller first). Checks the input as a local create would, assigns
   * replicas over the live brokers, writes the partition states and the topic, and creates the
   * local copy. The other brokers create theirs as they see the topic.
   */
  async createTopic(cluster: string, input: { name?: unknown; partitions?: unknown; replicationFactor?: unknown; configs?: unknown }): Promise<TopicRecord> {
    const term = this.member.term;
    if (term === null) throw new WebkaError('NOT_CONTROLLER', `broker ${this.nodeId} is not the controller; send topic creation to the controller or to any broker, which forwards it`);
    const record = this.broker.catalog.checkCreateTopic(cluster, input);
    const key = `${cluster}/${record.name}`;
    if (this.#defining.has(key) || this.#metadata.topics.some((t) => t.cluster === cluster && t.name === record.name)) {
      throw new WebkaError('TOPIC_EXISTS', `topic "${record.name}" already exists in cluster "${cluster}"`);
    }
    this.#defining.add(key);
    try {
      const topic: ClusterTopic = { id: record.id, cluster, name: record.name, partitions: record.partitions, replicationFactor: record.replicationFactor, configs: record.configs, createdAt: record.createdAt };
      try {
        await defineTopic(this.member.coordinator, term.epoch, topic);
      } catch (err) {
        if (err instanceof ReplicationFactorError) {
          throw new WebkaError('INVALID_REPLICATION_FACTOR', `${err.message} (live brokers: ${err.liveBrokers})`, { liveBrokers: err.liveBrokers });
        }
        throw err;
      }
      this.#createLocal(topic);
      return this.broker.catalog.getTopic(cluster, record.name);
    } finally {
      this.#defining.delete(key);
    }
  }

  /** The partition's state as the controller last wrote it, or undefined when it has none. */
  partitionState(topicId: string, partition: number): PartitionState | undefined {
    return this.#metadata.partitions.get(`${topicId}/${partition}`)?.value;
  }

  /** What describe shows of a partition's replication. */
  view(topicId: string, partition: number): ReplicaView {
    const s = this.partitionState(topicId, partition);
    if (s === undefined) return { leader: -1, leaderEpoch: -1, replicas: [], isr: [] };
    return { leader: s.leader, leaderEpoch: s.leaderEpoch, replicas: s.replicas, isr: s.isr };
  }

  /** Calls fn after every change of the metadata; returns an unsubscribe. */
  onChange(fn: () => void): () => void {
    this.#changed.add(fn);
    return () => this.#changed.delete(fn);
  }

  close(): void {
    this.#stopWatching?.();
    this.#stopWatching = null;
  }
}
