/**
 * The Coordinator: what a broker in a cluster needs from a coordination service (etcd today,
 * PostgreSQL or ZooKeeper later), and nothing more. Brokers register under a lease that lapses
 * when they stop renewing it; one controller is elected at a time, and each election raises the
 * controller epoch; partition state changes only by compare-and-swap on the key's revision and
 * only while the writer's controller epoch is still the current one, so a controller that lost
 * its election (a zombie) cannot change anything.
 */
import { WebkaError } from '../errors.js';

/**
 * A broker as registered: its node id, the URL that other brokers and clients reach it at, and
 * its Kafka listener as Kafka clients should reach it (absent when the listener is off).
 */
export interface BrokerRegistration {
  nodeId: number;
  url: string;
  kafka?: { host: string; port: number };
}

/** A partition's replicated state, written by the controller. */
export interface PartitionState {
  /** Node id of the leader, or -1 when no replica can lead. */
  leader: number;
  /** Raised on every leader change; replicas refuse requests carrying an older one. */
  leaderEpoch: number;
  /** Node ids of the assigned replicas, preferred leader first. */
  replicas: number[];
  /** Node ids of the in-sync replicas (a subset of `replicas`, the leader included). */
  isr: number[];
  /** The controller epoch of the write that produced this state. */
  controllerEpoch: number;
  /**
   * While a reassignment runs (cluster/partition-moves.ts): the replicas being added, which catch
   * up and join the ISR, and the ones removed once they all have. `replicas` then holds the
   * target first and the replicas being removed after it. Absent otherwise.
   */
  adding?: number[];
  removing?: number[];
}

/**
 * A topic as the cluster defines it: written once by the controller, then every broker creates
 * its local copy from it (the same id, so that every replica's directory and Kafka topic id agree).
 */
export interface ClusterTopic {
  id: string;
  cluster: string;
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string | number>;
  createdAt: number;
  /** An internal topic (`__consumer_offsets`): created by the brokers themselves, hidden from listings. */
  internal?: boolean;
}

/** What every broker follows: the cluster's topics and each partition's state, by `<topicId>/<partition>`. */
export interface ClusterMetadata {
  topics: ClusterTopic[];
  partitions: Map<string, Versioned<PartitionState>>;
  /** Ids of topics deleted from the cluster: a broker that still holds a copy deletes it. */
  deletedTopics: ReadonlySet<string>;
}

/** A value with the revision it was stored at; give the revision back to change it. */
export interface Versioned<T> {
  value: T;
  /** The coordination service's revision of the key (etcd's mod_revision): decimal digits, greater for every later write. */
  revision: string;
}

/** The outcome of a compare-and-swap: stored at `revision`, or refused with what is there now. */
export type CasResult =
  | { ok: true; revision: string }
  | { ok: false; reason: 'conflict'; current: Versioned<PartitionState> | null };

/** Being controller: the epoch to fence every write with, and how the office ends. */
export interface ControllerTerm {
  nodeId: number;
  epoch: number;
  /** Resolves when this term is over (resigned, lease lapsed, or the key taken away). */
  readonly ended: Promise<void>;
  /** Steps down; another campaigner can then win. */
  resign(): Promise<void>;
}

/** Thrown when a write carries a controller epoch that is no longer the current one. */
export class FencedError extends Error {
  constructor(
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(`controller epoch ${epoch} is fenced: the current controller epoch is ${currentEpoch}`);
    this.name = 'FencedError';
  }
}

/**
 * Thrown when the coordination service cannot be reached or answers with an error. A request
 * that meets it (a broker cut off from etcd) answers COORDINATION_UNAVAILABLE: 503, retry.
 */
export class CoordinatorError extends WebkaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('COORDINATION_UNAVAILABLE', message);
    this.name = 'CoordinatorError';
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export interface Coordinator {
  /**
   * Registers this broker under the session's lease; the registration disappears when the lease
   * lapses (the process stopped renewing it) or on close(). Registering a node id that another
   * live session holds is refused with a CoordinatorError.
   */
  registerBroker(broker: BrokerRegistration): Promise<void>;
  /** The live brokers, by node id. */
  brokers(): Promise<BrokerRegistration[]>;
  /**
   * Calls `onChange` with the live brokers now and after every change, until the returned
   * function is called.
   */
  watchBrokers(onChange: (brokers: BrokerRegistration[]) => void): () => void;
  /** Waits until this node is controller, then returns the term with its (raised) epoch. */
  campaign(nodeId: number): Promise<ControllerTerm>;
  /** The current controller and epoch, or null while there is none. */
  controller(): Promise<{ nodeId: number; epoch: number } | null>;
  /** A partition's state and revision, or null when it has none yet. */
  partitionState(topic: string, partition: number): Promise<Versioned<PartitionState> | null>;
  /**
   * Writes a partition's state if the key's revision is still `expectedRevision` (null: the key
   * must not exist) and `controllerEpoch` is still the current controller epoch. A stale epoch
   * throws FencedError; a changed key returns a conflict with the current state.
   */
  writePartitionState(topic: string, partition: number, state: PartitionState, expectedRevision: string | null): Promise<CasResult>;
  /**
   * Defines a topic if no topic of that id exists and `controllerEpoch` is still the current
   * controller epoch (else FencedError). Returns false, writing nothing, when it exists already.
   */
  writeTopic(topic: ClusterTopic, controllerEpoch: number): Promise<boolean>;
  /**
   * Replaces a topic's definition (its configs, a larger partition count) if it exists and
   * `controllerEpoch` is still current (else FencedError). False when there is no such topic.
   */
  updateTopic(topic: ClusterTopic, controllerEpoch: number): Promise<boolean>;
  /**
   * Deletes a topic and its partition states, leaving a tombstone of its id (so that a broker
   * that was away when it happened deletes its copy on return), if it exists and
   * `controllerEpoch` is still current (else FencedError). False when there is no such topic.
   */
  deleteTopic(topic: ClusterTopic, controllerEpoch: number): Promise<boolean>;
  /** The current controller epoch (0 before any election). */
  controllerEpoch(): Promise<number>;
  /**
   * Calls `onChange` with the topics and partition states now and after every change, until the
   * returned function is called.
   */
  watchMetadata(onChange: (metadata: ClusterMetadata) => void): () => void;
  /**
   * A document every broker of the cluster shares (the principals, keys and ACLs: "auth"), with
   * its revision, or null while it has none. Revisions of one document increase (decimal).
   */
  readDocument(name: string): Promise<Versioned<unknown> | null>;
  /**
   * Writes a document if its revision is still `expectedRevision` (null: it must not exist yet).
   * Any broker may write (no controller epoch): the compare-and-swap alone keeps changes from
   * being lost. Refused: what is there now, to make the change again on.
   */
  writeDocument(name: string, value: unknown, expectedRevision: string | null): Promise<{ ok: true; revision: string } | { ok: false; current: Versioned<unknown> | null }>;
  /**
   * Deletes a document if its revision is still `expectedRevision` (null: whatever it is). False
   * when it was changed meanwhile, or is not there.
   */
  deleteDocument(name: string, expectedRevision: string | null): Promise<boolean>;
  /** Calls `onChange` with the document now and after every change, until the returned function is called. */
  watchDocument(name: string, onChange: (doc: Versioned<unknown> | null) => void): () => void;
  /**
   * Calls `onChange` with every document whose name starts with `prefix`, by name, now and after
   * every change (each call has them all), until the returned function is called.
   */
  watchDocuments(prefix: string, onChange: (docs: Map<string, Versioned<unknown>>) => void): () => void;
  /**
   * Calls `onChange` with each document whose name starts with `prefix` as it changes from now on
   * (null: deleted), until the returned function is called; not with the documents as they are.
   * `onReset` is called before the first change and whenever changes may have been missed
   * (the watch was lost and starts again): what the caller knew of them may then be stale.
   */
  watchDocumentChanges(prefix: string, onChange: (name: string, doc: Versioned<unknown> | null) => void, onReset: () => void): () => void;
  /** When (Date.now()) the coordination service last answered a request, or null before it has. */
  lastContactMs(): number | null;
  /** Stops renewing the lease and revokes it (this broker's registration and term end now). */
  close(): Promise<void>;
}
