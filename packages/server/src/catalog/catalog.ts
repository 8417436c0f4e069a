/**
 * Clusters, topics and producer identities: what exists and how it is configured. Every change
 * is validated, then written through the CatalogStore before it is visible, so a crash never
 * leaves a half-made topic. Names follow Kafka's rule (see @webka/protocol names.ts), and names
 * that collide (case, "." versus "_") are refused.
 *
 * Created by the Broker; synchronous; the Broker serialises changes that also touch logs.
 */
import { randomBytes } from 'node:crypto';
import { checkName, collisionKey } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import type { CatalogState, CatalogStore, ClusterRecord, TopicRecord, NamedProducer } from './catalog-store.js';
import { normaliseConfigs, applyConfigChanges, configValue, type ConfigMap } from './topic-config.js';

export const DEFAULT_CLUSTER = 'default';
export const BROKER_COUNT = 1;

export interface Limits {
  maxPartitionsPerTopic: number;
  /** Most partitions of all topics together (the broker's budget, limits/partition-budget.ts). */
  maxPartitions?: number;
}

export interface ClusterDefaultsInput {
  partitions?: unknown;
  replicationFactor?: unknown;
  configs?: unknown;
}

function emptyState(): CatalogState {
  return { version: 1, clusters: {}, topics: {}, nextProducerId: 1000, namedProducers: {}, extensions: {} };
}

export class Catalog {
  #store: CatalogStore;
  #state: CatalogState;
  #limits: Limits;

  /**
   * The largest replication factor a topic may ask for: 1 on a single node; in a cluster the
   * controller checks it against the live brokers, so the catalog lets any through.
   */
  maxReplicationFactor = BROKER_COUNT;

  constructor(store: CatalogStore, limits: Limits) {
    this.#store = store;
    this.#limits = limits;
    this.#state = store.load() ?? emptyState();
    this.#state.extensions ??= {};
    this.#state.namedProducers ??= {};
    if (this.#state.clusters[DEFAULT_CLUSTER] === undefined) {
      this.#state.clusters[DEFAULT_CLUSTER] = {
        name: DEFAULT_CLUSTER,
        description: 'The cluster that always exists',
        createdAt: Date.now(),
        defaults: { partitions: 1, replicationFactor: 1, configs: {} },
      };
      this.#save();
    }
  }

  #save(): void {
    this.#store.save(this.#state);
  }

  /** Applies a change to a copy, saves it, and only then makes it current. */
  #mutate(change: (draft: CatalogState) => void): void {
    if (this.#batch !== null) {
      // inside atomically(): the batch's copy is current; it is saved once, at the end
      change(this.#state);
      this.#indexes = null;
      return;
    }
    const draft = structuredClone(this.#state);
    change(draft);
    this.#store.save(draft);
    this.#state = draft;
  }

  #batch: CatalogState | null = null;

  /**
   * Lookups by name for the hot paths (every produce and fetch resolves its topic; idempotent
   * produces check their epoch), derived from the current state and rebuilt after a change.
   */
  #indexes: { of: CatalogState; topics: Map<string, TopicRecord>; epochs: Map<number, number> } | null = null;

  #index(): { topics: Map<string, TopicRecord>; epochs: Map<number, number> } {
    if (this.#indexes === null || this.#indexes.of !== this.#state) {
      const topics = new Map<string, TopicRecord>();
      for (const t of Object.values(this.#state.topics)) topics.set(`${t.cluster}\0${t.name}`, t);
      const epochs = new Map<number, number>();
      for (const p of Object.values(this.#state.namedProducers)) epochs.set(p.producerId, p.producerEpoch);
      this.#indexes = { of: this.#state, topics, epochs };
    }
    return this.#indexes;
  }

  /**
   * Runs fn so that every change it makes is saved in one atomic write at the end (for example
   * a topic and the metadata of the module that owns it). If fn throws, or the save fails,
   * nothing of it is kept. Not reentrant.
   */
  atomically<T>(fn: () => T): T {
    if (this.#batch !== null) return fn();
    const before = this.#state;
    this.#batch = before;
    this.#state = structuredClone(before);
    try {
      const result = fn();
      this.#store.save(this.#state);
      return result;
    } catch (err) {
      this.#state = before;
      this.#indexes = null;
      throw err;
    } finally {
      this.#batch = null;
    }
  }

  // ---- clusters

  listClusters(): ClusterRecord[] {
    return Object.values(this.#state.clusters).sort((a, b) => a.name.localeCompare(b.name));
  }

  getCluster(name: string): ClusterRecord {
    const c = Object.prototype.hasOwnProperty.call(this.#state.clusters, name) ? this.#state.clusters[name] : undefined;
    if (c === undefined) throw new WebkaError('CLUSTER_NOT_FOUND', `cluster "${name}" does not exist`);
    return c;
  }

  createCluster(name: unknown, description: unknown, defaults: ClusterDefaultsInput | undefined): ClusterRecord {
    const problem = checkName('cluster', name);
    if (problem !== null) throw new WebkaError('INVALID_NAME', problem);
    const n = name as string;
    const key = collisionKey(n);
    const clash = Object.keys(this.#state.clusters).find((c) => collisionKey(c) === key);
    if (clash !== undefined) {
      // The other cluster is not named: the caller may not be allowed to see it (docs/security.md).
      throw new WebkaError('CLUSTER_EXISTS', clash === n ? `cluster "${n}" already exists` : `cluster "${n}" collides with an existing cluster (names differing only by case or by "." versus "_" collide)`);
    }
    if (description !== undefined && typeof description !== 'string') throw new WebkaError('INVALID_REQUEST', 'description must be a string');
    const record: ClusterRecord = {
      name: n,
      description: (description as string | undefined) ?? '',
      createdAt: Date.now(),
      defaults: this.#checkDefaults(defaults, { partitions: 1, replicationFactor: 1, configs: {} }),
    };
    this.#mutate((s) => {
      s.clusters[n] = record;
    });
    return record;
  }

  updateCluster(name: string, description: unknown, defaults: ClusterDefaultsInput | undefined): ClusterRecord {
    const current = this.getCluster(name);
    if (description !== undefined && typeof description !== 'string') throw new WebkaError('INVALID_REQUEST', 'description must be a string');
    const next: ClusterRecord = {
      ...current,
      description: (description as string | undefined) ?? current.description,
      defaults: this.#checkDefaults(defaults, current.defaults),
    };
    // A default reaches every topic that does not override it. The topic is not named: the
    // caller may not be allowed to see it.
    for (const t of this.listTopics(name)) checkMinInsyncReplicas(t.configs, next.defaults.configs, t.replicationFactor, `a topic of cluster "${name}" that takes the default`);
    this.#mutate((s) => {
      s.clusters[name] = next;
    });
    return next;
  }

  deleteCluster(name: string): void {
    this.getCluster(name);
    if (name === DEFAULT_CLUSTER) throw new WebkaError('INVALID_REQUEST', 'the default cluster cannot be deleted');
    const topics = this.listTopics(name).filter((t) => !t.internal);
    if (topics.length > 0) {
      throw new WebkaError('CLUSTER_NOT_EMPTY', `cluster "${name}" still holds ${topics.length} topic(s); delete them first`);
    }
    this.#mutate((s) => {
      delete s.clusters[name];
    });
  }

  #checkDefaults(input: ClusterDefaultsInput | undefined, base: ClusterRecord['defaults']): ClusterRecord['defaults'] {
    if (input === undefined) return base;
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new WebkaError('INVALID_REQUEST', 'defaults must be an object');
    const partitions = input.partitions === undefined ? base.partitions : this.#checkPartitions(input.partitions, 'defaults.partitions');
    const replicationFactor = input.replicationFactor === undefined ? base.replicationFactor : checkReplicationFactor(input.replicationFactor, 'defaults.replicationFactor', this.maxReplicationFactor);
    const configs = applyConfigChanges(base.configs, normaliseConfigs(input.configs, 'defaults.configs'));
    checkMinInsyncReplicas({}, configs, replicationFactor, 'the cluster defaults');
    return { partitions, replicationFactor, configs };
  }

  #totalPartitions(): number {
    let n = 0;
    for (const t of Object.values(this.#state.topics)) n += t.partitions;
    return n;
  }

  /** Refuses `more` partitions past the broker's budget (maxPartitions). */
  #checkTotal(more: number): void {
    const max = this.#limits.maxPartitions;
    if (max === undefined || more <= 0) return;
    const total = this.#totalPartitions();
    if (total + more > max) {
      throw new WebkaError('INVALID_PARTITIONS', `this broker holds ${total} partitions and may hold ${max} in all (maxPartitions, bounded by the open-file limit); ${more} more do not fit: delete topics, or raise maxPartitions and the limit`);
    }
  }

  /** At start: a data directory holding more partitions than the budget is refused, naming the setting. */
  checkPartitionBudget(): void {
    const max = this.#limits.maxPartitions;
    const total = this.#totalPartitions();
    if (max !== undefined && total > max) {
      throw new Error(`the data directory holds ${total} partitions, more than maxPartitions allows (${max}, bounded by the open-file limit, ulimit -n): raise the open-file limit and maxPartitions, then start again`);
    }
  }

  #checkPartitions(value: unknown, field: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > this.#limits.maxPartitionsPerTopic) {
      throw new WebkaError('INVALID_PARTITIONS', `${field} must be an integer from 1 to ${this.#limits.maxPartitionsPerTopic}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  // ---- topics

  listTopics(cluster: string): TopicRecord[] {
    this.getCluster(cluster);
    return Object.values(this.#state.topics)
      .filter((t) => t.cluster === cluster)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  allTopics(): TopicRecord[] {
    return Object.values(this.#state.topics);
  }

  findTopic(cluster: string, name: string): TopicRecord | undefined {
    return this.#index().topics.get(`${cluster}\0${name}`);
  }

  getTopic(cluster: string, name: string): TopicRecord {
    this.getCluster(cluster);
    const t = this.findTopic(cluster, name);
    if (t === undefined) throw new WebkaError('TOPIC_NOT_FOUND', `topic "${name}" does not exist in cluster "${cluster}"`);
    return t;
  }

  createTopic(cluster: string, input: { name?: unknown; partitions?: unknown; replicationFactor?: unknown; configs?: unknown }, internal = false, defined?: { id: string; createdAt: number }): TopicRecord {
    const record = this.checkCreateTopic(cluster, input, internal, defined);
    this.#mutate((s) => {
      s.topics[record.id] = record;
    });
    return record;
  }

  /**
   * The record createTopic would save, checked as createTopic checks it, saving nothing. With
   * `defined`, the topic takes that id and creation time (a topic the cluster defined).
   */
  checkCreateTopic(cluster: string, input: { name?: unknown; partitions?: unknown; replicationFactor?: unknown; configs?: unknown }, internal = false, defined?: { id: string; createdAt: number }): TopicRecord {
    const c = this.getCluster(cluster);
    const problem = checkName('topic', input.name);
    if (problem !== null) throw new WebkaError('INVALID_NAME', problem);
    const name = input.name as string;
    if (name.startsWith('__') && !internal) throw new WebkaError('INVALID_NAME', `topic names starting with "__" are reserved for internal topics`);
    const key = collisionKey(name);
    const clash = this.listTopics(cluster).find((t) => collisionKey(t.name) === key);
    if (clash !== undefined) {
      // The other topic is not named: the caller may not be allowed to see it (docs/security.md).
      throw new WebkaError('TOPIC_EXISTS', clash.name === name ? `topic "${name}" already exists in cluster "${cluster}"` : `topic "${name}" collides with an existing topic of cluster "${cluster}" (names differing only by case or by "." versus "_" collide)`);
    }
    const partitions = input.partitions === undefined ? c.defaults.partitions : this.#checkPartitions(input.partitions, 'partitions');
    const replicationFactor = input.replicationFactor === undefined ? c.defaults.replicationFactor : checkReplicationFactor(input.replicationFactor, 'replicationFactor', this.maxReplicationFactor);
    const configs = applyConfigChanges({}, normaliseConfigs(input.configs, 'configs'));
    checkMinInsyncReplicas(configs, c.defaults.configs, replicationFactor, `topic "${name}"`);
    this.#checkTotal(partitions);
    return { id: defined?.id ?? randomBytes(8).toString('hex'), cluster, name, partitions, replicationFactor, configs, createdAt: defined?.createdAt ?? Date.now(), internal };
  }

  alterTopic(cluster: string, name: string, changes: { partitions?: unknown; configs?: unknown }): { before: TopicRecord; after: TopicRecord } {
    const { before, after } = this.checkAlterTopic(cluster, name, changes);
    this.#mutate((s) => {
      s.topics[before.id] = after;
    });
    return { before, after };
  }

  /** The topic as alterTopic would leave it, checked, without storing it (validate-only requests). */
  checkAlterTopic(cluster: string, name: string, changes: { partitions?: unknown; configs?: unknown }): { before: TopicRecord; after: TopicRecord } {
    const before = this.getTopic(cluster, name);
    let partitions = before.partitions;
    if (changes.partitions !== undefined) {
      partitions = this.#checkPartitions(changes.partitions, 'partitions');
      if (partitions < before.partitions) {
        throw new WebkaError('INVALID_PARTITIONS', `topic "${name}" has ${before.partitions} partitions; the count can only grow (asked for ${partitions})`);
      }
      this.#checkTotal(partitions - before.partitions);
    }
    const configs = applyConfigChanges(before.configs, normaliseConfigs(changes.configs, 'configs'));
    checkMinInsyncReplicas(configs, this.getCluster(cluster).defaults.configs, before.replicationFactor, `topic "${name}"`);
    return { before, after: { ...before, partitions, configs } };
  }

  deleteTopic(cluster: string, name: string): TopicRecord {
    const t = this.getTopic(cluster, name);
    this.#mutate((s) => {
      delete s.topics[t.id];
    });
    return t;
  }

  // ---- producer ids

  /**
   * A new producer id with epoch 0, or, for a name seen before, the same id with the next epoch
   * (which fences the previous holder of that name, as Kafka's transactional.id does).
   */
  allocateProducer(name?: string, owner?: string): NamedProducer {
    let result: NamedProducer | undefined;
    this.#mutate((s) => {
      const known = name === undefined ? undefined : s.namedProducers[name];
      if (known !== undefined && known.producerEpoch < 32767) {
        result = { producerId: known.producerId, producerEpoch: known.producerEpoch + 1 };
      } else {
        result = { producerId: s.nextProducerId++, producerEpoch: 0 };
      }
      if (name !== undefined) s.namedProducers[name] = result;
      if (owner !== undefined) (s.producerOwners ??= {})[String(result.producerId)] = owner;
    });
    return result!;
  }

  /** The id allocateProducer would issue next. */
  get nextProducerId(): number {
    return this.#state.nextProducerId;
  }

  /** The principal a producer id was issued to, or undefined (issued with authentication off, or by an older version). */
  producerOwner(producerId: number): string | undefined {
    const owners = this.#state.producerOwners;
    return owners !== undefined && Object.hasOwn(owners, String(producerId)) ? owners[String(producerId)] : undefined;
  }

  /**
   * The producer id an earlier version allocated for a client-named producer (a Durable Streams
   * Producer-Id), if any. Read only: such ids are now derived from the name (durable-streams/
   * stream-producer-id.ts), so no request writes the catalog for them; ids handed out before
   * keep working for the streams that hold them.
   */
  allocatedClientProducerId(name: string): number | undefined {
    return Object.hasOwn(this.#state.clientProducers ?? {}, name) ? this.#state.clientProducers![name] : undefined;
  }

  /** The current epoch of a producer id, or undefined when the id was never handed out. */
  producerEpoch(producerId: number): number | undefined {
    if (producerId < 1000 || producerId >= this.#state.nextProducerId) return undefined;
    return this.#index().epochs.get(producerId) ?? 0;
  }

  // ---- extensions owned by other modules

  getExtension<T>(key: string): T | undefined {
    return this.#state.extensions[key] as T | undefined;
  }

  setExtension(key: string, value: unknown): void {
    this.#mutate((s) => {
      s.extensions[key] = value;
    });
  }
}

/**
 * min.insync.replicas (effective: the topic's, else the cluster default's) must not exceed the
 * replication factor: such a topic could never take an acks=all write. Kafka finds out only at
 * produce time (NotEnoughReplicas); Webka refuses the config when it is set.
 */
function checkMinInsyncReplicas(topic: ConfigMap, cluster: ConfigMap, replicationFactor: number, what: string): void {
  const min = Number(configValue(topic, cluster, 'min.insync.replicas'));
  if (min > replicationFactor) {
    throw new WebkaError('INVALID_CONFIG', `min.insync.replicas ${min} of ${what} exceeds its replication factor ${replicationFactor}: acks=all could never be met; set it to at most ${replicationFactor}`);
  }
}

function checkReplicationFactor(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new WebkaError('INVALID_REPLICATION_FACTOR', `${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  if (value > max) {
    throw new WebkaError('INVALID_REPLICATION_FACTOR', `${field} ${value} exceeds the number of brokers (${max}); a replica needs a broker of its own`);
  }
  return value;
}
