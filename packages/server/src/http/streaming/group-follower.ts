/**
 * Follows one consumer-group member for a stream (SSE or a WebSocket subscription): long polls
 * of the coordinator in a loop, each woken by an append to one of the member's partitions or by
 * a rebalance (never by a timer looking for data), and hands the records to a sink. Every change
 * of generation is announced to the sink before the records read in it.
 *
 * Commits follow the member's delivery setting: at-most-once members are committed by the
 * coordinator as records are read for sending; at-least-once members are committed only when
 * the client acknowledges (the sink's owner calls the coordinator's commit). When an
 * at-least-once stream ends, the member is rewound to its committed offsets, so records that
 * were sent but never acknowledged are delivered again (unless a resume position says what the
 * client did receive).
 *
 * Lifecycle: start() runs the loop until close(), a failure (sink.fail) or the broker stopping.
 */
import type { TopicPartition, GroupPositionEntry } from '@webka/protocol';
import type { Isolation } from '../../partitions/partition.js';
import { memberNotFound, type GroupCoordinator } from '../../groups/group-coordinator.js';
import type { GroupMember } from '../../groups/group-member.js';
import type { PolledRecord } from '../../groups/member-reader.js';
import { tpKey } from '../../groups/assignor.js';
import { WebkaError } from '../../errors.js';
import { toWebkaError } from '../error-handler.js';
import { checkRange } from './positions.js';

export interface Membership {
  memberId: string;
  generation: number;
  assignment: TopicPartition[];
}

export interface GroupSink {
  /** The member's (new) generation and assignment, before any record read in it. */
  rebalance(m: Membership): void;
  /** One poll's records (non-empty); false when the client's buffer is full (pause until resume()). */
  deliver(records: PolledRecord[], generation: number): boolean;
  fail(err: WebkaError): void;
}

export interface GroupFollowOptions {
  maxRecords: number;
  maxBytes: number;
  /** Longest single wait; the loop simply polls again after it (a lease renewal, not a data check). */
  maxWaitMs: number;
  /** read_committed: stop at each partition's last stable offset and skip aborted transactions. */
  isolation?: Isolation;
}

export class GroupFollower {
  readonly cluster: string;
  readonly groupId: string;
  readonly memberId: string;
  #coordinator: GroupCoordinator;
  #sink: GroupSink;
  #opts: GroupFollowOptions;
  #closed = new AbortController();
  #poll: AbortController | null = null;
  #paused: (() => void) | null = null;
  #generation = -1;

  constructor(coordinator: GroupCoordinator, cluster: string, groupId: string, memberId: string, sink: GroupSink, opts: GroupFollowOptions) {
    this.#coordinator = coordinator;
    this.cluster = cluster;
    this.groupId = groupId;
    this.memberId = memberId;
    this.#sink = sink;
    this.#opts = opts;
  }

  /** The member (MEMBER_NOT_FOUND when it left or expired). */
  member(): GroupMember {
    const m = this.#coordinator.findGroup(this.cluster, this.groupId)?.members.get(this.memberId);
    if (m === undefined) throw memberNotFound(this.groupId, this.memberId);
    return m;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Moves an at-least-once member to where a client's resume position says it stopped (only for
   * partitions it owns); at-most-once members are left alone, since what was sent is committed.
   */
  resumeAt(entries: readonly GroupPositionEntry[]): void {
    const m = this.member();
    if (m.settings.delivery !== 'at-least-once') return;
    for (const e of entries) {
      if (!m.owns({ topic: e.topic, partition: e.partition })) continue;
      // outside the log: 416 before the stream starts, as a partition or topic stream answers
      checkRange(this.#coordinator.broker.partition(this.cluster, e.topic, e.partition), e.offset);
      seek(m, e.topic, e.partition, e.offset);
    }
  }

  start(): void {
    void this.#run();
  }

  resume(): void {
    const r = this.#paused;
    this.#paused = null;
    r?.();
  }

  close(): void {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort();
    this.#poll?.abort();
    this.resume();
    this.#rewind();
  }

  /** Sent but not acknowledged is not delivered: an at-least-once member goes back to its commits. */
  #rewind(): void {
    const m = this.#coordinator.findGroup(this.cluster, this.groupId)?.members.get(this.memberId);
    if (m === undefined || m.settings.delivery !== 'at-least-once') return;
    for (const tp of m.assignment) seek(m, tp.topic, tp.partition, undefined);
  }

  #announce(m: Membership): void {
    if (m.generation === this.#generation) return;
    this.#generation = m.generation;
    this.#sink.rebalance({ memberId: m.memberId, generation: m.generation, assignment: m.assignment });
  }

  async #run(): Promise<void> {
    try {
      await this.#loop();
    } catch (e) {
      if (!this.#closed.signal.aborted) this.#sink.fail(toWebkaError(e));
      this.#closed.abort();
    }
  }

  async #loop(): Promise<void> {
    const closed = this.#closed.signal;
    while (!closed.aborted) {
      // A rebalance between polls is announced now, not with the next record.
      const current = this.#coordinator.findGroup(this.cluster, this.groupId);
      if (current !== undefined && current.generationId !== this.#generation) {
        this.#announce(this.#coordinator.heartbeat(this.cluster, this.groupId, this.memberId));
      }
      // A rebalance ends the wait at once, so that it is announced without waiting for a record.
      const poll = (this.#poll = new AbortController());
      const group = this.#coordinator.findGroup(this.cluster, this.groupId);
      const generation = group?.generationId;
      const unwatch = group?.onChange(() => {
        if (group.generationId !== generation || !group.members.has(this.memberId)) poll.abort();
      });
      let result;
      try {
        result = await this.#coordinator.poll(this.cluster, this.groupId, this.memberId, { ...this.#opts, signal: poll.signal });
      } finally {
        unwatch?.();
        this.#poll = null;
      }
      if (closed.aborted) {
        // the aborted poll may have read on after close() rewound the member
        this.#rewind();
        return;
      }
      this.#announce({ memberId: this.memberId, generation: result.generation, assignment: result.assignment });
      if (result.records.length > 0 && !this.#sink.deliver(result.records, result.generation)) {
        await new Promise<void>((resolve) => (this.#paused = resolve));
      }
    }
  }
}

/**
 * Sets (or, with undefined, forgets: back to the committed offset) a member's next offset for a
 * partition, dropping what the member had read ahead for it.
 */
function seek(m: GroupMember, topic: string, partition: number, offset: number | undefined): void {
  const key = tpKey(topic, partition);
  m.buffers.delete(key);
  if (offset === undefined) m.positions.delete(key);
  else m.positions.set(key, offset);
}
