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

  constructor(broker: Broker, groups: GroupCoordinator, opts: { timeoutCheckMs?: number } = {}) {
    this.#broker = broker;
    this.#groups = groups;
    this.#log = new TxnStateLog(broker);
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
    const m = this.#cluster(cluster).get(id);
    if (m !== undefined && m.principal !== caller.name && !caller.superuser) {
      throw new WebkaError('FORBIDDEN', `transactional id "${id}" belongs to another principal; pick another id`);
    }
    return { id, m };
  }

  #current(cluster: string, id: string, caller: TxnCaller, producer: ProducerIdentity): TxnMetadata {
    const { m } = this.#check(cluster, id, caller);
    if (m === undefined) throw new WebkaError('TRANSACTION_NOT_FOUND', `transactional id "${id}" is not initialised in cluster "${cluster}"; POST /v1/clusters/${cluster}/transactions first`);
    if (producer.producerId !== m.producerId || producer.producerEpoch !== m.producerEpoch) {
      throw new WebkaError('PRODUCER_FENCED', `producer ${producer.producerId} epoch ${producer.producerEpoch} no longer holds transactional id "${id}" (current: producer ${m.producerId} epoch ${m.producerEpoch})`, { producerEpoch: m.producerEpoch });
    }
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort' || this.#ending.has(`${cluster}\u0000${id}`)) {
      throw new WebkaError('CONCURRENT_TRANSACTIONS', `transaction "${id}" is ending; retry once it has`);
    }
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
      // the producer id is the transactional id's principal's: no one else may write with it
      const fresh = await this.#broker.allocateProducer(cluster, id, m?.principal ?? caller.name);
      if (m !== undefined && m.state === 'Ongoing') {
        await this.#end(cluster, m, 'abort');
      } else if (m !== undefined && (m.state === 'PrepareCommit' || m.state === 'PrepareAbort')) {
        await this.#finish(cluster, m);
      }
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
  addOffsets(cluster: string, transactionalId: string, producer: ProducerIdentity, caller: TxnCaller, input: { groupId: string; offsets: OffsetCommit[]; checkMember: () => void }): Promise<void> {
    return this.#serial(cluster, transactionalId, async () => {
      const m = this.#current(cluster, transactionalId, caller, producer);
      input.checkMember();
      const next = this.#begin(m);
      const offsets = next.offsets.filter((o) => !(o.groupId === input.groupId && input.offsets.some((n) => n.topic === o.topic && n.partition === o.partition)));
      for (const o of input.offsets) offsets.push({ groupId: input.groupId, topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null });
      await this.#write(cluster, { ...next, offsets });
    });
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
   * Runs in the id's serial section; m is its current state.
   */
  async #end(cluster: string, m: TxnMetadata, type: MarkerType, fence?: ProducerIdentity): Promise<TxnMetadata> {
    const key = `${cluster}\u0000${m.transactionalId}`;
    this.#ending.add(key);
    try {
      await this.#idle(cluster, m.transactionalId);
      const current = this.#cluster(cluster).get(m.transactionalId) ?? m;
      const firstOffsets = current.partitions.map((tp) => this.#firstOffset(cluster, tp, current.producerId));
      const groups = type === 'commit' ? [...new Set(current.offsets.map((o) => o.groupId))] : [];
      const offsetsEnd = groups.length === 0 ? undefined : Object.fromEntries(groups.map((g) => [g, this.#groups.offsets.logEnd(cluster, g)]));
      const prepared: TxnMetadata = { ...current, state: type === 'commit' ? 'PrepareCommit' : 'PrepareAbort', firstOffsets, offsetsEnd };
      await this.#write(cluster, prepared);
      return await this.#finish(cluster, prepared, fence);
    } finally {
      this.#ending.delete(key);
    }
  }

  /** Where the producer's open transaction starts in a partition (-1: none, or the topic is gone). */
  #firstOffset(cluster: string, tp: TxnPartition, producerId: number): number {
    try {
      return this.#broker.partition(cluster, tp.topic, tp.partition).txns.firstOffset(producerId);
    } catch {
      return -1;
    }
  }

  /**
   * Phase 2: the markers and the offsets of a commit, appended together and fsynced in one
   * commit round (the decision is durable, so their order among themselves does not matter);
   * then the Complete state, appended without waiting for its fsync (#complete). A marker goes
   * only to a partition whose open transaction starts where the Prepare state says: repeated
   * after a crash, the ending must not mark the producer's next transaction, whose join the crash
   * may have lost while keeping its data.
   */
  async #finish(cluster: string, m: TxnMetadata, fence?: ProducerIdentity): Promise<TxnMetadata> {
    const type: MarkerType = m.state === 'PrepareCommit' ? 'commit' : 'abort';
    const flushes: Array<Promise<void>> = [];
    for (let i = 0; i < m.partitions.length; i++) {
      const tp = m.partitions[i];
      let p;
      try {
        p = this.#broker.partition(cluster, tp.topic, tp.partition);
      } catch {
        continue; // the topic was deleted: nothing is left to mark
      }
      const offset = p.writeMarker(m.producerId, m.producerEpoch, type, 0, m.firstOffsets?.[i]);
      if (offset >= 0) flushes.push(p.flush(offset + 1));
    }
    if (type === 'commit') {
      const byGroup = new Map<string, OffsetCommit[]>();
      for (const o of m.offsets) {
        // written since the decision (by this ending before a crash, or a later commit): keep it
        const end = m.offsetsEnd?.[o.groupId];
        if (end !== undefined && (this.#groups.offsets.writtenAt(cluster, o.groupId, o.topic, o.partition) ?? -1) >= end) continue;
        let list = byGroup.get(o.groupId);
        if (list === undefined) byGroup.set(o.groupId, (list = []));
        list.push({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata });
      }
      for (const [groupId, offsets] of byGroup) flushes.push(this.#groups.offsets.commit(cluster, groupId, offsets));
    }
    await Promise.all(flushes);
    const complete: TxnMetadata = { ...m, state: type === 'commit' ? 'CompleteCommit' : 'CompleteAbort', partitions: [], firstOffsets: undefined, offsetsEnd: undefined, offsets: [], startedAt: -1 };
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
        if (!expired && !stuck) continue;
        await this.#serial(cluster, m.transactionalId, async () => {
          const cur = this.#cluster(cluster).get(m.transactionalId);
          if (cur === undefined || this.#closed) return;
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

  async #fenceAndAbort(cluster: string, m: TxnMetadata): Promise<TxnMetadata> {
    const fresh = await this.#broker.allocateProducer(cluster, m.transactionalId);
    // markers carry the id that wrote the data; the new epoch (or id, past epoch 32767) is kept
    return this.#end(cluster, m, 'abort', fresh);
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
    return [...this.#cluster(cluster).values()].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1)).map((m) => this.#describe(m));
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

function has(list: readonly TxnPartition[], topic: string, partition: number): boolean {
  return list.some((tp) => tp.topic === topic && tp.partition === partition);
}
