/**
 * One member of a consumer group: its settings, subscription, lease and the positions it has
 * been delivered up to. Lives in the broker, not in an HTTP connection: any request naming the
 * member id (from any connection, through any load balancer path) carries on where the last left.
 * Created by GroupCoordinator.join; removed by leave, session expiry or group deletion.
 */
import type { TopicPartition } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import type { DecodedRecord } from '../storage/record-batch.js';
import { compileTopicPattern, type TopicPattern } from './topic-pattern.js';

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';
export type Delivery = 'at-least-once' | 'at-most-once';

export interface MemberSettings {
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  autoOffsetReset: AutoOffsetReset;
  sessionTimeoutMs: number;
  maxPollRecords: number;
  delivery: Delivery;
}

export const DEFAULT_SETTINGS: MemberSettings = {
  autoCommit: true,
  autoCommitIntervalMs: 5_000,
  autoOffsetReset: 'latest',
  sessionTimeoutMs: 45_000,
  maxPollRecords: 500,
  delivery: 'at-least-once',
};

export interface Subscription {
  topics?: string[];
  pattern?: string;
}

export interface ClientDetails {
  clientId: string;
  clientHost: string;
  userAgent: string | null;
  /**
   * The principal that joined the member (docs/security.md, "Ownership"): only it may poll,
   * heartbeat, commit, change the subscription or follow the member; others are told the member
   * does not exist. "anonymous" when authentication is off (everyone is the same caller then).
   */
  principal: string;
}

/** Checks that exactly one of topics and pattern is given, and that the pattern compiles. */
export function compileSubscription(s: Subscription): TopicPattern | null {
  if ((s.topics === undefined) === (s.pattern === undefined)) {
    throw new WebkaError('INVALID_REQUEST', 'subscribe with either "topics" (a list of names) or "pattern" (a regular expression), not both or neither');
  }
  return s.pattern === undefined ? null : compileTopicPattern(s.pattern);
}

export class GroupMember {
  readonly memberId: string;
  readonly client: ClientDetails;
  readonly joinedAt: number;
  readonly settings: MemberSettings;
  #subscription: Subscription;
  #regex: TopicPattern | null;
  lastSeenAt: number;
  /** The last generation this member was told of (in a join, poll, heartbeat or commit answer). */
  generation = 0;
  assignment: TopicPartition[] = [];
  /** Next offset to deliver, per owned partition (tpKey); dropped when the partition moves. */
  readonly positions = new Map<string, number>();
  /**
   * Records read from the log but not yet delivered, per partition: a read decodes whole batches,
   * and a poll that takes a fair share from each partition would otherwise decode a batch again
   * for every share (Kafka's consumer keeps such completed fetches too). Valid while `from` is
   * the partition's position; dropped with the position when the partition moves. `records`
   * from index `start` on are what is left (a poll moves `start` rather than copy the rest).
   */
  readonly buffers = new Map<string, { from: number; records: DecodedRecord[]; start: number; nextOffset: number }>();
  /** Polls in progress: a member waiting in a long poll is alive whatever its session timeout. */
  activePolls = 0;
  lastAutoCommitAt: number;
  /** Rotates the partition order of successive polls, so that no partition is always served last. */
  cursor = 0;

  /** Set at join from the caller's rights: topics a pattern matches but the caller may not read are left out. */
  readonly #canRead: ((topic: string) => boolean) | undefined;

  constructor(memberId: string, client: ClientDetails, settings: MemberSettings, subscription: Subscription, now: number, canRead?: (topic: string) => boolean) {
    this.memberId = memberId;
    this.#canRead = canRead;
    this.client = client;
    this.settings = settings;
    this.#regex = compileSubscription(subscription);
    this.#subscription = subscription;
    this.joinedAt = now;
    this.lastSeenAt = now;
    this.lastAutoCommitAt = now;
  }

  get subscription(): Subscription {
    return this.#subscription;
  }

  set subscription(s: Subscription) {
    this.#regex = compileSubscription(s);
    this.#subscription = s;
  }

  subscribes(topic: string): boolean {
    // rights first: a pattern is never run against a topic its member may not read
    if (this.#canRead !== undefined && !this.#canRead(topic)) return false;
    return this.#regex !== null ? this.#regex.matches(topic) : this.#subscription.topics!.includes(topic);
  }

  /**
   * Whether the member may be handed records of this topic now: checked on every read, so a read
   * right revoked after the assignment stops delivery at once, not at the next rebalance.
   */
  mayRead(topic: string): boolean {
    return this.#canRead === undefined || this.#canRead(topic);
  }

  get expiresAt(): number {
    return this.lastSeenAt + this.settings.sessionTimeoutMs;
  }

  owns(tp: TopicPartition): boolean {
    return this.assignment.some((a) => a.topic === tp.topic && a.partition === tp.partition);
  }
}
