/**
 * The group coordinator: every consumer group of every cluster, their members' leases, polls and
 * commits. Kafka's GroupCoordinator, adapted to HTTP (see group.ts for the state machine and the
 * fencing rules, and docs/consumer-groups.md for the API).
 *
 * Lifecycle: created over an open Broker (by the HTTP layer, or a test or benchmark in-process);
 * it replays committed offsets at once and listens for topic changes. close() stops its timers
 * and wakes every waiting poll. All calls run on the event loop: the membership and assignment
 * steps are synchronous, so they never interleave; only durable commits and long-poll waits yield.
 *
 * Sessions: each member's lease is renewed by every poll, heartbeat and commit, and a member in
 * a long poll is alive until the poll ends. One timer per group fires at the earliest lease end
 * and removes the members whose lease ran out (no polling of data or of clocks in between).
 */
import { MemberCount } from './member-count.js';
import { randomUUID } from 'node:crypto';
import type { AssignmentStrategy, GroupState, TopicPartition } from '@webka/protocol';
import { checkName } from '@webka/protocol';
import type { Broker } from '../broker.js';
import { WebkaError } from '../errors.js';
import { Group } from './group.js';
import { GroupMember, compileSubscription, DEFAULT_SETTINGS, type ClientDetails, type MemberSettings, type Subscription } from './group-member.js';
import { OffsetStore, checkCommit, groupPartition, OFFSETS_TOPIC_PARTITIONS, type OffsetCommit } from './offset-store.js';
import { readAssigned, type PolledRecord, type ReadLimits } from './member-reader.js';
import { RemotePartition, remoteChunkBytes, type ReadSource, type RemoteRead } from './remote-partition.js';
import { DEFAULT_ASSIGNOR } from './assignors.js';
import { tpKey } from './assignor.js';

export interface CoordinatorOptions {
  /** The clock for leases (tests drive a fake one together with expireSessions). */
  clock?: () => number;
  /** false: no session timers; the caller calls expireSessions() (the property test does). */
  timers?: boolean;
  /** Members of all groups together, HTTP and Kafka-protocol (config maxGroupMembers); past it a join is refused. */
  maxMembers?: number;
}

export interface JoinInput extends Partial<MemberSettings>, Subscription {
  clientId?: string;
  clientHost?: string;
  userAgent?: string | null;
  /** Who joins: the member belongs to this principal (default "anonymous", as with auth off). */
  principal?: string;
  assignmentStrategy?: AssignmentStrategy;
  /**
   * Whether the joining caller may read a topic. A pattern (unlike a list, which the HTTP layer
   * authorises up front) can match topics the caller may not read; those are never assigned to
   * this member. Absent: every topic (no authorisation).
   */
  canRead?: (topic: string) => boolean;
}

export interface Membership {
  memberId: string;
  generation: number;
  assignment: TopicPartition[];
  state: Group['state'];
}

export interface PollOptions extends ReadLimits {
  /** maxRecords <= 0: the member's maxPollRecords. */
  maxWaitMs: number;
  generation?: number;
  signal?: AbortSignal;
}

export interface PollResult {
  records: PolledRecord[];
  generation: number;
  assignment: TopicPartition[];
  /** Which read of the member this answer holds (for unread()). */
  read?: number;
}

const ANONYMOUS = 'anonymous';

/** The answer for a member that is not there, or that belongs to another principal. */
export function memberNotFound(groupId: string, memberId: string): WebkaError {
  return new WebkaError('MEMBER_NOT_FOUND', `member "${memberId}" is not in group "${groupId}" (it left, its session expired, or the broker restarted): join again`);
}

/** A member of a group that another protocol's members hold (a Kafka-protocol consumer). */
export interface ForeignMember {
  memberId: string;
  client: { clientId: string; clientHost: string; principal: string };
  joinedAt: number;
  lastSeenAt: number;
  sessionTimeoutMs: number;
  generation: number;
  topics: string[];
  assignment: TopicPartition[];
}

/** A group with members of another protocol, as an operator sees it (GroupAdmin). */
export interface ForeignGroup {
  groupId: string;
  state: GroupState;
  generationId: number;
  /** The assignment strategy the members chose (Kafka's protocol name), null before one is. */
  strategy: string | null;
  /** Kafka's protocol type ("consumer" for consumers). */
  protocolType: string;
  members: ForeignMember[];
}

/** The groups another protocol's members hold: only while they have members. */
export interface ForeignGroups {
  has(cluster: string, groupId: string): boolean;
  find(cluster: string, groupId: string): ForeignGroup | undefined;
  list(cluster: string): ForeignGroup[];
}

/** In a cluster: how to read the leader's copy of a partition this broker does not lead (server.ts). */
export interface RemoteReads {
  read(cluster: string, topic: string, partition: number): RemoteRead;
  onError(err: Error, where: { cluster: string; topic: string; partition: number }): void;
}

export class GroupCoordinator {
  readonly broker: Broker;
  readonly offsets: OffsetStore;
  /** The members of every group this broker coordinates (the Kafka-protocol groups count here too). */
  readonly members: MemberCount;
  #groups = new Map<string, Map<string, Group>>();
  #remoteReads: RemoteReads | undefined;
  /** Views of leaders' copies, by group, topic id and partition (each group reads at its own offsets). */
  readonly #remote = new Map<string, RemotePartition>();
  #remoteSweptAt = 0;
  #timers = new Map<Group, { timer: NodeJS.Timeout; due: number }>();
  #now: () => number;
  #useTimers: boolean;
  #unsubscribe: () => void;
  #closed = false;

  constructor(broker: Broker, opts: CoordinatorOptions = {}) {
    this.broker = broker;
    this.offsets = new OffsetStore(broker);
    this.#now = opts.clock ?? Date.now;
    this.#useTimers = opts.timers ?? true;
    this.members = new MemberCount(opts.maxMembers);
    this.#unsubscribe = broker.onTopicsChanged((cluster) => this.#topicsChanged(cluster));
  }

  // ---- groups

  /** The group, or undefined when it has neither members nor committed offsets. */
  findGroup(cluster: string, groupId: string): Group | undefined {
    return this.#groups.get(cluster)?.get(groupId);
  }

  groups(cluster: string): Group[] {
    this.broker.catalog.getCluster(cluster);
    return [...(this.#groups.get(cluster)?.values() ?? [])];
  }

  #group(cluster: string, groupId: string): Group {
    this.#checkOpen();
    this.broker.catalog.getCluster(cluster);
    const problem = checkName('group', groupId);
    if (problem !== null) throw new WebkaError('INVALID_NAME', problem);
    let byId = this.#groups.get(cluster);
    if (byId === undefined) this.#groups.set(cluster, (byId = new Map()));
    let g = byId.get(groupId);
    if (g === undefined) byId.set(groupId, (g = new Group(cluster, groupId, this.members)));
    return g;
  }

  /** Forgets a group that has no members (deletion; its offsets are the caller's to delete). */
  dropGroup(group: Group): void {
    if (group.members.size > 0) return;
    this.#groups.get(group.cluster)?.delete(group.groupId);
    this.#clearTimer(group);
  }

  /**
   * Refuses a caller that is not the member's principal exactly as if the member did not exist
   * (MEMBER_NOT_FOUND, same message), and touches nothing: no lease renewal, no rebalance.
   * `mayActForOthers` lets through a caller with the right to act on every member (removing
   * another principal's member is an admin action on the group). Absent members pass: the call
   * that follows answers for them.
   */
  checkOwner(cluster: string, groupId: string, memberId: string, principal: string, mayActForOthers = false): void {
    const member = this.findGroup(cluster, groupId)?.members.get(memberId);
    if (member !== undefined && member.client.principal !== principal && !mayActForOthers) throw memberNotFound(groupId, memberId);
  }

  #member(cluster: string, groupId: string, memberId: string): { group: Group; member: GroupMember } {
    this.#checkOpen();
    const group = this.findGroup(cluster, groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) throw memberNotFound(groupId, memberId);
    member.lastSeenAt = this.#now();
    return { group, member };
  }

  #topics(cluster: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.broker.listTopics(cluster)) if (!t.internal) out.set(t.name, t.partitions);
    return out;
  }

  #rebalance(group: Group): void {
    group.rebalance(this.#topics(group.cluster));
    this.#schedule(group);
  }

  #membership(group: Group, member: GroupMember): Membership {
    group.learn(member);
    return { memberId: member.memberId, generation: group.generationId, assignment: member.assignment, state: group.state };
  }

  // ---- membership

  #foreignGroups: ForeignGroups = { has: () => false, find: () => undefined, list: () => [] };
  #foreign = (cluster: string, groupId: string): boolean => this.#foreignGroups.has(cluster, groupId);

  /** Tells the coordinator which groups another protocol's members hold (Kafka's classic groups). */
  setForeignGroups(source: ForeignGroups): void {
    this.#foreignGroups = source;
  }

  /** Whether another protocol's members hold the group (resets and deletes must wait for them). */
  hasForeignMembers(cluster: string, groupId: string): boolean {
    return this.#foreign(cluster, groupId);
  }

  /** The group as another protocol's members hold it, if they do (for describe and list). */
  findForeignGroup(cluster: string, groupId: string): ForeignGroup | undefined {
    return this.#foreignGroups.find(cluster, groupId);
  }

  /** Every group another protocol's members hold in the cluster. */
  foreignGroups(cluster: string): ForeignGroup[] {
    return this.#foreignGroups.list(cluster);
  }

  join(cluster: string, groupId: string, input: JoinInput): Membership {
    if (this.#foreign(cluster, groupId)) {
      throw new WebkaError('INCONSISTENT_GROUP_PROTOCOL', `group "${groupId}" is a Kafka-protocol consumer group with members; HTTP consumers cannot join it`);
    }
    // past the broker's limit: refused before anything is made for it
    this.members.checkRoom();
    const group = this.#group(cluster, groupId);
    const strategy = input.assignmentStrategy ?? DEFAULT_ASSIGNOR;
    if (group.members.size > 0 && group.strategy !== null && group.strategy !== strategy) {
      throw new WebkaError('INCONSISTENT_GROUP_PROTOCOL', `group "${groupId}" assigns with ${group.strategy}; this member asked for ${strategy}`);
    }
    const subscription: Subscription = input.pattern !== undefined ? { pattern: input.pattern } : { topics: input.topics };
    compileSubscription({ topics: input.topics, pattern: input.pattern });
    const settings: MemberSettings = {
      autoCommit: input.autoCommit ?? DEFAULT_SETTINGS.autoCommit,
      autoCommitIntervalMs: input.autoCommitIntervalMs ?? DEFAULT_SETTINGS.autoCommitIntervalMs,
      autoOffsetReset: input.autoOffsetReset ?? DEFAULT_SETTINGS.autoOffsetReset,
      sessionTimeoutMs: input.sessionTimeoutMs ?? DEFAULT_SETTINGS.sessionTimeoutMs,
      maxPollRecords: input.maxPollRecords ?? DEFAULT_SETTINGS.maxPollRecords,
      delivery: input.delivery ?? DEFAULT_SETTINGS.delivery,
    };
    const clientId = input.clientId ?? 'consumer';
    const client: ClientDetails = { clientId, clientHost: input.clientHost ?? 'unknown', userAgent: input.userAgent ?? null, principal: input.principal ?? ANONYMOUS };
    const member = new GroupMember(`${clientId}-${randomUUID()}`, client, settings, subscription, this.#now(), input.canRead);
    group.strategy = strategy;
    group.members.set(member.memberId, member);
    this.#rebalance(group);
    return this.#membership(group, member);
  }

  heartbeat(cluster: string, groupId: string, memberId: string): Membership {
    const { group, member } = this.#member(cluster, groupId, memberId);
    return this.#membership(group, member);
  }

  updateSubscription(cluster: string, groupId: string, memberId: string, subscription: Subscription): Membership {
    const { group, member } = this.#member(cluster, groupId, memberId);
    compileSubscription(subscription);
    member.subscription = subscription.pattern !== undefined ? { pattern: subscription.pattern } : { topics: subscription.topics };
    this.#rebalance(group);
    return this.#membership(group, member);
  }

  /**
   * Leaves at once; the others rebalance. With autoCommit, what was delivered is committed first;
   * leaving never fails because of that commit (the offsets partition full or offline, say): the
   * member leaves without it and the answer says why (`finalCommitError`).
   */
  async leave(cluster: string, groupId: string, memberId: string): Promise<{ finalCommitError?: WebkaError }> {
    const { group, member } = this.#member(cluster, groupId, memberId);
    let finalCommitError: WebkaError | undefined;
    if (member.settings.autoCommit) {
      try {
        await this.#commitPositions(group, member);
      } catch (err) {
        finalCommitError = err instanceof WebkaError ? err : new WebkaError('STORAGE_ERROR', (err as Error).message);
      }
    }
    this.#remove(group, member);
    return finalCommitError === undefined ? {} : { finalCommitError };
  }

  #remove(group: Group, member: GroupMember): void {
    if (!group.members.delete(member.memberId)) return;
    // The empty group stays (state Empty) so that its generations keep counting up: a number is
    // never reused for a different assignment. Only deleting the group forgets it.
    this.#rebalance(group);
  }

  // ---- sessions

  /** Removes the members whose lease has run out, in one group or in all (tests call it so). */
  expireSessions(only?: Group): void {
    const now = this.#now();
    const groups = only !== undefined ? [only] : [...this.#groups.values()].flatMap((byId) => [...byId.values()]);
    for (const group of groups) {
      const expired = [...group.members.values()].filter((m) => m.activePolls === 0 && m.expiresAt <= now);
      if (expired.length === 0) continue;
      for (const m of expired) group.members.delete(m.memberId);
      this.#rebalance(group);
    }
  }

  #schedule(group: Group): void {
    if (!this.#useTimers || this.#closed) return;
    let due = Infinity;
    for (const m of group.members.values()) if (m.activePolls === 0) due = Math.min(due, m.expiresAt);
    const current = this.#timers.get(group);
    if (current !== undefined && current.due <= due) return;
    this.#clearTimer(group);
    if (due === Infinity) return;
    const timer = setTimeout(() => {
      this.#timers.delete(group);
      this.expireSessions(group);
      this.#schedule(group);
    }, Math.max(0, due - this.#now()) + 1);
    timer.unref();
    this.#timers.set(group, { timer, due });
  }

  #clearTimer(group: Group): void {
    const t = this.#timers.get(group);
    if (t !== undefined) clearTimeout(t.timer);
    this.#timers.delete(group);
  }

  // ---- topics

  #topicsChanged(cluster: string): void {
    if (this.#closed) return;
    if (!this.broker.listClusters().some((c) => c.name === cluster)) {
      // the cluster was deleted, with its offsets topic
      for (const g of this.#groups.get(cluster)?.values() ?? []) {
        this.#clearTimer(g);
        g.kill();
      }
      this.#groups.delete(cluster);
      this.offsets.forgetCluster(cluster);
      return;
    }
    const topics = this.#topics(cluster);
    for (const group of this.#groups.get(cluster)?.values() ?? []) {
      if (group.members.size > 0 && group.topicsChanged(topics)) this.#rebalance(group);
    }
  }

  /**
   * In a cluster: this broker has become the leader of `__consumer_offsets` partition `index`,
   * so the coordinator of the groups that hash to it. Members it may still hold from an earlier
   * term are gone (their polls end; they join again), and the committed offsets are read again
   * from the replicated partition (offsets.reload; group calls wait for it).
   */
  takeOver(cluster: string, index: number): Promise<void> {
    for (const g of [...(this.#groups.get(cluster)?.values() ?? [])]) {
      if (groupPartition(g.groupId, OFFSETS_TOPIC_PARTITIONS) !== index) continue;
      this.#clearTimer(g);
      g.kill();
      this.#groups.get(cluster)?.delete(g.groupId);
    }
    return this.offsets.reload(cluster, index);
  }

  // ---- poll

  /**
   * In a cluster, members read each partition from its leader, as Kafka consumers do: from this
   * broker's copy when it leads, else through a view of the leader's (remote-partition.ts). A
   * follower's copy would do for records, but not for positions: it can be behind the leader, so
   * a member's position could look past its end and be reset.
   */
  useRemoteReads(reads: RemoteReads): void {
    this.#remoteReads = reads;
  }

  readonly #sourceOf = (group: Group, topic: string, partition: number): ReadSource => {
    const cluster = group.cluster;
    const local = this.broker.partition(cluster, topic, partition);
    const reads = this.#remoteReads;
    if (reads === undefined || local.replica === null || local.replica.leads) return local;
    const key = `${cluster}\u0000${group.groupId}\u0000${local.topicId}/${partition}`;
    let view = this.#remote.get(key);
    if (view === undefined) {
      this.#sweepRemote();
      view = new RemotePartition(reads.read(cluster, topic, partition), (err) => reads.onError(err, { cluster, topic, partition }), this.#now, () => remoteChunkBytes(this.#remote.size));
      this.#remote.set(key, view);
    }
    return view;
  };

  /** Drops the remote views no poll has used for a while (looked at on each poll, at most once every 10 s). */
  #sweepRemote(): void {
    if (this.#now() - this.#remoteSweptAt < 10_000) return;
    this.#remoteSweptAt = this.#now();
    for (const [key, view] of this.#remote) if (view.expire()) this.#remote.delete(key);
  }

  /**
   * Returns records from the member's partitions. When none are available it waits up to
   * maxWaitMs, woken by an append to any of its partitions or by a rebalance (a member whose
   * group is still forming gets its assignment and its first records in the same poll).
   */
  async poll(cluster: string, groupId: string, memberId: string, opts: PollOptions): Promise<PollResult> {
    let { group, member } = this.#member(cluster, groupId, memberId);
    this.#sweepRemote();
    if (opts.generation !== undefined && opts.generation !== group.generationId) {
      throw new WebkaError('STALE_GENERATION', `generation ${opts.generation} is not current: group "${groupId}" is at generation ${group.generationId}; poll without it (or with the new one) to carry on`, {
        generation: group.generationId,
        assignment: member.assignment,
      });
    }
    member.activePolls++;
    try {
      if (member.settings.autoCommit && this.#now() - member.lastAutoCommitAt >= member.settings.autoCommitIntervalMs) {
        // Kafka's rule: a poll commits what the earlier polls delivered
        member.lastAutoCommitAt = this.#now();
        await this.#commitPositions(group, member).catch((err: unknown) => {
          // a partition that moved is the next owner's to read again: not this poll's failure
          if (!(err instanceof WebkaError && (err.code === 'STALE_GENERATION' || err.code === 'NOT_ASSIGNED'))) throw err;
        });
      }
      const deadline = this.#now() + opts.maxWaitMs;
      for (;;) {
        ({ group, member } = this.#stillMember(group, member));
        group.learn(member);
        const limits = { maxRecords: opts.maxRecords > 0 ? opts.maxRecords : member.settings.maxPollRecords, maxBytes: opts.maxBytes, isolation: opts.isolation };
        // a poll whose client is gone reads nothing: what it read would be lost with the answer
        if (opts.signal?.aborted) return { records: [], generation: member.generation, assignment: member.assignment };
        let records = readAssigned(this.#sourceOf, this.offsets, group, member, limits);
        if (records.length > 0 && member.settings.delivery === 'at-most-once') {
          const generation = group.generationId;
          await this.#commitPositions(group, member, new Set(records.map((r) => tpKey(r.topic, r.partition))));
          // The commit becomes visible to a new owner only once durable: if the group rebalanced
          // meanwhile, a new owner may already be reading from the old commit, so this member
          // delivers only what it still owns (at most once: the rest is committed, not resent).
          if (group.generationId !== generation) records = records.filter((r) => member.owns({ topic: r.topic, partition: r.partition }));
        }
        const left = deadline - this.#now();
        if (records.length > 0 || left <= 0 || opts.signal?.aborted || this.#closed) {
          return { records, generation: member.generation, assignment: member.assignment, read: member.cursor };
        }
        await this.#waitForChange(group, member, left, opts.signal);
      }
    } finally {
      member.activePolls--;
      member.lastSeenAt = this.#now();
      this.#schedule(group);
    }
  }

  /**
   * An answer that never reached its client: an at-least-once member goes back to the first
   * offset of each partition in it, unless the member read again since (that answer then holds
   * the records, or a seek or rebalance moved the position on purpose). At-most-once members are
   * left alone: what they read is committed.
   */
  unread(cluster: string, groupId: string, memberId: string, answer: PollResult): void {
    const member = this.findGroup(cluster, groupId)?.members.get(memberId);
    if (member === undefined || member.settings.delivery !== 'at-least-once' || member.cursor !== answer.read) return;
    const records = answer.records;
    const span = new Map<string, { first: number; next: number }>();
    for (const r of records) {
      const key = tpKey(r.topic, r.partition);
      const s = span.get(key);
      if (s === undefined) span.set(key, { first: r.record.offset, next: r.record.offset + 1 });
      else s.next = r.record.offset + 1;
    }
    for (const [key, s] of span) {
      if (member.positions.get(key) === undefined) continue;
      member.buffers.delete(key);
      member.positions.set(key, s.first);
    }
  }

  #stillMember(group: Group, member: GroupMember): { group: Group; member: GroupMember } {
    this.#checkOpen();
    if (group.state === 'Dead' || group.members.get(member.memberId) !== member) {
      throw new WebkaError('MEMBER_NOT_FOUND', `member "${member.memberId}" was removed from group "${group.groupId}" while it waited: join again`);
    }
    return { group, member };
  }

  #waitForChange(group: Group, member: GroupMember, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const undo: Array<() => void> = [];
      const done = (): void => {
        for (const u of undo) u();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      undo.push(() => clearTimeout(timer));
      undo.push(group.onChange(done));
      for (const tp of member.assignment) {
        try {
          undo.push(this.#sourceOf(group, tp.topic, tp.partition).subscribe(done));
        } catch {
          // deleted topic: the rebalance that follows wakes us
        }
      }
      if (signal !== undefined) {
        signal.addEventListener('abort', done, { once: true });
        undo.push(() => signal.removeEventListener('abort', done));
      }
    });
  }

  // ---- commits

  /**
   * Commits offsets for a member: the given ones, or (offsets undefined) everything delivered to
   * it so far. `generation` is the one the records were read in (default: the member's last).
   * Answers once the commit is fsynced.
   */
  async commit(cluster: string, groupId: string, memberId: string, offsets?: OffsetCommit[], generation?: number): Promise<{ offsets: OffsetCommit[]; generation: number }> {
    const { group, member } = this.#member(cluster, groupId, memberId);
    const gen = generation ?? member.generation;
    if (offsets === undefined) return { offsets: await this.#commitPositions(group, member, undefined, gen), generation: group.generationId };
    offsets.forEach((o, i) => {
      group.checkCommit(member, gen, o);
      checkCommit(o, this.broker.partition(cluster, o.topic, o.partition).commitLimit(), `offsets[${i}]`);
    });
    await this.offsets.commit(cluster, groupId, offsets);
    return { offsets, generation: group.generationId };
  }

  /**
   * Checks, without committing, that a member may commit these offsets in this generation (a
   * transaction's offsets, TxnOffsetCommit: the generation is checked when they join the
   * transaction, so a fenced member cannot commit through one either).
   */
  checkMemberCommit(cluster: string, groupId: string, memberId: string, generation: number, offsets: readonly OffsetCommit[]): void {
    const { group, member } = this.#member(cluster, groupId, memberId);
    offsets.forEach((o, i) => {
      group.checkCommit(member, generation, o);
      checkCommit(o, this.broker.partition(cluster, o.topic, o.partition).commitLimit(), `offsets[${i}]`);
    });
  }

  /** Commits the member's positions that moved past the committed offsets. */
  async #commitPositions(group: Group, member: GroupMember, only?: Set<string>, generation = member.generation): Promise<OffsetCommit[]> {
    const out: OffsetCommit[] = [];
    for (const tp of member.assignment) {
      const key = tpKey(tp.topic, tp.partition);
      const pos = member.positions.get(key);
      if (pos === undefined || (only !== undefined && !only.has(key))) continue;
      if (this.offsets.get(group.cluster, group.groupId, tp.topic, tp.partition)?.offset === pos) continue;
      group.checkCommit(member, generation, tp);
      out.push({ topic: tp.topic, partition: tp.partition, offset: pos });
    }
    await this.offsets.commit(group.cluster, group.groupId, out);
    return out;
  }

  /** Kafka's assign() consumers: commits under a group id without joining; refused while it has members. */
  async commitStandalone(cluster: string, groupId: string, offsets: OffsetCommit[]): Promise<OffsetCommit[]> {
    const group = this.#group(cluster, groupId);
    if (group.members.size > 0) {
      throw new WebkaError('GROUP_NOT_EMPTY', `group "${groupId}" has ${group.members.size} active member(s); only its members may commit while it has any`);
    }
    offsets.forEach((o, i) => checkCommit(o, this.broker.partition(cluster, o.topic, o.partition).commitLimit(), `offsets[${i}]`));
    await this.offsets.commit(cluster, groupId, offsets);
    return offsets;
  }

  /** Groups known in memory plus those that only have committed offsets. */
  knownGroups(cluster: string): Group[] {
    for (const id of this.offsets.groups(cluster)) this.#group(cluster, id);
    return this.groups(cluster);
  }

  // ---- lifecycle

  #checkOpen(): void {
    if (this.#closed) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const g of this.#timers.keys()) this.#clearTimer(g);
    for (const byId of this.#groups.values()) for (const g of byId.values()) g.notify();
    for (const view of this.#remote.values()) view.close();
    this.#remote.clear();
  }
}
