/**
 * The transaction coordinator (Kafka's KIP-98 TransactionCoordinator, over HTTP): hands out a
 * transactional id's producer id and epoch (a new epoch fences the old one and aborts what it
 * left open), lets the transaction's produce requests and consumer offsets join it, and ends it
 * in two phases:
 *
 *   1. PrepareCommit (or PrepareAbort) is written to `__transaction_state` and fsynced: the
 *      decision is taken;
 *   2. a marker is written to every partition the transaction touched, and on commit its offsets
 *      to `__consumer_offsets`; once all are fsynced, CompleteCommit (CompleteAbort) is written.
 *
 * A crash between 1 and 2 leaves the Prepare state in the log: recover() finishes it at start
 * (a marker already written is not written twice: Partition.writeMarker). An open transaction
 * older than its timeoutMs is aborted by a timer, with a new epoch that fences its producer.
 *
 * Created by the HTTP layer over the broker and the group coordinator; recover() once at start,
 * close() with the app. Requests for one transactional id run one at a time (#serial); a
 * produce holds the transaction open (#inflight) from joining until its appends are done, so no
 * marker can be written before a batch of the transaction it ends.
 */
import type { Broker } from '../broker.js';
import type { GroupCoordinator } from '../groups/group-coordinator.js';
import type { OffsetCommit } from '../groups/offset-store.js';
import type { MarkerType } from '../storage/control-record.js';
import type { TxnJoin } from '../partitions/produce-path.js';
import { WebkaError } from '../errors.js';
import { TxnStateLog, TXN_TOPIC, type TxnMetadata, type TxnPartition } from './txn-state-log.js';
import { groupPartition } from '../groups/offset-store.js';

const NAME = /^[a-zA-Z0-9._-]{1,249}$/;
export const MIN_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 900_000;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Who asks: transactional ids belong to the principal that first initialised them. */
export interface TxnCaller {
  name: string;
  superuser: boolean;
}

export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

export interface TxnDescription {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  state: TxnMetadata['state'];
  timeoutMs: number;
  partitions: TxnPartition[];
  offsets: Array<{ groupId: string; topic: string; partition: number; offset: number }>;
  startedAt: number | null;
  ageMs: number | null;
  principal: string;
}

/**
 * In a cluster: what the coordinator asks of the brokers that lead the partitions a transaction
 * touched and of the groups' coordinators (http/txn-routing.ts, over inter-broker routes).
 * `elsewhere` names the broker to ask, or undefined when this broker does it itself.
 */
export interface TxnRemote {
  /** The leader of a partition when another broker leads it (-1: none now); undefined: this broker. */
  leaderElsewhere(cluster: string, topic: string, partition: number): number | undefined;
  /** The coordinator of a group when another broker is it (-1: none now); undefined: this broker. */
  groupElsewhere(cluster: string, groupId: string): number | undefined;
  /** Where the producer's open transaction starts in each partition (-1: none), as the leader sees it. */
  firstOffsets(cluster: string, leader: number, producerId: number, partitions: TxnPartition[]): Promise<number[]>;
  /** Writes the markers at the leader, each only where the open transaction starts at its firstOffset; resolves once committed. */
  writeMarkers(cluster: string, leader: number, marker: { producerId: number; producerEpoch: number; type: MarkerType }, partitions: Array<TxnPartition & { firstOffset: number | undefined }>): Promise<void>;
  /** The end of the group's `__consumer_offsets` partition at its coordinator. */
  offsetsEnd(cluster: string, coordinator: number, groupId: string): Promise<number>;
  /** At the id's coordinator: throws unless the producer holds the id and the partitions are in its open transaction (checkJoined). */
  verifyJoined(cluster: string, transactionalId: string, input: { producer: ProducerIdentity; caller: TxnCaller; topic: string; partitions: number[] }): Promise<void>;
  /** At the id's coordinator: adds offsets that this broker, the group's coordinator, has checked (a Kafka TxnOffsetCommit). */
  addOffsets(cluster: string, transactionalId: string, input: { producer: ProducerIdentity; caller: TxnCaller; groupId: string; offsets: OffsetCommit[] }): Promise<void>;
  /** Commits the offsets at the group's coordinator, leaving any written at or past `end` (null: all). */
  commitOffsets(cluster: string, coordinator: number, groupId: string, offsets: OffsetCommit[], end: number | null): Promise<void>;
}

interface Inflight {
  count: number;
  idle: Array<() => void>;
}

export class TransactionCoordinator {
  #broker: Broker;
  #groups: GroupCoordinator;
  #log: TxnStateLog;
  /** cluster -> transactionalId -> its latest durable state */
  #txns = new Map<string, Map<string, TxnMetadata>>();
  #chains = new Map<string, Promise<unknown>>();
  #inflight = new Map<string, Inflight>();
  /** The fsync of an id's latest state record appended without waiting for it (#append). */
  #unsynced = new Map<string, () => Promise<void>>();
  /** Transactions whose ending has begun: no produce may join them any more. */
  #ending = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** In a cluster: the brokers to ask for partitions and groups led elsewhere (null: one broker). */
  #remote: TxnRemote | null;
  /** `<cluster>/<state partition>` -> the reload under way after this broker became its leader */
  #loading = new Map<string, Promise<void>>();

  constructor(broker: Broker, groups: GroupCoordinator, opts: { timeoutCheckMs?: number; remote?: TxnRemote } = {}) {
    this.#broker = broker;
    this.#groups = groups;
    this.#remote = opts.remote ?? null;
    this.#log = new TxnStateLog(broker, this.#remote !== null);
    const every = opts.timeoutCheckMs ?? 1_000;
    if (every > 0) this.#timer = setInterval(() => void this.abortExpired(Date.now()), every).unref();
  }

  #cluster(cluster: string): Map<string, TxnMetadata> {
    let m = this.#txns.get(cluster);
    if (m === undefined) {
      this.#broker.catalog.getCluster(cluster);
      this.#txns.set(cluster, (m = this.#log.replay(cluster)));
    }
    return m;
  }

  /**
   * Replays every cluster's transaction state and finishes the transactions a crash left between
   * their decision and their last marker. Resolves when they are complete; a failure (a
   * partition offline) is reported and retried by the timer.
   */
  async recover(): Promise<void> {
    // in a cluster each state partition's leader finishes its transactions when it takes over
    if (this.#remote !== null) return;
    for (const c of this.#broker.listClusters()) {
      for (const m of this.#cluster(c.name).values()) {
        if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') {
          await this.#serial(c.name, m.transactionalId, () => this.#finish(c.name, m)).catch((err: unknown) => {
            this.#broker.options.onWarning?.('transaction could not be completed at start', { cluster: c.name, transactionalId: m.transactionalId, error: (err as Error).message });
          });
        }
      }
      await this.#adoptOrphans(c.name).catch((err: unknown) => {
        this.#broker.options.onWarning?.('open transactions could not be matched to their transactional ids at start', { cluster: c.name, error: (err as Error).message });
      });
    }
  }

  /**
   * In a cluster, when this broker becomes the leader of a `__transaction_state` partition (and
   * so the coordinator of its transactional ids): waits until everything in its copy is
   * committed, reads the partition again into memory (replacing what it held of those ids), then
   * finishes the endings a former coordinator left between decision and markers. Calls for those
   * ids wait for it (ready()).
   */
  takeOver(cluster: string, index: number): Promise<void> {
    const key = `${cluster}/${index}`;
    const previous = this.#loading.get(key) ?? Promise.resolve();
    const run = previous.then(async () => {
      const p = this.#broker.topicPartitions(cluster, TXN_TOPIC)[index];
      if (p === undefined) return;
      await p.flush(p.log.nextOffset);
      const txns = this.#cluster(cluster);
      const mine = this.#log.replayPartition(p);
      const count = this.#broker.topicPartitions(cluster, TXN_TOPIC).length;
      for (const id of [...txns.keys()]) if (groupPartition(id, count) === index) txns.delete(id);
      for (const [id, m] of mine) txns.set(id, m);
    });
    const loaded = run.catch((err: unknown) => {
      this.#broker.options.onWarning?.('reloading transaction state failed (the partition moved again?)', { cluster, partition: index, error: (err as Error).message });
    });
    this.#loading.set(key, loaded);
    void loaded.then(() => {
      if (this.#loading.get(key) === loaded) this.#loading.delete(key);
      // endings left half-done by the former coordinator: the timer retries what fails here
      for (const m of [...this.#cluster(cluster).values()]) {
        if ((m.state === 'PrepareCommit' || m.state === 'PrepareAbort') && this.#coordinates(cluster, m.transactionalId)) {
          void this.#serial(cluster, m.transactionalId, async () => {
            const cur = this.#cluster(cluster).get(m.transactionalId);
            if (cur !== undefined && (cur.state === 'PrepareCommit' || cur.state === 'PrepareAbort') && this.#coordinates(cluster, cur.transactionalId)) await this.#finish(cluster, cur);
          }).catch((err: unknown) => {
            this.#broker.options.onWarning?.('transaction could not be completed on taking over', { cluster, transactionalId: m.transactionalId, error: (err as Error).message });
          });
        }
      }
    });
    return loaded;
  }

  /** Resolves once the id's state partition is not being read again (takeOver). */
  async ready(cluster: string, transactionalId: string): Promise<void> {
    if (this.#remote === null || this.#broker.catalog.findTopic(cluster, TXN_TOPIC) === undefined) return;
    const n = this.#broker.topicPartitions(cluster, TXN_TOPIC).length;
    await this.#loading.get(`${cluster}/${groupPartition(transactionalId, n)}`);
  }

  /** Whether this broker coordinates the id now: always on one broker; in a cluster, when it leads the id's state partition. */
  #coordinates(cluster: string, transactionalId: string): boolean {
    if (this.#remote === null) return true;
    const p = this.#log.partitionOf(cluster, transactionalId);
    return p !== undefined && p.replica !== null && p.replica.leads && !this.#loading.has(`${cluster}/${p.index}`);
  }

  /**
   * After a crash: a partition may hold an open transaction whose join the crash lost (the join
   * and the data are fsynced in the same round, each in its own file: see join). Each such
   * transaction of a producer this coordinator knows is made part of its transactional id's
   * state as a durable join would have made it: added to the open transaction, or opening one
   * when the last durable state ended the previous one (its data lies after that ending's
   * markers: #finish never marks it). The producer may then carry on (a retry of the lost
   * produce is a duplicate, answered with the stored offsets), commit or abort; a producer
   * that is gone is aborted by the timeout. Data of an epoch the id no longer holds is aborted
   * (that epoch can never commit). Replicated partitions are left alone: their joins are durable first.
   */
  async #adoptOrphans(cluster: string): Promise<void> {
    const byProducer = new Map<number, TxnMetadata>();
    for (const m of this.#cluster(cluster).values()) byProducer.set(m.producerId, m);
    const joins = new Map<string, TxnPartition[]>();
    const flushes: Array<Promise<void>> = [];
    for (const t of this.#broker.listTopics(cluster)) {
      if (t.name === TXN_TOPIC) continue;
      const partitions = this.#broker.topicPartitions(cluster, t.name);
      for (let index = 0; index < partitions.length; index++) {
        const p = partitions[index];
        if (p.replica !== null) continue;
        for (const [producerId] of p.txns.ongoing()) {
          const m = byProducer.get(producerId);
          const epoch = p.producers.get(producerId)?.epoch;
          if (m === undefined || epoch === undefined || epoch > m.producerEpoch) continue;
          if (epoch < m.producerEpoch) {
            const offset = p.writeMarker(producerId, epoch, 'abort');
            if (offset >= 0) flushes.push(p.flush(offset + 1));
          } else if (m.state === 'Ongoing' || m.state === 'Empty' || m.state === 'CompleteCommit' || m.state === 'CompleteAbort') {
            if (m.state === 'Ongoing' && has(m.partitions, t.name, index)) continue;
            let list = joins.get(m.transactionalId);
            if (list === undefined) joins.set(m.transactionalId, (list = []));
            list.push({ topic: t.name, partition: index });
          }
        }
      }
    }
    for (const [id, added] of joins) {
      await this.#serial(cluster, id, async () => {
        const next = this.#begin(this.#cluster(cluster).get(id)!);
        await this.#write(cluster, { ...next, partitions: [...next.partitions, ...added] });
      });
    }
    await Promise.all(flushes);
  }

  /** Runs fn after every earlier call for the same transactional id. */
  #serial<T>(cluster: string, id: string, fn: () => Promise<T>): Promise<T> {
    const key = `${cluster}\u0000${id}`;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return next;
  }

  #check(cluster: string, id: unknown, caller: TxnCaller): { id: string; m: TxnMetadata | undefined } {
    if (typeof id !== 'string' || !NAME.test(id)) throw new WebkaError('INVALID_REQUEST', 'transactionalId must be 1 to 249 characters of [a-zA-Z0-9._-]');
    if (!this.#coordinates(cluster, id)) {
      throw new WebkaError('NOT_COORDINATOR', `this broker does not coordinate transactional id "${id}" now (its ${TXN_TOPIC} partition moved, or is being taken over); send the call to any broker, which forwards it, and retry`);
    }
    const m = this.#cluster(cluster).get(id);
    if (m !== undefined && m.principal !== caller.name && !caller.superuser) {
      throw new WebkaError('FORBIDDEN', `transactional id "${id}" belongs to another principal; pick another id`);
    }
    return { id, m };
  }

  #current(cluster: string, id: string, caller: TxnCaller, producer: ProducerIdentity): TxnMetadata {
    const m = this.#currentOrEnding(cluster, id, caller, producer);
    if (this.#ending.has(`${cluster}\u0000${id}`)) throw new WebkaError('CONCURRENT_TRANSACTIONS', `transaction "${id}" is ending; retry once it has`);
    return m;
  }

  /** The id's state when producer holds it and its ending is not decided (Prepare states refuse). */
  #currentOrEnding(cluster: string, id: string, caller: TxnCaller, producer: ProducerIdentity): TxnMetadata {
    const { m } = this.#check(cluster, id, caller);
    if (m === undefined) throw new WebkaError('TRANSACTION_NOT_FOUND', `transactional id "${id}" is not initialised in cluster "${cluster}"; POST /v1/clusters/${cluster}/transactions first`);
    if (producer.producerId !== m.producerId || producer.producerEpoch !== m.producerEpoch) {
      throw new WebkaError('PRODUCER_FENCED', `producer ${producer.producerId} epoch ${producer.producerEpoch} no longer holds transactional id "${id}" (current: producer ${m.producerId} epoch ${m.producerEpoch})`, { producerEpoch: m.producerEpoch });
    }
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') throw new WebkaError('CONCURRENT_TRANSACTIONS', `transaction "${id}" is ending; retry once it has`);
    return m;
  }

  async #write(cluster: string, m: TxnMetadata): Promise<void> {
    if (this.#closed) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
    m.updatedAt = Date.now();
    await this.#log.write(cluster, m);
    this.#cluster(cluster).set(m.transactionalId, m);
    this.#unsynced.delete(`${cluster}\u0000${m.transactionalId}`);
  }

  /**
   * Appends a state without waiting for its fsync; #durable gives the wait to whoever must not
   * answer before it. An id's records share one partition, whose durable part is a prefix, so
   * any later record of the id that is waited for covers this one too.
   */
  #append(cluster: string, m: TxnMetadata): void {
    if (this.#closed) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
    m.updatedAt = Date.now();
    const flush = this.#log.append(cluster, m);
    this.#cluster(cluster).set(m.transactionalId, m);
    this.#unsynced.set(`${cluster}\u0000${m.transactionalId}`, flush);
  }

  /** Waits until the id's latest state record is durable. */
  #durable(cluster: string, id: string): () => Promise<void> {
    const flush = this.#unsynced.get(`${cluster}\u0000${id}`);
    return flush ?? (() => Promise.resolve());
  }

  /**
   * Appends a Complete state without waiting for its fsync: the id's next record (written, and
   * waited for, before anything else of the id is done) lies after it in the same partition, so
   * its fsync covers this one. Until then a crash leaves the Prepare state, whose ending
   * recover() repeats: markers already written are not written twice, offsets are written again
   * with the same values.
   */
  #complete(cluster: string, m: TxnMetadata): void {
    this.#append(cluster, m);
  }

  // ---- InitProducerId

  /**
   * Kafka's InitProducerId for a transactional id: a new epoch of its producer id (fencing the
   * old epoch at once), after aborting, or finishing, the transaction the old epoch left.
   */
  init(cluster: string, transactionalId: unknown, timeoutMs: unknown, caller: TxnCaller): Promise<ProducerIdentity> {
    const timeout = timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : timeoutMs;
    if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < MIN_TIMEOUT_MS || timeout > MAX_TIMEOUT_MS) {
      throw new WebkaError('INVALID_REQUEST', `timeoutMs must be an integer from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}`);
    }
    const { id } = this.#check(cluster, transactionalId, caller);
    return this.#serial(cluster, id, async () => {
      const { m } = this.#check(cluster, id, caller);
      if (m !== undefined && m.state === 'Ongoing') {
        await this.#end(cluster, m, 'abort');
      } else if (m !== undefined && (m.state === 'PrepareCommit' || m.state === 'PrepareAbort')) {
        await this.#finish(cluster, m);
      }
      // the new epoch once the old one's transaction is ended (an ending refused for now, while a
      // partition has no leader, takes none); the producer id is the transactional id's
      // principal's: no one else may write with it
      const fresh = await this.#broker.allocateProducer(cluster, id, m?.principal ?? caller.name);
      await this.#write(cluster, {
        transactionalId: id,
        producerId: fresh.producerId,
        producerEpoch: fresh.producerEpoch,
        timeoutMs: timeout,
        state: 'Empty',
        partitions: [],
        offsets: [],
        startedAt: -1,
        updatedAt: Date.now(),
        principal: m?.principal ?? caller.name,
      });
      return fresh;
    });
  }

  // ---- joining a transaction

  /**
   * A produce joins the transaction with the partitions it writes to (Kafka's
   * AddPartitionsToTxn, implicit here): new partitions are appended to the state log before the
   * data, and made durable in the same commit round as the data (the produce's answer waits for
   * both: TxnJoin.durable). A crash may keep the data and lose the join; recover() then finds
   * the open transaction in the partition and joins it as if the join had been durable
   * (#adoptOrphans). In a cluster (replicated partitions) the join is durable before the data,
   * as replicas of the data may outlive this broker's state log. Returns the release the
   * produce calls when its appends are done.
   */
  async join(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, topic: string, partitions: number[]): Promise<TxnJoin> {
    const m0 = this.#current(cluster, transactionalId, caller, producer);
    // the common case, partitions already in the open transaction: no await before the hold
    if (m0.state === 'Ongoing' && partitions.every((p) => has(m0.partitions, topic, p))) {
      return { release: this.#hold(cluster, transactionalId), durable: this.#durable(cluster, transactionalId) };
    }
    return this.#serial(cluster, transactionalId, async () => {
      const m = this.#current(cluster, transactionalId, caller, producer);
      const added = partitions.filter((p) => !has(m.partitions, topic, p)).map((p) => ({ topic, partition: p }));
      if (m.state !== 'Ongoing' || added.length > 0) {
        const next = this.#begin(m);
        const joined = { ...next, partitions: [...next.partitions, ...added] };
        if (partitions.some((p) => this.#broker.partition(cluster, topic, p).replica !== null)) await this.#write(cluster, joined);
        else this.#append(cluster, joined);
      }
      // taken inside the serial section: an ending waits for it, never the other way round
      return { release: this.#hold(cluster, transactionalId), durable: this.#durable(cluster, transactionalId) };
    });
  }

  /**
   * A Kafka transactional Produce at a partition's leader (Kafka clients add the partitions to
   * the transaction at its coordinator first: AddPartitionsToTxn). Joins here when this broker
   * coordinates the id. In a cluster, elsewhere, the coordinator is asked whether the partitions
   * are in the producer's open transaction (Kafka's KIP-890 verification), unless each already
   * holds that producer's open transaction (a verified batch started it, and no marker ended it):
   * a batch can never open a transaction that its coordinator does not know of, and so will never end.
   */
  async joinAtLeader(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, topic: string, partitions: number[]): Promise<TxnJoin> {
    if (this.#remote === null || this.#coordinates(cluster, transactionalId)) return this.join(cluster, transactionalId, producer, caller, topic, partitions);
    const open = partitions.every((index) => {
      const p = this.#broker.partition(cluster, topic, index);
      return p.txns.firstOffset(producer.producerId) >= 0 && p.producers.get(producer.producerId)?.epoch === producer.producerEpoch;
    });
    if (!open) await this.#remote.verifyJoined(cluster, transactionalId, { producer, caller, topic, partitions });
    return { release: () => undefined, durable: () => Promise.resolve() };
  }

  /** Throws unless the producer holds the id, no ending is under way, and the partitions are in its open transaction. */
  checkJoined(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, topic: string, partitions: number[]): void {
    // an ending under way is no reason to refuse: the produce that joined these partitions (an
    // HTTP produce's shares) holds it off until its appends are done. A Prepare state refuses.
    const m = this.#currentOrEnding(cluster, transactionalId, caller, producer);
    const missing = m.state === 'Ongoing' ? partitions.filter((p) => !has(m.partitions, topic, p)) : partitions;
    if (missing.length > 0) {
      throw new WebkaError('INVALID_TXN_STATE', `partition ${missing.join(', ')} of topic "${topic}" is not part of transaction "${transactionalId}"; add it first (AddPartitionsToTxn)`);
    }
  }

  /** The transaction's state when new work arrives: an Ongoing one as it is, else a new one. */
  #begin(m: TxnMetadata): TxnMetadata {
    if (m.state === 'Ongoing') return m;
    return { ...m, state: 'Ongoing', partitions: [], firstOffsets: undefined, offsetsEnd: undefined, offsets: [], startedAt: Date.now() };
  }

  /**
   * Kafka's AddOffsetsToTxn + TxnOffsetCommit: consumer offsets that the group sees only once
   * the transaction commits. checkMember checks the member's generation now, as a commit's
   * would be (an HTTP group's or a Kafka-protocol group's rules); it throws to refuse.
   */
  addOffsets(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, input: { groupId: string; offsets: OffsetCommit[]; checkMember: () => void | Promise<void> }): Promise<void> {
    return this.#serial(cluster, transactionalId, async () => {
      const m = this.#current(cluster, transactionalId, caller, producer);
      await input.checkMember();
      this.#current(cluster, transactionalId, caller, producer);
      const next = this.#begin(m);
      const offsets = next.offsets.filter((o) => !(o.groupId === input.groupId && input.offsets.some((n) => n.topic === o.topic && n.partition === o.partition)));
      for (const o of input.offsets) offsets.push({ groupId: input.groupId, topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null });
      await this.#write(cluster, { ...next, offsets });
    });
  }

  /**
   * A Kafka TxnOffsetCommit, which clients send to the group's coordinator: checks the member
   * here, then adds the offsets here when this broker coordinates the transactional id too, else
   * (in a cluster) at the id's coordinator.
   */
  async addOffsetsAtGroup(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, input: { groupId: string; offsets: OffsetCommit[]; checkMember: () => void }): Promise<void> {
    if (this.#remote === null || this.#coordinates(cluster, transactionalId)) return this.addOffsets(cluster, transactionalId, producer, caller, input);
    input.checkMember();
    await this.#remote.addOffsets(cluster, transactionalId, { producer, caller, groupId: input.groupId, offsets: input.offsets });
  }

  /** Throws unless producer holds the initialised transactional id and no ending is under way. */
  verify(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller): void {
    this.#current(cluster, transactionalId, caller, producer);
  }

  #hold(cluster: string, id: string): () => void {
    const key = `${cluster}\u0000${id}`;
    let f = this.#inflight.get(key);
    if (f === undefined) this.#inflight.set(key, (f = { count: 0, idle: [] }));
    f.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      f.count--;
      if (f.count === 0) {
        this.#inflight.delete(key);
        for (const fn of f.idle) fn();
      }
    };
  }

  /** Resolves once no produce of the transaction is between joining and appending. */
  #idle(cluster: string, id: string): Promise<void> {
    const f = this.#inflight.get(`${cluster}\u0000${id}`);
    if (f === undefined) return Promise.resolve();
    return new Promise((resolve) => f.idle.push(resolve));
  }

  // ---- EndTxn

  /** Commits or aborts the open transaction. Ending one that already ended the same way answers as it did. */
  end(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, type: MarkerType): Promise<TxnDescription> {
    this.#check(cluster, transactionalId, caller);
    return this.#serial(cluster, transactionalId, async () => {
      const m = this.#current(cluster, transactionalId, caller, producer);
      const done = type === 'commit' ? 'CompleteCommit' : 'CompleteAbort';
      if (m.state === 'Empty' || m.state === done) return this.#describe(m);
      if (m.state !== 'Ongoing') {
        throw new WebkaError('INVALID_TXN_STATE', `transaction "${transactionalId}" already ended with ${m.state === 'CompleteCommit' ? 'a commit' : 'an abort'}; it cannot ${type} now`);
      }
      return this.#describe(await this.#end(cluster, this.#cluster(cluster).get(transactionalId)!, type));
    });
  }

  /**
   * Phase 1 then phase 2 (see the file comment), once the produces that joined are appended.
   * Runs in the id's serial section; m is its current state. `fence` gives the producer identity
   * an abort fences with: asked for only once the ending can be decided (where each partition's
   * transaction starts is known), so that an attempt refused before it (no leader yet) takes no
   * epoch, and kept in the Prepare state, so that an ending done again still fences.
   */
  async #end(cluster: string, m: TxnMetadata, type: MarkerType, fence?: () => Promise<ProducerIdentity>): Promise<TxnMetadata> {
    const key = `${cluster}\u0000${m.transactionalId}`;
    this.#ending.add(key);
    try {
      await this.#idle(cluster, m.transactionalId);
      const current = this.#cluster(cluster).get(m.transactionalId) ?? m;
      const firstOffsets = await this.#firstOffsets(cluster, current.partitions, current.producerId);
      const groups = type === 'commit' ? [...new Set(current.offsets.map((o) => o.groupId))] : [];
      const offsetsEnd = groups.length === 0 ? undefined : Object.fromEntries(await Promise.all(groups.map(async (g) => [g, await this.#offsetsEnd(cluster, g)] as const)));
      const fenced = await fence?.();
      const prepared: TxnMetadata = { ...current, state: type === 'commit' ? 'PrepareCommit' : 'PrepareAbort', firstOffsets, offsetsEnd, fence: fenced };
      await this.#write(cluster, prepared);
      return await this.#finish(cluster, prepared);
    } finally {
      this.#ending.delete(key);
    }
  }

  /**
   * Where the producer's open transaction starts in each partition (-1: none, or the topic is
   * gone), asked of each partition's leader in a cluster.
   */
  async #firstOffsets(cluster: string, partitions: TxnPartition[], producerId: number): Promise<number[]> {
    const out = partitions.map(() => -1);
    const remote = new Map<number, number[]>();
    partitions.forEach((tp, i) => {
      const leader = this.#leaderElsewhere(cluster, tp);
      if (leader === undefined) out[i] = this.#firstOffset(cluster, tp, producerId);
      else if (leader === null) out[i] = -1;
      else addTo(remote, leader, i);
    });
    await Promise.all(
      [...remote].map(async ([leader, indexes]) => {
        const got = await this.#remote!.firstOffsets(cluster, leader, producerId, indexes.map((i) => partitions[i]));
        indexes.forEach((i, j) => (out[i] = got[j]));
      }),
    );
    return out;
  }

  #firstOffset(cluster: string, tp: TxnPartition, producerId: number): number {
    try {
      return this.#broker.partition(cluster, tp.topic, tp.partition).txns.firstOffset(producerId);
    } catch {
      return -1;
    }
  }

  /**
   * The broker that leads a partition when it is not this one; undefined when this broker writes
   * it (one broker, or its leader); null when its topic is gone. Throws NOT_LEADER while it has no leader.
   */
  #leaderElsewhere(cluster: string, tp: TxnPartition): number | undefined | null {
    if (this.#remote === null) return undefined;
    if (this.#broker.catalog.findTopic(cluster, tp.topic) === undefined) return null;
    const leader = this.#remote.leaderElsewhere(cluster, tp.topic, tp.partition);
    if (leader !== undefined && leader < 0) throw new WebkaError('NOT_LEADER', `partition ${tp.partition} of topic "${tp.topic}" has no leader now; the transaction ends once it has`, { leader: -1 });
    // this broker's copy is read and marked only where it leads (a follower's copy can be behind,
    // and is written by its leader alone): not yet, while the partition's state has not reached it
    if (leader === undefined && this.#broker.partition(cluster, tp.topic, tp.partition).replica?.leads === false) {
      throw new WebkaError('NOT_LEADER', `partition ${tp.partition} of topic "${tp.topic}" is not led by this broker, and its leader is not known here yet; the transaction ends once it is`, { leader: -1 });
    }
    return leader;
  }

  /** The end of the group's `__consumer_offsets` partition, at its coordinator. */
  async #offsetsEnd(cluster: string, groupId: string): Promise<number> {
    const at = this.#remote?.groupElsewhere(cluster, groupId);
    if (at === undefined) return this.#groups.offsets.logEnd(cluster, groupId);
    if (at < 0) throw new WebkaError('NOT_COORDINATOR', `group "${groupId}" has no coordinator now; the transaction ends once it has`);
    return this.#remote!.offsetsEnd(cluster, at, groupId);
  }

  /**
   * Phase 2: the markers and the offsets of a commit, appended together and fsynced in one
   * commit round (the decision is durable, so their order among themselves does not matter);
   * then the Complete state, appended without waiting for its fsync (#complete). A marker goes
   * only to a partition whose open transaction starts where the Prepare state says: repeated
   * after a crash, the ending must not mark the producer's next transaction, whose join the crash
   * may have lost while keeping its data.
   */
  async #finish(cluster: string, m: TxnMetadata): Promise<TxnMetadata> {
    const type: MarkerType = m.state === 'PrepareCommit' ? 'commit' : 'abort';
    const flushes: Array<Promise<void>> = [];
    const remote = new Map<number, Array<TxnPartition & { firstOffset: number | undefined }>>();
    for (let i = 0; i < m.partitions.length; i++) {
      const tp = m.partitions[i];
      const leader = this.#leaderElsewhere(cluster, tp);
      if (leader === null) continue; // the topic was deleted: nothing is left to mark
      if (leader !== undefined) {
        addTo(remote, leader, { ...tp, firstOffset: m.firstOffsets?.[i] });
        continue;
      }
      let p;
      try {
        p = this.#broker.partition(cluster, tp.topic, tp.partition);
      } catch {
        continue; // the topic was deleted: nothing is left to mark
      }
      const offset = p.writeMarker(m.producerId, m.producerEpoch, type, 0, m.firstOffsets?.[i]);
      if (offset >= 0) flushes.push(p.flush(offset + 1));
    }
    for (const [leader, tps] of remote) flushes.push(this.#remote!.writeMarkers(cluster, leader, { producerId: m.producerId, producerEpoch: m.producerEpoch, type }, tps));
    if (type === 'commit') {
      const byGroup = new Map<string, OffsetCommit[]>();
      for (const o of m.offsets) addTo(byGroup, o.groupId, { topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata });
      for (const [groupId, offsets] of byGroup) {
        // an offset written since the decision (by this ending before a crash, or a later commit) is kept
        const end = m.offsetsEnd?.[groupId];
        const at = this.#remote?.groupElsewhere(cluster, groupId);
        if (at === undefined) {
          const fresh = end === undefined ? offsets : offsets.filter((o) => (this.#groups.offsets.writtenAt(cluster, groupId, o.topic, o.partition) ?? -1) < end);
          flushes.push(this.#groups.offsets.commit(cluster, groupId, fresh));
        } else if (at < 0) {
          flushes.push(Promise.reject(new WebkaError('NOT_COORDINATOR', `group "${groupId}" has no coordinator now; the transaction ends once it has`)));
        } else {
          flushes.push(this.#remote!.commitOffsets(cluster, at, groupId, offsets, end ?? null));
        }
      }
    }
    const settled = await Promise.allSettled(flushes);
    const failed = settled.find((x) => x.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const complete: TxnMetadata = { ...m, state: type === 'commit' ? 'CompleteCommit' : 'CompleteAbort', partitions: [], firstOffsets: undefined, offsetsEnd: undefined, fence: undefined, offsets: [], startedAt: -1 };
    const fence = m.fence;
    if (fence === undefined) {
      this.#complete(cluster, complete);
      return complete;
    }
    // an abort that fences its producer: the Complete state carries the new epoch, and is waited
    // for (the fence must survive a crash); no state with the old epoch is ever shown as ended
    const fenced: TxnMetadata = { ...complete, producerId: fence.producerId, producerEpoch: fence.producerEpoch };
    await this.#write(cluster, fenced);
    return fenced;
  }

  // ---- timeouts and admin

  /**
   * Aborts open transactions older than their timeout, each with a new epoch that fences its
   * producer (Kafka's rule), and retries endings a failure left in a Prepare state.
   */
  async abortExpired(now: number): Promise<number> {
    let n = 0;
    for (const [cluster, txns] of this.#txns) {
      for (const m of [...txns.values()]) {
        const expired = m.state === 'Ongoing' && now - m.startedAt > m.timeoutMs;
        const stuck = (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') && !this.#chains.has(`${cluster}\u0000${m.transactionalId}`);
        if ((!expired && !stuck) || !this.#coordinates(cluster, m.transactionalId)) continue;
        await this.#serial(cluster, m.transactionalId, async () => {
          const cur = this.#cluster(cluster).get(m.transactionalId);
          if (cur === undefined || this.#closed || !this.#coordinates(cluster, m.transactionalId)) return;
          if (cur.state === 'PrepareCommit' || cur.state === 'PrepareAbort') {
            await this.#finish(cluster, cur);
          } else if (cur.state === 'Ongoing' && now - cur.startedAt > cur.timeoutMs) {
            await this.#fenceAndAbort(cluster, cur);
            n++;
          }
        }).catch((err: unknown) => {
          this.#broker.options.onWarning?.('transaction timeout abort failed', { cluster, transactionalId: m.transactionalId, error: (err as Error).message });
        });
      }
    }
    return n;
  }

  #fenceAndAbort(cluster: string, m: TxnMetadata): Promise<TxnMetadata> {
    // markers carry the id that wrote the data; the new epoch (or id, past epoch 32767) is kept
    return this.#end(cluster, m, 'abort', () => this.#broker.allocateProducer(cluster, m.transactionalId));
  }

  /** An operator's abort (`webka txn abort`): aborts the open transaction and fences its producer. */
  adminAbort(cluster: string, transactionalId: string, caller: TxnCaller): Promise<TxnDescription> {
    this.#check(cluster, transactionalId, caller);
    return this.#serial(cluster, transactionalId, async () => {
      const { m } = this.#check(cluster, transactionalId, caller);
      if (m === undefined) throw new WebkaError('TRANSACTION_NOT_FOUND', `transactional id "${transactionalId}" is not known in cluster "${cluster}"`);
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return this.#describe(await this.#finish(cluster, m));
      if (m.state !== 'Ongoing') return this.#describe(m);
      return this.#describe(await this.#fenceAndAbort(cluster, m));
    });
  }

  list(cluster: string): TxnDescription[] {
    return [...this.#cluster(cluster).values()].filter((m) => this.#coordinates(cluster, m.transactionalId)).sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1)).map((m) => this.#describe(m));
  }

  /** One transactional id's state; the caller must own it (or be a superuser). */
  describe(cluster: string, transactionalId: string, caller: TxnCaller): TxnDescription {
    const { m } = this.#check(cluster, transactionalId, caller);
    if (m === undefined) throw new WebkaError('TRANSACTION_NOT_FOUND', `transactional id "${transactionalId}" is not known in cluster "${cluster}"`);
    return this.#describe(m);
  }

  #describe(m: TxnMetadata): TxnDescription {
    const open = m.startedAt >= 0;
    return {
      transactionalId: m.transactionalId,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      state: m.state,
      timeoutMs: m.timeoutMs,
      partitions: m.partitions,
      offsets: m.offsets.map((o) => ({ groupId: o.groupId, topic: o.topic, partition: o.partition, offset: o.offset })),
      startedAt: open ? m.startedAt : null,
      ageMs: open ? Math.max(0, Date.now() - m.startedAt) : null,
      principal: m.principal,
    };
  }

  /** Drops what is known of a deleted cluster. */
  forgetCluster(cluster: string): void {
    this.#txns.delete(cluster);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
  }
}

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function has(list: readonly TxnPartition[], topic: string, partition: number): boolean {
  return list.some((tp) => tp.topic === topic && tp.partition === partition);
}
