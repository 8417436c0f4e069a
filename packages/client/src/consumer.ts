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
import { backoffDelay, sleep } from './backoff.js';
import { WebkaError } from './errors.js';
import type { HttpClient } from './http-client.js';
import { GroupMember, type Assignment, type MemberEvent } from './group-member.js';
import type { ConsumerRecord, TopicPartitionOffset, ValueFormat } from './types.js';

export interface ConsumerOptions {
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
  valueFormat?: ValueFormat;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** How long close() waits for its commit and leave (default 5 s). */
  closeTimeoutMs?: number;
}

/** Failures after which an answer may have been lost in transit. */
const TRANSPORT_FAILURES = new Set(['NETWORK_ERROR', 'TIMEOUT', 'SHUTTING_DOWN', 'REQUEST_TIMEOUT']);

const key = (topic: string, partition: number): string => `${partition}:${topic}`;
const unkey = (k: string): { topic: string; partition: number } => {
  const i = k.indexOf(':');
  return { partition: Number(k.slice(0, i)), topic: k.slice(i + 1) };
};

export class Consumer implements AsyncIterable<ConsumerRecord> {
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
    try {
      while (!signal.aborted) {
        try {
          await this.#ensureMember(signal);
          for await (const ev of this.#events(signal)) {
            attempt = 0;
            this.#lastContact = Date.now();
            if (ev.kind === 'rebalance') {
              await this.#onAssignment(ev.assignment);
              continue;
            }
            for (const r of ev.records) {
              if (signal.aborted) return;
              const k = key(r.topic, r.partition);
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
          } else if (TRANSPORT_FAILURES.has(e.code) && this.#member !== undefined && !this.#streaming) {
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
      yield* member.stream({ valueFormat: this.#opts.valueFormat }, signal);
      if (member.sseUnsupported) {
        this.#sseUnsupported = true;
        return;
      }
      // The broker ended the stream (stopping, or the member was removed): reconnect.
      throw new WebkaError('NETWORK_ERROR', 'the event stream ended');
    }
    for (;;) yield* await member.poll({ maxWaitMs: this.#opts.maxWaitMs ?? 10_000, maxRecords: this.#opts.maxRecords, valueFormat: this.#opts.valueFormat }, signal);
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
    if (assignment !== undefined) await this.#onAssignment(assignment);
  }

  async #onAssignment(a: Assignment): Promise<void> {
    const next = new Set<string>();
    for (const tp of a.partitions) next.add(key(tp.topic, tp.partition));
    if (a.generationId === this.#generationId && this.#assigned !== undefined && next.size === this.#assigned.size && [...next].every((k) => this.#assigned!.has(k))) return;
    const revoked = this.#assigned === undefined ? [] : [...this.#assigned].filter((k) => !next.has(k));
    if (revoked.length > 0 && this.#autoCommit) {
      // Hand over what we finished, so the next owner starts after it (best effort: the group
      // may already refuse this generation's commits).
      await this.#commitKeys(revoked, this.#generationId).catch(() => undefined);
    }
    for (const k of revoked) {
      this.#delivered.delete(k);
      this.#processed.delete(k);
      this.#committed.delete(k);
    }
    this.#assigned = next;
    this.#generationId = a.generationId;
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
        if (m === undefined || Date.now() - this.#lastContact < hb) return;
        this.#lastContact = Date.now();
        m.heartbeat(AbortSignal.timeout(hb)).catch((e: unknown) => {
          if ((e as WebkaError).code === 'MEMBER_NOT_FOUND' && this.#member === m) this.#member = undefined;
        });
      }, hb);
    }
  }

  /**
   * Commits positions: by default the next offset after every record the loop has finished with;
   * or the given offsets (each the NEXT offset to read, as Kafka commits). Commits run one at a time.
   */
  commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (offsets !== undefined) {
        await this.#send(offsets);
        for (const o of offsets) this.#committed.set(key(o.topic, o.partition), o.offset);
        return;
      }
      await this.#commitKeys([...this.#processed.keys()], this.#generationId);
    };
    const p = this.#commitChain.then(run, run);
    this.#commitChain = p.catch(() => undefined);
    return p;
  }

  async #commitKeys(keys: string[], _generation: number | undefined, signal?: AbortSignal): Promise<void> {
    const offsets: TopicPartitionOffset[] = [];
    for (const k of keys) {
      const v = this.#processed.get(k);
      if (v !== undefined && this.#committed.get(k) !== v) offsets.push({ ...unkey(k), offset: v });
    }
    if (offsets.length === 0) return;
    await this.#send(offsets, signal);
    for (const o of offsets) this.#committed.set(key(o.topic, o.partition), o.offset);
  }

  async #send(offsets: TopicPartitionOffset[], signal?: AbortSignal): Promise<void> {
    const m = this.#member;
    if (m === undefined) throw new WebkaError('MEMBER_NOT_FOUND', 'the consumer is not in the group now (it is joining)', { status: 404, retriable: true });
    await m.commit(offsets, this.#generationId, signal);
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
