/**
 * This broker leading one partition in one leader epoch: it tracks what each follower fetched and
 * holds durably, sets the high watermark to the least durable end over the in-sync replicas
 * (Log.setReplicaLimit), answers acks=all once a batch is below it, and keeps the ISR honest:
 * a follower that has not caught up for replica.lag.time.max.ms leaves it, one that holds
 * everything below the high watermark joins it again (both written to the coordinator by the
 * replica manager, compare-and-swap on the state's revision).
 *
 * The high watermark is computed over the "maximal ISR" (Kafka's KIP-497 rule): a follower
 * proposed for the ISR counts from the moment of the proposal, not from when the coordinator's
 * write comes back, so the high watermark cannot pass what the joiner holds while the write is in
 * flight; otherwise the stored ISR could name a member missing committed records, and electing it
 * would lose them. A shrink counts only once written (until then the old, larger ISR still holds).
 *
 *   follower fetch(offset, durableEnd) --> followers[n] --> limit = min durableEnd over ISR
 *        --> log.setReplicaLimit(limit) --> high watermark --> acks=all waiters answered
 *
 * Created by the ReplicaManager when the partition state names this broker leader; fence()d when
 * the state moves on (another leader or epoch): its waiters then fail with NOT_LEADER.
 * Everything runs on the event loop.
 */
import type { Partition, ReplicaHooks } from '../partitions/partition.js';
import type { PartitionState } from '../cluster/coordinator.js';
import { WebkaError } from '../errors.js';

interface FollowerState {
  /** The offset of its last fetch: it holds everything below. */
  fetchOffset: number;
  /** What it holds durably (fsynced), as it reported. */
  durableEnd: number;
  /** When it last held everything the leader had (Kafka's lastCaughtUpTimeMs). */
  lastCaughtUpMs: number;
  /** The leader's log end and the time at its previous fetch. */
  lastFetchLeo: number;
  lastFetchMs: number;
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface LeaderContext {
  nodeId: number;
  /** The partition's current state (the replica manager's copy of the coordinator's). */
  state(): PartitionState | undefined;
  /** The topic's min.insync.replicas. */
  minInsync(): number;
  lagTimeMaxMs: number;
  /** DEBUG ONLY: the high watermark is the leader's own durable end, as if it had no followers
   *  (the failover test's negative control: acknowledged records can then be lost). */
  hwFromLeaderAlone?: boolean;
  /** Asks for the ISR to become `isr` (written to the coordinator; the state changes when it is);
   *  resolves whether this proposal was written. */
  proposeIsr(isr: number[]): Promise<boolean>;
  /** Whether a caught-up replica may join the ISR (not one being drained). */
  mayJoinIsr?(replica: number): boolean;
}

export class PartitionLeader implements ReplicaHooks {
  readonly #followers = new Map<number, FollowerState>();
  /** Followers proposed for the ISR whose write has not come back: they bound the high watermark already. */
  readonly #joining = new Set<number>();
  readonly #waiters = new Set<Waiter>();
  #unsubscribe: (() => void) | null = null;
  #fenced: WebkaError | null = null;
  readonly #since = Date.now();

  constructor(
    readonly partition: Partition,
    readonly leaderEpoch: number,
    readonly ctx: LeaderContext,
  ) {
    partition.log.leaderEpoch = leaderEpoch;
    this.stateChanged();
  }

  get leads(): boolean {
    return this.#fenced === null;
  }

  #isr(): number[] {
    return this.ctx.state()?.isr ?? [this.ctx.nodeId];
  }

  checkAppend(acks: 0 | 1 | 'all'): void {
    if (this.#fenced !== null) throw this.#fenced;
    if (acks !== 'all') return;
    const isr = this.#isr();
    const min = this.ctx.minInsync();
    if (isr.length < min) {
      throw new WebkaError('NOT_ENOUGH_REPLICAS', `partition ${this.partition.index} has ${isr.length} in-sync replica${isr.length === 1 ? '' : 's'} (${isr.join(', ')}), fewer than its min.insync.replicas ${min}: nothing was written; retry once the others have caught up, or produce with acks=1`, { isr });
    }
  }

  awaitCommitted(upTo: number): Promise<void> {
    if (this.#fenced !== null) return Promise.reject(writtenNotCommitted(this.ctx.nodeId, this.partition.index, this.#fenced.details?.leader as number));
    if (this.partition.log.highWatermark >= upTo) {
      const short = this.#tooFewInSync();
      return short === null ? Promise.resolve() : Promise.reject(short);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.add({ upTo, resolve, reject });
      this.#unsubscribe ??= this.partition.subscribe(() => this.#settle());
    });
  }

  /**
   * Kafka's rule for a batch the high watermark has passed: it is acknowledged only if the ISR
   * still has min.insync.replicas members. The high watermark also passes a batch when the ISR
   * shrinks (fewer replicas bound it), and that batch is then held by fewer copies than acks=all
   * promised: NOT_ENOUGH_REPLICAS_AFTER_APPEND (written, not acknowledged).
   */
  #tooFewInSync(): WebkaError | null {
    const isr = this.#isr();
    const min = this.ctx.minInsync();
    if (isr.length >= min) return null;
    return new WebkaError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', `partition ${this.partition.index} lost in-sync replicas (now ${isr.join(', ')}, fewer than its min.insync.replicas ${min}) before every one held the batch: it was written but is not acknowledged`, { isr });
  }

  #settle(): void {
    const hw = this.partition.log.highWatermark;
    for (const w of this.#waiters) {
      if (w.upTo <= hw) {
        this.#waiters.delete(w);
        const short = this.#tooFewInSync();
        if (short === null) w.resolve();
        else w.reject(short);
      }
    }
    if (this.#waiters.size === 0) {
      this.#unsubscribe?.();
      this.#unsubscribe = null;
    }
  }

  #rejectAll(err: Error): void {
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** A follower fetched from `offset` and holds `durableEnd` durably. */
  onFetch(replica: number, offset: number, durableEnd: number, now = Date.now()): void {
    const leo = this.partition.log.nextOffset;
    const f = this.#followers.get(replica) ?? { fetchOffset: 0, durableEnd: 0, lastCaughtUpMs: this.#since, lastFetchLeo: 0, lastFetchMs: this.#since };
    f.fetchOffset = offset;
    f.durableEnd = Math.min(durableEnd, offset);
    if (offset >= leo) f.lastCaughtUpMs = now;
    else if (offset >= f.lastFetchLeo) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.lastFetchLeo = leo;
    f.lastFetchMs = now;
    this.#followers.set(replica, f);
    const isr = this.#isr();
    // a replica outside the ISR joins once it holds everything below the high watermark durably
    const state = this.ctx.state();
    if (state !== undefined && state.replicas.includes(replica) && !isr.includes(replica) && !this.#joining.has(replica) && f.durableEnd >= this.partition.log.highWatermark && this.ctx.mayJoinIsr?.(replica) !== false) {
      this.#joining.add(replica);
      void this.ctx.proposeIsr([...isr, replica]).then((written) => {
        if (written) return; // stateChanged() has seen it in the ISR (or will, from the watch)
        this.#joining.delete(replica);
        this.#applyLimit();
      });
    }
    this.#applyLimit();
  }

  /** The partition state changed (ISR, replicas): the high watermark's inputs did too. */
  stateChanged(): void {
    // (before the limit moves: a shrink below min.insync.replicas must not acknowledge the
    // waiters whose batches it lets the high watermark pass)
    const short = this.#waiters.size > 0 ? this.#tooFewInSync() : null;
    if (short !== null) this.#rejectAll(short);
    this.#applyLimit();
  }

  #applyLimit(): void {
    const isr = this.#isr();
    for (const n of this.#joining) if (isr.includes(n)) this.#joining.delete(n);
    const others = [...isr, ...this.#joining].filter((n) => n !== this.ctx.nodeId);
    let limit: number | null = null;
    if (this.ctx.hwFromLeaderAlone === true) others.length = 0;
    for (const n of others) limit = Math.min(limit ?? Number.MAX_SAFE_INTEGER, this.#followers.get(n)?.durableEnd ?? 0);
    this.partition.log.setReplicaLimit(limit);
  }

  /** Per replica other than this one: records between the leader's log end and its last fetch offset (all of them before its first fetch). */
  followerLag(): { replica: number; lag: number }[] {
    const leo = this.partition.log.nextOffset;
    const replicas = this.ctx.state()?.replicas ?? [];
    return replicas.filter((n) => n !== this.ctx.nodeId).map((n) => ({ replica: n, lag: Math.max(0, leo - (this.#followers.get(n)?.fetchOffset ?? 0)) }));
  }

  /** Proposes removing the in-sync followers that have not caught up within replica.lag.time.max.ms. */
  checkLag(now = Date.now()): void {
    if (this.#fenced !== null) return;
    const isr = this.#isr();
    const lagging = isr.filter((n) => n !== this.ctx.nodeId && now - (this.#followers.get(n)?.lastCaughtUpMs ?? this.#since) > this.ctx.lagTimeMaxMs);
    if (lagging.length > 0) void this.ctx.proposeIsr(isr.filter((n) => !lagging.includes(n)));
  }

  /** This broker no longer leads in this epoch: appends and waiters fail with NOT_LEADER. */
  fence(leader: number): void {
    this.#fenced = new WebkaError('NOT_LEADER', `broker ${this.ctx.nodeId} no longer leads partition ${this.partition.index} (leader now ${leader})`, { leader });
    this.#rejectAll(writtenNotCommitted(this.ctx.nodeId, this.partition.index, leader));
    this.partition.log.leaderEpoch = null;
    // readers see no more than what was committed in this epoch until the next leader says more
    this.partition.log.setReplicaLimit(this.partition.log.highWatermark);
  }
}

/**
 * The answer to a write that was appended to this broker's copy but not yet held by every in-sync
 * replica when the broker stopped leading: it may or may not survive, so it is neither
 * acknowledged nor sent on to the new leader by the broker (that would store it twice); the
 * client decides whether to retry. `written: true` tells the HTTP layer not to forward it.
 */
export function writtenNotCommitted(nodeId: number, index: number, leader: number | undefined): WebkaError {
  const now = leader === undefined || leader < 0 ? 'no leader yet' : `leader now broker ${leader}`;
  return new WebkaError(
    'NOT_LEADER',
    `broker ${nodeId} stopped leading partition ${index} (${now}) before every in-sync replica held the batch: it was written to this broker's copy but is not acknowledged and may be lost; retry (a retry of an idempotent producer is never stored twice)`,
    { leader: leader ?? -1, written: true },
  );
}
