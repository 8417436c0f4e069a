/**
 * A group consumer: `for await (const record of consumer)` yields records of the partitions the
 * group assigns to this member, through an SSE stream or long polls. It joins on first use,
 * follows rebalances, and after any failure (a dropped connection, a broker restart, an expired
 * session) reconnects with backoff, joining again when the broker no longer knows the member.
 *
 * Positions: the consumer remembers, per partition, the next offset after the last record it
 * handed out. A rejoined member is served from the group's committed offsets, which may lag;
 * records below the remembered position are skipped, so the loop sees each record once.
 * A record counts as processed when the loop asks for the next one (or leaves): auto commit
 * (every autoCommitIntervalMs, on rebalance and on close) and commit() send processed positions,
 * which gives at-least-once processing across crashes.
 *
 * Lifecycle: created by `webka.consumer(options)`; iterate it once; `close()` stops the
 * iteration, commits (with auto commit) and leaves the group.
 */
import { backoffDelay, RetryBudget, sleep, type RetryBudgetOptions } from './backoff.js';
import { WebkaError } from './errors.js';
import type { HttpClient } from './http-client.js';
import { GroupMember, toAssignment, type Assignment, type MemberEvent } from './group-member.js';
import type { ConsumerRecord, Isolation, TopicPartition, TopicPartitionOffset, ValueFormat } from './types.js';
import type { GroupPosition, OffsetsSource } from './transactional-producer.js';

export interface ConsumerOptions extends RetryBudgetOptions {
  groupId: string;
  topics: string | string[];
  /** 'sse' (default: one stream, records pushed as they are appended) or 'long-poll'. */
  transport?: 'sse' | 'long-poll';
  /** Commit processed positions on a timer, on rebalance and on close (default true). */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  sessionTimeoutMs?: number;
  /** Where a partition without a committed offset starts: earliest, latest (the broker's default) or none. */
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  /** A name shown by describe and used as the member id's prefix. */
  clientId?: string;
  /** Heartbeat when no other request reached the member for this long (default 3 s). */
  heartbeatIntervalMs?: number;
  /** Long poll: how long one poll waits for records (default 10 s). */
  maxWaitMs?: number;
  maxRecords?: number;
  /** How values are shown: as each was produced (default: text as text, JSON as JSON, bytes as base64), or all as json, text or binary. */
  valueFormat?: ValueFormat;
  /** read_uncommitted (the broker's default) or read_committed: only committed transactions' records. */
  isolation?: Isolation;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** How long close() waits for its commit and leave (default 5 s). */
  closeTimeoutMs?: number;
  /**
   * Called when a rebalance takes partitions from this member, after the SDK's last commit of
   * them (with auto commit, when the group still takes it). No record of them is handed out after.
   */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called when the group gives this member partitions (the first assignment included). */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
}

/** Codes with which the group refuses a commit because it rebalanced (the answer names the new assignment). */
const REBALANCED = new Set(['STALE_GENERATION', 'NOT_ASSIGNED', 'REBALANCE_IN_PROGRESS']);

/** Failures after which an answer may have been lost in transit. */
const TRANSPORT_FAILURES = new Set(['NETWORK_ERROR', 'TIMEOUT', 'SHUTTING_DOWN', 'REQUEST_TIMEOUT']);

const key = (topic: string, partition: number): string => `${partition}:${topic}`;
const unkey = (k: string): { topic: string; partition: number } => {
  const i = k.indexOf(':');
  return { partition: Number(k.slice(0, i)), topic: k.slice(i + 1) };
};

export class Consumer implements AsyncIterable<ConsumerRecord>, OffsetsSource {
  readonly groupId: string;
  #http: HttpClient;
  #cluster: string;
  #opts: ConsumerOptions;
  #topics: string[];
  #member: GroupMember | undefined;
  #generationId: number | undefined;
  #assigned: Set<string> | undefined;
  /** Next offset after the last record handed out, by partition. */
  #delivered = new Map<string, number>();
  /** Next offset after the last record the loop finished with, by partition. */
  #processed = new Map<string, number>();
  #committed = new Map<string, number>();
  #closing = new AbortController();
  #commitTimer: ReturnType<typeof setInterval> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #lastContact = 0;
  #commitChain: Promise<void> = Promise.resolve();
  #iterating = false;
  #sseUnsupported = false;
  #closed: Promise<void> | undefined;
  /** Set while a revoke/assign callback runs: a commit() it makes must not wait for the commit chain. */
  #inCallback = false;

  constructor(http: HttpClient, cluster: string, options: ConsumerOptions) {
    this.#http = http;
    this.#cluster = cluster;
    this.#opts = options;
    this.groupId = options.groupId;
    this.#topics = typeof options.topics === 'string' ? [options.topics] : [...options.topics];
    if (this.#topics.length === 0) throw new WebkaError('INVALID_REQUEST', 'a consumer needs at least one topic');
  }

  get memberId(): string | undefined {
    return this.#member?.memberId;
  }

  /** The group generation of the current assignment (undefined before the first). */
  get generation(): number | undefined {
    return this.#generationId;
  }

  /**
   * The member's position for a transaction (TransactionalProducer.sendOffsets): for each
   * partition, the offset after the last record handed out, with the generation and member id
   * the broker checks. Use it with autoCommit false, so that the offsets are committed only
   * with the transaction.
   */
  transactionOffsets(): GroupPosition {
    const m = this.#member;
    if (m === undefined || this.#generationId === undefined) throw new WebkaError('MEMBER_NOT_FOUND', 'the consumer is not in the group now (it is joining): nothing to commit', { status: 404, retriable: true });
    const offsets: TopicPartitionOffset[] = [];
    for (const [k, v] of this.#delivered) offsets.push({ ...unkey(k), offset: v });
    return { groupId: this.groupId, generation: this.#generationId, memberId: m.memberId, offsets };
  }

  /** The partitions assigned in the current generation (undefined before the first assignment). */
  get assignment(): { topic: string; partition: number }[] | undefined {
    return this.#assigned === undefined ? undefined : [...this.#assigned].map(unkey);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord> {
    if (this.#iterating) throw new WebkaError('INVALID_REQUEST', 'a consumer can be iterated once at a time');
    this.#iterating = true;
    const signal = this.#closing.signal;
    this.#startTimers();
    let attempt = 0;
    const budget = new RetryBudget(this.#opts, 'consumer');
    try {
      while (!signal.aborted) {
        try {
          await this.#ensureMember(signal);
          for await (const ev of this.#events(signal)) {
            attempt = 0;
            budget.answered();
            this.#lastContact = Date.now();
            if (ev.kind === 'rebalance') {
              await this.#onAssignment(ev.assignment);
              continue;
            }
            for (const r of ev.records) {
              if (signal.aborted) return;
              const k = key(r.topic, r.partition);
              // A record sent before the member learned that its partition moved: the new owner has it.
              if (this.#assigned !== undefined && !this.#assigned.has(k)) continue;
              const at = this.#delivered.get(k);
              if (at !== undefined && r.offset < at) continue;
              this.#delivered.set(k, r.offset + 1);
              yield r;
              this.#processed.set(k, r.offset + 1);
            }
          }
        } catch (err) {
          if (signal.aborted) break;
          const e = err instanceof WebkaError ? err : new WebkaError('NETWORK_ERROR', String(err), { cause: err });
          if (e.code === 'MEMBER_NOT_FOUND' || e.code === 'GROUP_NOT_FOUND') {
            // The broker forgot us (session expired, restart): join again.
            this.#member = undefined;
          } else if (!e.retriable) {
            throw e;
          }
          budget.failed(e);
          if (TRANSPORT_FAILURES.has(e.code) && this.#member !== undefined && !this.#streaming) {
            // A poll's answer may have been lost on the way, and the broker moved this member's
            // positions past records we never saw. Hand in what we finished and join again: a
            // new member starts from the committed offsets, and positions skip what we had.
            // (A stream needs none of this: it reconnects with Last-Event-ID.)
            await this.#rejoin();
          }
          await sleep(backoffDelay(attempt++, this.#opts), signal).catch(() => undefined);
        }
      }
    } finally {
      // Leaving the loop (break, return, throw) finishes the record in hand.
      for (const [k, v] of this.#delivered) this.#processed.set(k, v);
      this.#iterating = false;
    }
  }

  get #streaming(): boolean {
    return (this.#opts.transport ?? 'sse') === 'sse' && !this.#sseUnsupported;
  }

  async #rejoin(): Promise<void> {
    const m = this.#member!;
    const quick = AbortSignal.timeout(2_000);
    if (this.#autoCommit) await this.#commitKeys([...this.#processed.keys()], this.#generationId, quick).catch(() => undefined);
    await m.leave(quick).catch(() => undefined);
    if (this.#member === m) this.#member = undefined;
  }

  async *#events(signal: AbortSignal): AsyncGenerator<MemberEvent> {
    const member = this.#member!;
    if (this.#streaming) {
      yield* member.stream({ valueFormat: this.#opts.valueFormat, isolation: this.#opts.isolation }, signal);
      if (member.sseUnsupported) {
        this.#sseUnsupported = true;
        return;
      }
      // The broker ended the stream (stopping, or the member was removed): reconnect.
      throw new WebkaError('NETWORK_ERROR', 'the event stream ended');
    }
    for (;;) yield* await member.poll({ maxWaitMs: this.#opts.maxWaitMs ?? 10_000, maxRecords: this.#opts.maxRecords, valueFormat: this.#opts.valueFormat, isolation: this.#opts.isolation }, signal);
  }

  async #ensureMember(signal: AbortSignal): Promise<void> {
    if (this.#member !== undefined) return;
    const { member, assignment } = await GroupMember.join(
      this.#http,
      this.#cluster,
      this.groupId,
      { topics: this.#topics, sessionTimeoutMs: this.#opts.sessionTimeoutMs, autoOffsetReset: this.#opts.autoOffsetReset, clientId: this.#opts.clientId, maxPollRecords: this.#opts.maxRecords },
      signal,
    );
    this.#member = member;
    this.#lastContact = Date.now();
    // A new member's generations may start again (the broker restarted): take its assignment as news.
    this.#generationId = undefined;
    if (assignment !== undefined) await this.#onAssignment(assignment);
  }

  /**
   * Switches to a new assignment, learned from the stream, a poll or a refused commit. Older
   * news (a lower generation than the one known) is ignored.
   */
  async #onAssignment(a: Assignment): Promise<void> {
    if (this.#generationId !== undefined && a.generationId < this.#generationId) return;
    const next = new Set<string>();
    for (const tp of a.partitions) next.add(key(tp.topic, tp.partition));
    const before = this.#assigned;
    if (a.generationId === this.#generationId && before !== undefined && next.size === before.size && [...next].every((k) => before.has(k))) return;
    const revoked = before === undefined ? [] : [...before].filter((k) => !next.has(k));
    const added = [...next].filter((k) => before === undefined || !before.has(k));
    const oldGeneration = this.#generationId;
    // From here on no record of a revoked partition is handed out.
    this.#assigned = next;
    this.#generationId = a.generationId;
    if (revoked.length > 0 && this.#autoCommit) {
      // Hand over what we finished, so the next owner starts after it (best effort: the group
      // may already refuse this generation's commits).
      await this.#commitKeys(revoked, oldGeneration).catch(() => undefined);
    }
    for (const k of revoked) {
      this.#delivered.delete(k);
      this.#processed.delete(k);
      this.#committed.delete(k);
    }
    if (revoked.length > 0) await this.#callback(this.#opts.onPartitionsRevoked, revoked);
    if (added.length > 0) await this.#callback(this.#opts.onPartitionsAssigned, added);
  }

  async #callback(fn: ((partitions: TopicPartition[]) => void | Promise<void>) | undefined, keys: string[]): Promise<void> {
    if (fn === undefined) return;
    this.#inCallback = true;
    try {
      await fn(keys.map(unkey));
    } finally {
      this.#inCallback = false;
    }
  }


  get #autoCommit(): boolean {
    return this.#opts.autoCommit ?? true;
  }

  #startTimers(): void {
    if (this.#autoCommit && this.#commitTimer === undefined) {
      this.#commitTimer = setInterval(() => void this.commit().catch(() => undefined), this.#opts.autoCommitIntervalMs ?? 1_000);
    }
    const hb = this.#opts.heartbeatIntervalMs ?? 3_000;
    if (this.#heartbeatTimer === undefined) {
      this.#heartbeatTimer = setInterval(() => {
        const m = this.#member;
        // A stream heartbeats every interval even while records flow: what the broker has already
        // written to it comes before its rebalance event, so the heartbeat's answer is how the
        // member learns of a revocation within one interval, whatever the loop's speed.
        if (m === undefined || (!this.#streaming && Date.now() - this.#lastContact < hb)) return;
        this.#lastContact = Date.now();
        m.heartbeat(AbortSignal.timeout(hb)).then(
          (a) => {
            if (a !== undefined && this.#member === m && this.#generationId !== undefined && a.generationId > this.#generationId) void this.#onAssignment(a).catch(() => undefined);
          },
          (e: unknown) => {
            if ((e as WebkaError).code === 'MEMBER_NOT_FOUND' && this.#member === m) this.#member = undefined;
          },
        );
      }, hb);
    }
  }

  /**
   * Commits positions: by default the next offset after every record the loop has finished with;
   * or the given offsets (each the NEXT offset to read, as Kafka commits). Commits run one at a time.
   *
   * A rebalance is not an error: when the group refuses the commit because it moved on to a new
   * generation, the consumer switches to the assignment the refusal names (calling
   * onPartitionsRevoked / onPartitionsAssigned), drops the offsets of partitions it no longer
   * owns (their new owner reads from the last commit that was taken) and commits the rest again.
   */
  commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    const run = async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        let wanted = offsets ?? this.#pending([...this.#processed.keys()]);
        // After a rebalance, only what this member still owns.
        if (attempt > 0) wanted = wanted.filter((o) => this.#assigned?.has(key(o.topic, o.partition)) ?? true);
        if (wanted.length === 0) return;
        try {
          await this.#send(wanted, this.#generationId);
          for (const o of wanted) this.#committed.set(key(o.topic, o.partition), o.offset);
          return;
        } catch (err) {
          if (!(err instanceof WebkaError) || !REBALANCED.has(err.code)) throw err;
          const a = toAssignment(err.details as { generation?: number; assignment?: unknown });
          // Without the new assignment, or when the group moved on again while we committed:
          // what is left is not ours to commit (the stream or the next poll brings the assignment).
          if (a === undefined || attempt === 2) return;
          await this.#onAssignment(a);
        }
      }
    };
    // A commit() from a revoke/assign callback runs at once: the chain may be waiting on that callback.
    if (this.#inCallback) return run();
    const p = this.#commitChain.then(run, run);
    this.#commitChain = p.catch(() => undefined);
    return p;
  }

  /** The processed positions of these partitions not yet committed. */
  #pending(keys: string[]): TopicPartitionOffset[] {
    const offsets: TopicPartitionOffset[] = [];
    for (const k of keys) {
      const v = this.#processed.get(k);
      if (v !== undefined && this.#committed.get(k) !== v) offsets.push({ ...unkey(k), offset: v });
    }
    return offsets;
  }

  async #commitKeys(keys: string[], generation: number | undefined, signal?: AbortSignal): Promise<void> {
    const offsets = this.#pending(keys);
    if (offsets.length === 0) return;
    await this.#send(offsets, generation, signal);
    for (const o of offsets) this.#committed.set(key(o.topic, o.partition), o.offset);
  }

  async #send(offsets: TopicPartitionOffset[], generation: number | undefined, signal?: AbortSignal): Promise<void> {
    const m = this.#member;
    if (m === undefined) throw new WebkaError('MEMBER_NOT_FOUND', 'the consumer is not in the group now (it is joining)', { status: 404, retriable: true });
    await m.commit(offsets, generation, signal);
    this.#lastContact = Date.now();
  }

  /** Stops the iteration, commits (with auto commit) and leaves the group. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#commitTimer);
      clearInterval(this.#heartbeatTimer);
      this.#closing.abort(new WebkaError('CLOSED', 'the consumer is closed'));
      for (const [k, v] of this.#delivered) this.#processed.set(k, v);
      const m = this.#member;
      if (m === undefined) return;
      // A broker that does not answer must not hold close() forever.
      const limit = AbortSignal.timeout(this.#opts.closeTimeoutMs ?? 5_000);
      if (this.#autoCommit) {
        await this.#commitChain;
        await this.#commitKeys([...this.#processed.keys()], this.#generationId, limit).catch(() => undefined);
      }
      await m.leave(limit).catch(() => undefined);
      this.#member = undefined;
    })();
    return this.#closed;
  }
}
