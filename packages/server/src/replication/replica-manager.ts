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
import { randomBytes } from 'node:crypto';
import type { Broker } from '../broker.js';
import type { TopicRecord } from '../catalog/catalog-store.js';
import type { ClusterMember } from '../cluster/cluster-member.js';
import type { BrokerRegistration, ClusterMetadata, ClusterTopic, PartitionState, Versioned } from '../cluster/coordinator.js';
import { ReplicationFactorError, assignReplicas, createPartitionStates, defineTopic } from '../cluster/replica-assignment.js';
import { electLeader } from '../cluster/leader-election.js';
import { MoveInputError, advanceReassignment, checkReplicas, drainStep, preferredLeader, reassigning, startReassignment, targetReplicas } from '../cluster/partition-moves.js';
import { isErrorCode, type DrainStatus, type PreferredLeaderResult, type Reassignment } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import { applyConfigChanges, configValue, normaliseConfigs, type ConfigValue } from '../catalog/topic-config.js';
import type { Partition, ReplicaHooks } from '../partitions/partition.js';
import { PartitionLeader, writtenNotCommitted } from './partition-leader.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { ReplicaChannels } from './replica-channel.js';
import { brokerGet, jsonOf } from './broker-http.js';
import { decodeRecords, type DecodedRecord } from '../storage/record-batch.js';
import type { Isolation } from '../partitions/partition.js';

type TopicConfigs = Record<string, string | number>;

export interface ReplicaManagerOptions {
  onWarning: (message: string, details?: Record<string, unknown>) => void;
  /** A follower that has not caught up for this long leaves the ISR (Kafka's replica.lag.time.max.ms). */
  replicaLagTimeMaxMs: number;
  /** DEBUG ONLY (WEBKA_DEBUG_HW_FROM_LEADER=1): leaders ignore their followers for the high
   *  watermark; exists so the failover test can show it detects loss. */
  debugHwFromLeader?: boolean;
  /** DEBUG ONLY: follow over HTTP fetches alone, as a broker of an earlier version (the rolling-upgrade test). */
  debugNoReplicaChannel?: boolean;
  /** The Authorization header this broker sends other brokers (the inter-broker credential), if any. */
  authorization?: string;
  /** Called after each ISR change this broker wrote (shrunk: it lost members). */
  onIsrChange?: (shrunk: boolean) => void;
  /** Called when this broker becomes a partition's leader (a new leader epoch), before it answers for it. */
  onLeadership?: (topic: ClusterTopic, partition: number) => void;
  /** On the controller: leadership returns to each partition's first replica whenever it can (autoLeaderRebalance). */
  autoLeaderRebalance?: boolean;
}

/** The etcd document of the brokers being drained, by node id (any broker writes it, by compare-and-swap). */
export const DRAINS_DOCUMENT = 'drains';
interface DrainEntry {
  replicas: boolean;
  since: number;
}

/** A partition, by name, as the admin operations report it. */
interface PartitionRef {
  cluster: string;
  topic: string;
  partition: number;
}

/** Replicas of an internal topic at most (Kafka's offsets.topic.replication.factor), fewer when fewer brokers are live. */
export const INTERNAL_TOPIC_REPLICAS = 3;
/** How long a broker waits for an internal topic it asked the controller for to reach it. */
const INTERNAL_TOPIC_WAIT_MS = 15_000;

/** What the broker's metrics read of replication at scrape time. */
export interface ReplicationStats {
  /** Partitions this broker leads whose ISR is smaller than their replica set. */
  underReplicated: number;
  /** On the controller: partitions with no live leader (0 on other brokers, as in Kafka). */
  offline: number;
  /** Per partition this broker leads and each of its followers: records behind the leader's log end. */
  followerLag: { cluster: string; topic: string; partition: number; replica: number; lag: number }[];
}

/** What a follower's fetch gets: the leader's bytes from the offset, and its high watermark. */
export interface ReplicaFetchAnswer {
  data: Buffer;
  highWatermark: number;
  logEndOffset: number;
  leaderEpoch: number;
}

/** A partition's replication state as describe reports it. */
export interface ReplicaView {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

/** A leader's answer to readFromLeader. */
export interface LeaderReadAnswer {
  records: DecodedRecord[];
  nextOffset: number;
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

export class ReplicaManager {
  #metadata: ClusterMetadata = { topics: [], partitions: new Map(), deletedTopics: new Set() };
  #stopWatching: (() => void) | null = null;
  /** Topic names the controller is defining now (a second create of the same name waits its turn). */
  #defining = new Set<string>();
  #applied!: () => void;
  /** Resolves once the cluster's metadata has been read and applied (every copy has its role). */
  readonly applied = new Promise<void>((resolve) => (this.#applied = resolve));
  /** The controller's changes to topics under way (delete, alter), by `cluster/name`: one at a time per topic. */
  #topicChanges = new Map<string, Promise<unknown>>();
  #changed = new Set<() => void>();
  /** Partitions this broker leads, and follows, by `<topicId>/<partition>`. */
  #leaders = new Map<string, PartitionLeader>();
  #fetchers = new Map<string, ReplicaFetcher>();
  /** Headers that authenticate this broker to the others (the inter-broker credential). */
  get #brokerHeaders(): Record<string, string> {
    return this.options.authorization === undefined ? {} : { authorization: this.options.authorization };
  }
  /** This broker's replica channels to the leaders it follows, made on first use (needs nodeId and options, set by the constructor). */
  #channelsMade: ReplicaChannels | null = null;
  get #channels(): ReplicaChannels {
    return (this.#channelsMade ??= new ReplicaChannels(this.nodeId, this.#brokerHeaders, this.options.debugNoReplicaChannel === true));
  }
  /** ISR changes being written, by partition (one at a time each). */
  #isrWrites = new Set<string>();
  #lagTimer: NodeJS.Timeout | null = null;
  #stopWatchingBrokers: (() => void) | null = null;
  /** The live brokers as last reported (null until the first report), and their registrations. */
  #live: Set<number> | null = null;
  #liveBrokers: BrokerRegistration[] = [];
  #electing = false;
  #electAgain = false;
  /** The brokers being drained (the etcd document). */
  #drains = new Map<number, DrainEntry>();
  #stopWatchingDrains: (() => void) | null = null;
  #electionTimer: NodeJS.Timeout | null = null;

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
    this.#lagTimer = setInterval(() => {
      for (const l of this.#leaders.values()) l.checkLag();
    }, Math.max(50, Math.floor(this.options.replicaLagTimeMaxMs / 4)));
    this.#lagTimer.unref();
    this.#stopWatchingBrokers = this.member.coordinator.watchBrokers((brokers) => {
      this.#live = new Set(brokers.map((b) => b.nodeId));
      this.#liveBrokers = brokers;
      void this.#electLeaders();
    });
    // a broker that has just become controller finds the partitions that lost their leader
    this.#electionTimer = setInterval(() => void this.#electLeaders(), 1000);
    this.#electionTimer.unref();
    this.#stopWatchingDrains = this.member.coordinator.watchDocument(DRAINS_DOCUMENT, (doc) => {
      const entries = Object.entries(((doc?.value ?? {}) as { brokers?: Record<string, DrainEntry> }).brokers ?? {});
      this.#drains = new Map(entries.map(([k, v]) => [Number(k), v]));
      void this.#electLeaders();
    });
  }

  /**
   * This broker has just become the controller. When the last one died with the leaders of some
   * partitions (one broker killed), the change of live brokers reached this broker before it held
   * the office, and nothing else would elect their new leaders before the next periodic pass, a
   * second later: elect them now.
   */
  controllerTermStarted(): void {
    void this.#electLeaders();
  }

  /**
   * On the controller, after every change and each second: a new leader, from the ISR, for every
   * partition whose leader is not live (cluster/leader-election.ts); else the next step of a
   * reassignment or of a drain, or (autoLeaderRebalance) the preferred leader back
   * (cluster/partition-moves.ts). Each write is a compare-and-swap on the state's revision fenced
   * by the controller epoch; a refused one is tried again from the new state on the next pass.
   */
  async #electLeaders(): Promise<void> {
    const term = this.member.term;
    const live = this.#live;
    if (term === null || live === null) return;
    if (this.#electing) {
      this.#electAgain = true;
      return;
    }
    this.#electing = true;
    try {
      do {
        this.#electAgain = false;
        const draining = new Set(this.#drains.keys());
        const hosted = this.#hostedCounts();
        const spare = (state: PartitionState): number | undefined => {
          const free = [...live].filter((n) => !draining.has(n) && !state.replicas.includes(n)).sort((a, b) => (hosted.get(a) ?? 0) - (hosted.get(b) ?? 0) || a - b);
          if (free[0] !== undefined) hosted.set(free[0], (hosted.get(free[0]) ?? 0) + 1);
          return free[0];
        };
        for (const [key, current] of this.#metadata.partitions) {
          const s = current.value;
          const next =
            electLeader(s, live, term.epoch, draining, this.#unclean(key)) ??
            advanceReassignment(s, live, draining, term.epoch) ??
            drainStep(s, draining, live, (n) => this.#drains.get(n)?.replicas === true, spare, term.epoch) ??
            (this.options.autoLeaderRebalance === true ? preferredLeader(s, live, draining, term.epoch) : null);
          if (next === null) continue;
          await this.#writeState(key, current, next);
        }
      } while (this.#electAgain && this.member.term === term);
    } finally {
      this.#electing = false;
    }
  }

  /** The controller's write of a partition's next state (compare-and-swap, fenced); true when stored. */
  async #writeState(key: string, current: Versioned<PartitionState>, next: PartitionState): Promise<boolean> {
    const slash = key.lastIndexOf('/');
    try {
      const r = await this.member.coordinator.writePartitionState(key.slice(0, slash), Number(key.slice(slash + 1)), next, current.revision);
      if (!r.ok) return false;
      this.#remember(key, { value: next, revision: r.revision });
      if (next.isr.length !== current.value.isr.length) this.options.onIsrChange?.(next.isr.length < current.value.isr.length);
      const was = current.value;
      const unclean = next.leader >= 0 && !was.isr.includes(next.leader);
      const what = next.leader < 0 ? 'partition offline: no in-sync replica is alive' : unclean ? 'unclean leader election: a replica outside the ISR leads, and what it lacks of the old leader\'s log (acknowledged records included) is lost' : next.leader !== was.leader ? 'elected a partition leader' : reassigning(next) && !reassigning(was) ? 'reassignment started' : reassigning(was) && !reassigning(next) ? 'reassignment finished' : 'partition state changed';
      this.options.onWarning(what, { partition: key, leader: next.leader, leaderEpoch: next.leaderEpoch, replicas: next.replicas, isr: next.isr, was: { leader: was.leader, replicas: was.replicas, isr: was.isr } });
      return true;
    } catch (err) {
      this.options.onWarning('a partition state write failed; the next pass tries again', { partition: key, error: (err as Error).message });
      return false;
    }
  }

  /**
   * Takes a state this broker wrote before the watch reports it, unless the watch already gave a
   * later one: a copy with an older revision would make every later compare-and-swap of this
   * broker on the partition fail, and nothing else would ever correct it.
   */
  #remember(key: string, written: Versioned<PartitionState>): void {
    const known = this.#metadata.partitions.get(key);
    if (known !== undefined && BigInt(known.revision || '0') >= BigInt(written.revision || '0')) return;
    this.#metadata.partitions.set(key, written);
  }

  /** How many partitions' replicas each broker holds. */
  #hostedCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const { value } of this.#metadata.partitions.values()) for (const n of value.replicas) counts.set(n, (counts.get(n) ?? 0) + 1);
    return counts;
  }

  #apply(metadata: ClusterMetadata): void {
    this.#metadata = metadata;
    this.#applied();
    for (const t of this.broker.catalog.allTopics()) if (metadata.deletedTopics.has(t.id)) void this.#removeLocal(t);
    for (const t of metadata.topics) {
      this.#createLocal(t);
      for (let i = 0; i < t.partitions; i++) this.#assumeRole(t, i);
    }
    for (const fn of [...this.#changed]) fn();
    if (this.member.term !== null) void this.#electLeaders();
  }

  /** Makes this broker's copy of a partition the leader, a follower, or neither, as its state says. */
  #assumeRole(t: ClusterTopic, index: number): void {
    const key = `${t.id}/${index}`;
    const state = this.#metadata.partitions.get(key)?.value;
    const partition = this.broker.partitionById(t.id, index);
    if (state === undefined || partition === undefined) return;
    const leader = this.#leaders.get(key);
    const fetcher = this.#fetchers.get(key);
    if (state.leader === this.nodeId) {
      if (leader !== undefined && leader.leaderEpoch === state.leaderEpoch && leader.partition === partition) {
        leader.stateChanged();
        return;
      }
      this.#stopFollowing(key);
      leader?.fence(state.leader);
      const next = new PartitionLeader(partition, state.leaderEpoch, {
        nodeId: this.nodeId,
        state: () => this.#metadata.partitions.get(key)?.value,
        minInsync: () => this.#minInsync(t),
        lagTimeMaxMs: this.options.replicaLagTimeMaxMs,
        hwFromLeaderAlone: this.options.debugHwFromLeader === true,
        proposeIsr: (isr) => this.#writeIsr(t.id, index, state.leaderEpoch, isr),
        // a broker being drained leaves the ISR and stays out (it is about to stop)
        mayJoinIsr: (n) => !this.#drains.has(n),
      });
      this.#leaders.set(key, next);
      partition.replica = next;
      this.broker.leadershipGained(t.id);
      this.options.onLeadership?.(t, index);
      return;
    }
    if (leader !== undefined) {
      leader.fence(state.leader);
      this.#leaders.delete(key);
    }
    if (!state.replicas.includes(this.nodeId) || state.leader < 0) {
      const stopped = this.#stopFollowing(key);
      partition.replica = notLeader(this.nodeId, index, state.leader);
      // a replica reassigned away drops its copy once it has stopped following
      if (!state.replicas.includes(this.nodeId) && state.leader >= 0) void stopped.then(() => this.#dropCopy(partition, key));
      return;
    }
    if (fetcher !== undefined && fetcher.leader === state.leader && fetcher.leaderEpoch === state.leaderEpoch && fetcher.partition === partition) return;
    this.#stopFollowing(key);
    const next = new ReplicaFetcher(partition, t.id, state.leader, state.leaderEpoch, { nodeId: this.nodeId, brokerUrl: (n) => this.member.brokerUrl(n), onWarning: this.options.onWarning, headers: this.#brokerHeaders, channels: this.#channels });
    this.#fetchers.set(key, next);
    partition.replica = next;
    next.start();
  }

  #stopFollowing(key: string): Promise<void> {
    const f = this.#fetchers.get(key);
    if (f === undefined) return Promise.resolve();
    this.#fetchers.delete(key);
    return f.stop();
  }

  /** Deletes the records of a copy this broker no longer holds a replica of (its log is cut to empty). */
  async #dropCopy(partition: Partition, key: string): Promise<void> {
    const state = this.#metadata.partitions.get(key)?.value;
    if (state === undefined || state.replicas.includes(this.nodeId) || partition.closed || this.#fetchers.has(key) || this.#leaders.has(key)) return;
    const log = partition.log;
    if (log.nextOffset === log.logStartOffset) return;
    try {
      this.options.onWarning('deleting the copy of a partition this broker no longer holds a replica of', { partition: key, records: log.nextOffset - log.logStartOffset });
      await partition.truncateTo(log.logStartOffset);
    } catch (err) {
      this.options.onWarning('deleting a copy of a partition reassigned away failed', { partition: key, error: (err as Error).message });
    }
  }

  #minInsync(t: ClusterTopic): number {
    return Number(this.#config(t, 'min.insync.replicas'));
  }

  /** Whether the topic of partition `key` (topic id/index) allows unclean leader election. */
  #unclean(key: string): boolean {
    const id = key.slice(0, key.lastIndexOf('/'));
    const t = this.#metadata.topics.find((x) => x.id === id);
    return t !== undefined && this.#config(t, 'unclean.leader.election.enable') === 'true';
  }

  #config(t: ClusterTopic, name: string): ConfigValue {
    const cluster = this.broker.catalog.listClusters().find((c) => c.name === t.cluster)?.defaults.configs ?? {};
    return configValue(t.configs, cluster, name);
  }

  /**
   * The leader changes the ISR (Kafka's way before KRaft: the leader writes it, compare-and-swap
   * on the state's revision, so a write based on a state the controller has since changed fails).
   * Resolves whether this write made the ISR `isr` (false when another write was in flight, the
   * state moved on, or the coordinator refused or failed).
   */
  async #writeIsr(topicId: string, index: number, leaderEpoch: number, isr: number[]): Promise<boolean> {
    const key = `${topicId}/${index}`;
    if (this.#isrWrites.has(key)) return false;
    this.#isrWrites.add(key);
    try {
      const current = this.#metadata.partitions.get(key);
      if (current === undefined || current.value.leader !== this.nodeId || current.value.leaderEpoch !== leaderEpoch) return false;
      if (current.value.isr.join() === isr.join()) return true;
      const controllerEpoch = await this.member.coordinator.controllerEpoch();
      const next = { ...current.value, isr, controllerEpoch };
      const r = await this.member.coordinator.writePartitionState(topicId, index, next, current.revision);
      if (r.ok) {
        const shrunk = isr.length < current.value.isr.length;
        this.options.onIsrChange?.(shrunk);
        this.options.onWarning(shrunk ? 'ISR shrank' : 'ISR expanded', { topicId, partition: index, from: current.value.isr, to: isr });
        // the watch reports it too; take it now so the high watermark follows without waiting
        this.#remember(key, { value: next, revision: r.revision });
        this.#leaders.get(key)?.stateChanged();
      }
      return r.ok;
    } catch (err) {
      this.options.onWarning('writing the ISR failed; the next check tries again', { topicId, partition: index, error: (err as Error).message });
      return false;
    } finally {
      this.#isrWrites.delete(key);
    }
  }

  #leaderFor(topicId: string, index: number, leaderEpoch: number): PartitionLeader {
    const leader = this.#leaders.get(`${topicId}/${index}`);
    const state = this.partitionState(topicId, index);
    if (leader === undefined || state === undefined || state.leader !== this.nodeId || leader.leaderEpoch !== leaderEpoch) {
      throw new WebkaError('NOT_LEADER', `broker ${this.nodeId} does not lead partition ${index} of topic id ${topicId} in leader epoch ${leaderEpoch} (state: leader ${state?.leader ?? 'unknown'}, epoch ${state?.leaderEpoch ?? 'unknown'})`, { leader: state?.leader ?? -1 });
    }
    return leader;
  }

  /** A follower's question before it fetches (KIP-101): where does `epoch` end in the leader's log? */
  leaderEpochEnd(topicId: string, index: number, req: { leaderEpoch: number; epoch: number }): { endOffset: number; leaderEpoch: number } {
    const leader = this.#leaderFor(topicId, index, req.leaderEpoch);
    return { endOffset: leader.partition.log.endOffsetForEpoch(req.epoch), leaderEpoch: leader.leaderEpoch };
  }

  /**
   * A follower's fetch, answered by the leader: records the follower's position and durable end
   * (which may move the high watermark), waits up to maxWaitMs for data past `offset`, and
   * returns the batches from there as stored. NOT_LEADER when this broker does not lead the
   * partition in that leader epoch.
   */
  async leaderFetch(topicId: string, index: number, req: { replica: number; offset: number; durableEnd: number; leaderEpoch: number; maxWaitMs: number; maxBytes: number; signal?: AbortSignal }): Promise<ReplicaFetchAnswer> {
    const leader = this.#leaderFor(topicId, index, req.leaderEpoch);
    const p: Partition = leader.partition;
    leader.onFetch(req.replica, req.offset, req.durableEnd);
    const hw = p.log.highWatermark;
    if (req.offset >= p.log.nextOffset) await p.waitForAppend(req.offset, req.maxWaitMs, req.signal, hw);
    const data = p.log.read(req.offset, req.maxBytes);
    return { data, highWatermark: p.log.highWatermark, logEndOffset: p.log.nextOffset, leaderEpoch: leader.leaderEpoch };
  }

  /** Creates this broker's copy of a cluster topic unless it has it; brings a copy it has up to the topic's partition count and configs. */
  #createLocal(t: ClusterTopic): void {
    const local = this.broker.catalog.findTopic(t.cluster, t.name);
    if (local !== undefined) {
      if (local.id !== t.id) this.options.onWarning('a local topic has the name of a cluster topic; the cluster topic is not served here', { cluster: t.cluster, topic: t.name, localId: local.id, clusterId: t.id });
      else this.#updateLocal(t, local);
      return;
    }
    try {
      this.broker.createTopic(t.cluster, { name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs }, t.internal === true, { id: t.id, createdAt: t.createdAt });
      this.#noRoleYet(t);
    } catch (err) {
      this.options.onWarning('creating the local copy of a cluster topic failed', { cluster: t.cluster, topic: t.name, error: (err as Error).message });
    }
  }

  /**
   * A partition this broker has opened but not yet seen the state of (the controller's own copy
   * of a topic it has just made or grown) takes no append until it has a role: on its own it would
   * act as a single broker's partition, and acknowledge records that its leader never gets.
   */
  #noRoleYet(t: ClusterTopic): void {
    for (let i = 0; i < t.partitions; i++) {
      const p = this.broker.partitionById(t.id, i);
      if (p !== undefined && p.replica === null) p.replica = notLeader(this.nodeId, i, -1);
    }
  }

  /** Makes this broker's copy of `t` have its partitions (a count only grows) and exactly its configs. */
  #updateLocal(t: ClusterTopic, local: TopicRecord): void {
    const configs: Record<string, ConfigValue | null> = {};
    for (const k of Object.keys(local.configs)) if (!(k in t.configs)) configs[k] = null;
    for (const [k, v] of Object.entries(t.configs)) if (local.configs[k] !== v) configs[k] = v;
    const grow = t.partitions > local.partitions;
    if (!grow && Object.keys(configs).length === 0) return;
    try {
      this.broker.alterTopic(t.cluster, t.name, { ...(grow ? { partitions: t.partitions } : {}), configs });
      this.#noRoleYet(t);
    } catch (err) {
      this.options.onWarning('updating the local copy of a cluster topic failed', { cluster: t.cluster, topic: t.name, error: (err as Error).message });
    }
  }

  /** Stops replicating a deleted topic's partitions here and deletes this broker's copy. */
  async #removeLocal(t: TopicRecord): Promise<void> {
    for (let i = 0; i < t.partitions; i++) {
      const key = `${t.id}/${i}`;
      void this.#stopFollowing(key);
      this.#leaders.get(key)?.fence(-1);
      this.#leaders.delete(key);
    }
    try {
      await this.broker.deleteTopic(t.cluster, t.name);
      this.options.onWarning('deleted the copy of a topic deleted from the cluster', { cluster: t.cluster, topic: t.name, id: t.id });
    } catch (err) {
      this.options.onWarning('deleting the copy of a topic deleted from the cluster failed', { cluster: t.cluster, topic: t.name, error: (err as Error).message });
    }
  }

  /** Runs the controller's changes to one topic one at a time. */
  #serially<T>(cluster: string, name: string, change: () => Promise<T>): Promise<T> {
    const key = `${cluster}/${name}`;
    const run = (this.#topicChanges.get(key) ?? Promise.resolve()).then(change, change);
    const tail = run.catch(() => undefined);
    this.#topicChanges.set(key, tail);
    void tail.then(() => {
      if (this.#topicChanges.get(key) === tail) this.#topicChanges.delete(key);
    });
    return run;
  }

  #controllerTerm(what: string): { epoch: number } {
    const term = this.member.term;
    if (term === null) throw new WebkaError('NOT_CONTROLLER', `broker ${this.nodeId} is not the controller; send ${what} to the controller or to any broker, which forwards it`);
    return term;
  }

  /**
   * Deletes a topic from the cluster; only the controller may (NOT_CONTROLLER elsewhere). The
   * topic and its partition states go from etcd in one transaction that leaves a tombstone; this
   * broker's copy is deleted before the answer, every other broker deletes its own as it sees the
   * change (or, if away, when it returns). A topic the cluster does not define (this broker's own)
   * is deleted here alone.
   */
  async deleteTopic(cluster: string, name: string): Promise<void> {
    const term = this.#controllerTerm('a topic deletion');
    return this.#serially(cluster, name, async () => {
      const t = this.#metadata.topics.find((x) => x.cluster === cluster && x.name === name);
      if (t === undefined) return this.broker.deleteTopic(cluster, name);
      if (!(await this.member.coordinator.deleteTopic(t, term.epoch))) throw new WebkaError('TOPIC_NOT_FOUND', `topic "${name}" was deleted meanwhile`);
      const local = this.broker.catalog.findTopic(cluster, name);
      if (local?.id === t.id) await this.#removeLocal(local);
    });
  }

  /**
   * Changes a cluster topic's configs or adds partitions; only the controller may. Checked as a
   * local change is; new partitions get replicas over the live brokers and their first state
   * before the topic's new definition is written, so a partition that is visible has a state.
   * This broker's copy changes before the answer, the others' as they see the new definition.
   */
  async alterTopic(cluster: string, name: string, changes: { partitions?: unknown; configs?: unknown }): Promise<TopicRecord> {
    const term = this.#controllerTerm('a topic change');
    return this.#serially(cluster, name, async () => {
      const t = this.#metadata.topics.find((x) => x.cluster === cluster && x.name === name);
      if (t === undefined) return this.broker.alterTopic(cluster, name, changes);
      const { after } = this.broker.catalog.checkAlterTopic(cluster, name, changes);
      const next: ClusterTopic = { ...t, partitions: Math.max(t.partitions, after.partitions), configs: applyConfigChanges(t.configs, normaliseConfigs(changes.configs, 'configs')) };
      if (next.partitions > t.partitions) {
        const live = (await this.member.coordinator.brokers()).map((b) => b.nodeId);
        let assignment: number[][];
        try {
          assignment = assignReplicas(live, next.partitions, t.replicationFactor).slice(t.partitions);
        } catch (err) {
          if (err instanceof ReplicationFactorError) throw new WebkaError('INVALID_REPLICATION_FACTOR', `new partitions need ${err.message}`, { liveBrokers: err.liveBrokers });
          throw err;
        }
        await createPartitionStates(this.member.coordinator, term.epoch, t.id, assignment, t.partitions);
      }
      if (!(await this.member.coordinator.updateTopic(next, term.epoch))) throw new WebkaError('TOPIC_NOT_FOUND', `topic "${name}" was deleted meanwhile`);
      const local = this.broker.catalog.findTopic(cluster, name);
      if (local?.id === t.id) this.#updateLocal(next, local);
      return this.broker.catalog.getTopic(cluster, name);
    });
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

  /**
   * Makes sure the cluster has an internal topic (`__consumer_offsets`) and this broker its copy:
   * the controller defines it (replicated on up to INTERNAL_TOPIC_REPLICAS live brokers), another
   * broker asks the controller to (an inter-broker route) and waits for the topic to reach it.
   * A Durable Stream's topic is made the same way, but not internal (its configs: a function of
   * the replication factor given to it).
   */
  async ensureInternalTopic(cluster: string, name: string, partitions: number, configs: TopicConfigs | ((replicationFactor: number) => TopicConfigs), internal = true): Promise<void> {
    if (this.#hasTopic(cluster, name)) return;
    const term = this.member.term;
    if (term !== null) {
      const key = `${cluster}/${name}`;
      // defined already (its copy has not reached this broker yet), or being defined
      if (this.#defining.has(key) || this.#metadata.topics.some((t) => t.cluster === cluster && t.name === name)) return this.#waitForTopic(cluster, name);
      this.broker.catalog.getCluster(cluster);
      // a stream's topic is checked as a topic a client makes: its name, and the brokers' partition budget (maxPartitions)
      if (!internal) this.broker.catalog.checkCreateTopic(cluster, { name, partitions });
      this.#defining.add(key);
      try {
        const live = this.#live?.size ?? (await this.member.coordinator.brokers()).length;
        const replicationFactor = Math.max(1, Math.min(INTERNAL_TOPIC_REPLICAS, live));
        const topic: ClusterTopic = {
          id: randomBytes(8).toString('hex'),
          cluster,
          name,
          partitions,
          replicationFactor,
          configs: typeof configs === 'function' ? configs(replicationFactor) : configs,
          createdAt: Date.now(),
          ...(internal ? { internal: true } : {}),
        };
        await defineTopic(this.member.coordinator, term.epoch, topic);
        if (internal) this.options.onWarning('defined an internal topic', { cluster, topic: name, replicationFactor });
      } finally {
        this.#defining.delete(key);
      }
      return this.#waitForTopic(cluster, name);
    }
    const controller = await this.member.controller();
    if (controller === null) throw new WebkaError('NOT_COORDINATOR', `the cluster has no controller to create ${name} right now (an election is under way); retry in a moment`);
    let res: Response;
    let body: ArrayBuffer;
    try {
      res = await fetch(`${controller.url}/v1/internal/clusters/${encodeURIComponent(cluster)}/internal-topics/${encodeURIComponent(name)}`, { method: 'POST', headers: this.#brokerHeaders, signal: AbortSignal.timeout(INTERNAL_TOPIC_WAIT_MS) });
      body = await res.arrayBuffer();
    } catch (err) {
      throw new WebkaError('NOT_COORDINATOR', `the controller (broker ${controller.nodeId}) could not be asked to create ${name}: ${(err as Error).message}; retry`);
    }
    if (res.status >= 400 && res.status < 500) {
      // the controller refused it (a full partition budget): its answer, as it gave it
      const refusal = jsonOf<{ error?: { code?: string; message?: string } }>({ body: Buffer.from(body) })?.error;
      if (refusal?.code !== undefined && isErrorCode(refusal.code)) throw new WebkaError(refusal.code, refusal.message ?? `the controller refused to create ${name}`);
    }
    if (res.status >= 300) throw new WebkaError('NOT_COORDINATOR', `the controller (broker ${controller.nodeId}) could not create ${name} (HTTP ${res.status}); retry`);
    return this.#waitForTopic(cluster, name);
  }

  /**
   * Deletes a Durable Stream's topic from the cluster: here when this broker is the controller,
   * else by asking the controller (an inter-broker route). A topic already gone is no error.
   */
  async deleteStreamTopic(cluster: string, name: string): Promise<void> {
    if (this.member.term !== null) {
      try {
        return await this.deleteTopic(cluster, name);
      } catch (err) {
        if (err instanceof WebkaError && err.code === 'TOPIC_NOT_FOUND') return;
        throw err;
      }
    }
    const controller = await this.member.controller();
    if (controller === null) throw new WebkaError('NOT_COORDINATOR', `the cluster has no controller to delete ${name} right now (an election is under way); retry in a moment`);
    const res = await fetch(`${controller.url}/v1/internal/clusters/${encodeURIComponent(cluster)}/internal-topics/${encodeURIComponent(name)}`, { method: 'DELETE', headers: this.#brokerHeaders, signal: AbortSignal.timeout(INTERNAL_TOPIC_WAIT_MS) });
    await res.arrayBuffer();
    if (res.status >= 300) throw new WebkaError('NOT_COORDINATOR', `the controller (broker ${controller.nodeId}) could not delete ${name} (HTTP ${res.status}); retry`);
  }

  #hasTopic(cluster: string, name: string): boolean {
    const t = this.#metadata.topics.find((x) => x.cluster === cluster && x.name === name);
    return t !== undefined && this.broker.catalog.findTopic(cluster, name)?.id === t.id;
  }

  #waitForTopic(cluster: string, name: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#hasTopic(cluster, name)) return resolve();
      const timer = setTimeout(() => {
        off();
        reject(new WebkaError('NOT_COORDINATOR', `${name} of cluster "${cluster}" has not reached broker ${this.nodeId} yet; retry in a moment`));
      }, INTERNAL_TOPIC_WAIT_MS);
      const off = this.onChange(() => {
        if (!this.#hasTopic(cluster, name)) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** Whether this broker leads the partition now. */
  leads(topicId: string, partition: number): boolean {
    return this.#leaders.get(`${topicId}/${partition}`)?.leads === true && this.partitionState(topicId, partition)?.leader === this.nodeId;
  }

  /** The partition's state as the controller last wrote it, or undefined when it has none. */
  partitionState(topicId: string, partition: number): PartitionState | undefined {
    return this.#metadata.partitions.get(`${topicId}/${partition}`)?.value;
  }

  /** The node id of a partition's leader (-1: none), or undefined when the partition has no cluster state. */
  leaderOf(cluster: string, topic: string, partition: number): number | undefined {
    const t = this.broker.catalog.findTopic(cluster, topic);
    return t === undefined ? undefined : this.partitionState(t.id, partition)?.leader;
  }

  /**
   * Reads a partition from its leader as a consumer (not a follower: the leader records nothing
   * of it): records from `offset` (-1: the offsets alone) up to the leader's high watermark (last
   * stable offset for read_committed), waiting up to maxWaitMs for some. The group coordinator
   * reads the partitions it does not lead this way (groups/remote-partition.ts).
   */
  async readFromLeader(cluster: string, topic: string, partition: number, req: { offset: number; isolation: Isolation; maxWaitMs: number; maxBytes: number; signal: AbortSignal }): Promise<LeaderReadAnswer> {
    const leader = this.leaderOf(cluster, topic, partition);
    if (leader === undefined || leader < 0) throw new WebkaError('NOT_LEADER', `partition ${partition} of topic "${topic}" has no leader now`, { leader: leader ?? -1 });
    const url = await this.member.brokerUrl(leader);
    if (url === undefined) throw new WebkaError('NOT_LEADER', `broker ${leader}, the leader of partition ${partition} of topic "${topic}", is not registered`, { leader });
    const q = new URLSearchParams({ offset: String(req.offset), isolation: req.isolation, maxWaitMs: String(req.maxWaitMs), maxBytes: String(req.maxBytes) });
    const res = await brokerGet(
      `${url}/v1/internal/reads/${encodeURIComponent(cluster)}/${encodeURIComponent(topic)}/${partition}?${q}`,
      this.#brokerHeaders,
      req.signal,
      req.maxWaitMs + 10_000,
    );
    if (res.status !== 200) {
      const body = jsonOf<{ error?: { code?: string; message?: string } }>(res);
      throw new Error(`broker ${leader} answered ${res.status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? ''}`);
    }
    const records: DecodedRecord[] = [];
    if (res.body.length > 0) decodeRecords(res.body, 0, records);
    const header = (name: string): number => Number(res.headers[`x-webka-${name}`]);
    return { records, nextOffset: header('next-offset'), logStartOffset: header('log-start-offset'), highWatermark: header('high-watermark'), logEndOffset: header('log-end-offset') };
  }

  /** What describe shows of a partition's replication. */
  view(topicId: string, partition: number): ReplicaView {
    const s = this.partitionState(topicId, partition);
    if (s === undefined) return { leader: -1, leaderEpoch: -1, replicas: [], isr: [] };
    return { leader: s.leader, leaderEpoch: s.leaderEpoch, replicas: s.replicas, isr: s.isr };
  }

  /** A cluster topic's partition and its state, by name: TOPIC_NOT_FOUND or PARTITION_NOT_FOUND. */
  #partitionNamed(cluster: string, topic: string, partition: number): { key: string; current: Versioned<PartitionState> } {
    const t = this.#metadata.topics.find((x) => x.cluster === cluster && x.name === topic);
    if (t === undefined) throw new WebkaError('TOPIC_NOT_FOUND', `topic "${topic}" does not exist in cluster "${cluster}"`);
    const key = `${t.id}/${partition}`;
    const current = this.#metadata.partitions.get(key);
    if (current === undefined || partition >= t.partitions) throw new WebkaError('PARTITION_NOT_FOUND', `topic "${topic}" has partitions 0 to ${t.partitions - 1}, not ${partition}`);
    return { key, current };
  }

  #refOf(key: string): PartitionRef | undefined {
    const slash = key.lastIndexOf('/');
    const t = this.#metadata.topics.find((x) => x.id === key.slice(0, slash));
    return t === undefined ? undefined : { cluster: t.cluster, topic: t.name, partition: Number(key.slice(slash + 1)) };
  }

  #term(what: string): { epoch: number } {
    const term = this.member.term;
    if (term === null) throw new WebkaError('NOT_CONTROLLER', `broker ${this.nodeId} is not the controller; send ${what} to the controller or to any broker, which forwards it`);
    return term;
  }

  /**
   * Starts moving a partition's replicas to `replicas` (the first is the preferred leader); only
   * the controller may. Bad input (more replicas than live brokers, a broker twice, a broker that
   * is not live) is refused with nothing written; so is a partition already being reassigned to
   * another set. The controller's passes do the rest (cluster/partition-moves.ts).
   */
  async reassign(cluster: string, topic: string, partition: number, replicas: number[]): Promise<Reassignment> {
    const term = this.#term('reassignments');
    for (let attempt = 0; ; attempt++) {
      const { key, current } = this.#partitionNamed(cluster, topic, partition);
      try {
        checkReplicas(replicas, this.#live ?? new Set());
      } catch (err) {
        if (err instanceof MoveInputError) throw new WebkaError(err.code, err.message, { liveBrokers: [...(this.#live ?? [])].sort((a, b) => a - b) });
        throw err;
      }
      const s = current.value;
      if (reassigning(s) || s.replicas.join() === replicas.join()) {
        if (targetReplicas(s).join() === replicas.join()) return this.#reassignmentView(key, s);
        throw new WebkaError('REASSIGNMENT_IN_PROGRESS', `partition ${partition} of topic "${topic}" is being reassigned to ${JSON.stringify(targetReplicas(s))}; wait until it has finished (GET its reassignment), then ask again`, { targetReplicas: targetReplicas(s) });
      }
      const next = startReassignment(s, replicas, term.epoch);
      if (await this.#writeState(key, current, next)) {
        void this.#electLeaders();
        return this.#reassignmentView(key, next);
      }
      if (attempt >= 4 || this.member.term === null) throw new WebkaError('NOT_CONTROLLER', 'the partition state kept changing (or this broker stopped being the controller) while the reassignment was being written; retry');
      const fresh = await this.member.coordinator.partitionState(key.slice(0, key.lastIndexOf('/')), partition);
      if (fresh !== null) this.#remember(key, fresh);
    }
  }

  /** A partition's reassignment (or its replicas when none runs). */
  reassignment(cluster: string, topic: string, partition: number): Reassignment {
    const { key, current } = this.#partitionNamed(cluster, topic, partition);
    return this.#reassignmentView(key, current.value);
  }

  /** Every reassignment in progress. */
  reassignments(): Reassignment[] {
    const out: Reassignment[] = [];
    for (const [key, { value }] of this.#metadata.partitions) if (reassigning(value) && this.#refOf(key) !== undefined) out.push(this.#reassignmentView(key, value));
    return out;
  }

  #reassignmentView(key: string, s: PartitionState): Reassignment {
    const ref = this.#refOf(key)!;
    return { ...ref, inProgress: reassigning(s), targetReplicas: targetReplicas(s), adding: (s.adding ?? []).map((n) => ({ nodeId: n, inSync: s.isr.includes(n) })), removing: s.removing ?? [], replicas: s.replicas, isr: s.isr, leader: s.leader, leaderEpoch: s.leaderEpoch };
  }

  /**
   * Preferred-leader election, on the controller: every partition (or those of `filter`) whose
   * first replica is alive and in the ISR but does not lead gets it as leader (leader epoch +1).
   */
  async electPreferredLeaders(filter: { cluster?: string; topic?: string; partition?: number } = {}): Promise<PreferredLeaderResult[]> {
    const term = this.#term('preferred-leader elections');
    if (filter.topic !== undefined) this.#partitionNamed(filter.cluster ?? 'default', filter.topic, filter.partition ?? 0);
    const live = this.#live ?? new Set<number>();
    const draining = new Set(this.#drains.keys());
    const out = [];
    for (const [key, current] of [...this.#metadata.partitions]) {
      const ref = this.#refOf(key);
      if (ref === undefined || (filter.cluster !== undefined && ref.cluster !== filter.cluster) || (filter.topic !== undefined && ref.topic !== filter.topic) || (filter.partition !== undefined && ref.partition !== filter.partition)) continue;
      const s = current.value;
      const next = preferredLeader(s, live, draining, term.epoch);
      const result = next === null ? (s.leader === s.replicas[0] ? 'already-leader' : 'not-available') : (await this.#writeState(key, current, next)) ? 'elected' : 'failed';
      out.push({ ...ref, preferredLeader: s.replicas[0], leader: next !== null && result === 'elected' ? next.leader : s.leader, result } as const);
    }
    return out;
  }

  /** Starts draining a live broker (any broker may write the drains document, by compare-and-swap). */
  async drain(nodeId: number, replicas: boolean): Promise<DrainStatus> {
    if (!(this.#live ?? new Set()).has(nodeId) && !this.#drains.has(nodeId)) throw new WebkaError('BROKER_NOT_FOUND', `broker ${nodeId} is not a live broker of this cluster (live: ${[...(this.#live ?? [])].sort((a, b) => a - b).join(', ')}): name a live broker (GET /v1/brokers)`);
    await this.#changeDrains((d) => {
      d[String(nodeId)] = { replicas, since: d[String(nodeId)]?.since ?? Date.now() };
    });
    return this.drainStatus(nodeId);
  }

  /** Ends a drain: the broker may lead and join ISRs again. */
  async undrain(nodeId: number): Promise<DrainStatus> {
    if (!this.#drains.has(nodeId)) return this.drainStatus(nodeId);
    await this.#changeDrains((d) => {
      delete d[String(nodeId)];
    });
    return this.drainStatus(nodeId);
  }

  async #changeDrains(change: (brokers: Record<string, DrainEntry>) => void): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const doc = await this.member.coordinator.readDocument(DRAINS_DOCUMENT);
      const brokers = { ...(((doc?.value ?? {}) as { brokers?: Record<string, DrainEntry> }).brokers ?? {}) };
      change(brokers);
      const r = await this.member.coordinator.writeDocument(DRAINS_DOCUMENT, { brokers }, doc?.revision ?? null);
      if (r.ok) {
        this.#drains = new Map(Object.entries(brokers).map(([k, v]) => [Number(k), v]));
        return;
      }
    }
    throw new WebkaError('CONCURRENT_REQUEST', 'the list of brokers being drained kept changing while this change was written; retry');
  }

  /** How far a broker's drain has come (also for a broker not being drained: what it holds). */
  drainStatus(nodeId: number): DrainStatus {
    const entry = this.#drains.get(nodeId);
    if (entry === undefined && !(this.#live ?? new Set()).has(nodeId)) throw new WebkaError('BROKER_NOT_FOUND', `broker ${nodeId} is neither live nor being drained (live: ${[...(this.#live ?? [])].sort((a, b) => a - b).join(', ')})`);
    const live = this.#live ?? new Set<number>();
    let leaderships = 0;
    let inSyncReplicas = 0;
    let hostedReplicas = 0;
    const blocked: PartitionRef[] = [];
    for (const [key, { value: s }] of this.#metadata.partitions) {
      if (this.#refOf(key) === undefined) continue;
      if (s.leader === nodeId) {
        leaderships++;
        if (!s.isr.some((n) => n !== nodeId && live.has(n) && !this.#drains.has(n))) blocked.push(this.#refOf(key)!);
      }
      if (s.isr.includes(nodeId)) inSyncReplicas++;
      if (s.replicas.includes(nodeId)) hostedReplicas++;
    }
    const replicas = entry?.replicas === true;
    return { nodeId, draining: entry !== undefined, replicas, since: entry?.since ?? null, leaderships, inSyncReplicas, hostedReplicas, done: entry !== undefined && leaderships === 0 && inSyncReplicas === 0 && (!replicas || hostedReplicas === 0), blocked };
  }

  /** The live brokers' registrations as the coordinator last reported them, by node id. */
  liveBrokers(): readonly BrokerRegistration[] {
    return this.#liveBrokers;
  }

  /** Replication's state for the metrics, read from the partition states and the partitions led. */
  stats(): ReplicationStats {
    const topics = new Map(this.#metadata.topics.map((t) => [t.id, t]));
    const controller = this.member.term !== null;
    const live = this.#live;
    let underReplicated = 0;
    let offline = 0;
    for (const { value } of this.#metadata.partitions.values()) {
      if (value.leader === this.nodeId && value.isr.length < value.replicas.length) underReplicated++;
      if (controller && (value.leader < 0 || (live !== null && !live.has(value.leader)))) offline++;
    }
    const followerLag: ReplicationStats['followerLag'] = [];
    for (const [key, leader] of this.#leaders) {
      if (!leader.leads) continue;
      const slash = key.lastIndexOf('/');
      const t = topics.get(key.slice(0, slash));
      if (t === undefined) continue;
      for (const f of leader.followerLag()) followerLag.push({ cluster: t.cluster, topic: t.name, partition: Number(key.slice(slash + 1)), replica: f.replica, lag: f.lag });
    }
    return { underReplicated, offline, followerLag };
  }

  /** Calls fn after every change of the metadata; returns an unsubscribe. */
  onChange(fn: () => void): () => void {
    this.#changed.add(fn);
    return () => this.#changed.delete(fn);
  }

  close(): void {
    this.#stopWatching?.();
    this.#stopWatching = null;
    if (this.#lagTimer !== null) clearInterval(this.#lagTimer);
    if (this.#electionTimer !== null) clearInterval(this.#electionTimer);
    this.#stopWatchingBrokers?.();
    this.#stopWatchingDrains?.();
    for (const key of [...this.#fetchers.keys()]) this.#stopFollowing(key);
    this.#channelsMade?.close();
  }
}

/** The hooks of a partition this broker holds no replica of: it takes no appends. */
function notLeader(nodeId: number, index: number, leader: number): ReplicaHooks {
  const err = (): WebkaError =>
    leader >= 0
      ? new WebkaError('NOT_LEADER', `broker ${nodeId} holds no replica of partition ${index}; its leader is broker ${leader}`, { leader })
      : new WebkaError('NOT_LEADER', `partition ${index} has no leader right now (it was just made, or no in-sync replica is alive); retry in a moment`, { leader });
  return {
    leads: false,
    checkAppend: () => {
      throw err();
    },
    // only asked after an append this broker took while it held a replica
    awaitCommitted: () => Promise.reject(writtenNotCommitted(nodeId, index, leader)),
  };
}
