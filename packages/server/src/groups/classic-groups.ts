/**
 * Kafka's classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) for Kafka-protocol
 * consumers: the members choose a protocol together and their leader computes the assignment
 * (client-side assignment); the broker only runs the rounds and hands the assignment out. Webka's
 * HTTP groups (group-coordinator.ts) assign on the broker instead; a group is one kind or the
 * other while it has members, and joining with the other kind is INCONSISTENT_GROUP_PROTOCOL.
 * Committed offsets of both live in the same OffsetStore (`__consumer_offsets`).
 *
 * States, with Kafka's names:
 *
 *   Empty --join--> PreparingRebalance --every member joined, or rebalance timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable --join, leave or session expiry-->
 *   PreparingRebalance ...          (the last member leaving: Empty, and the group is forgotten)
 *
 * Created by startServer over the HTTP group coordinator; close() ends every waiting join and
 * sync and clears the timers. All calls run on the event loop; only JoinGroup and SyncGroup wait
 * (for the round to complete), each resolved by the step that completes it.
 */
import { CountedMembers, type MemberCount } from './member-count.js';
import { randomUUID } from 'node:crypto';
import { WebkaError } from '../errors.js';
import type { ForeignGroup, GroupCoordinator } from './group-coordinator.js';
import type { OffsetCommit } from './offset-store.js';
import { assignedPartitions, subscribedTopics } from './consumer-protocol.js';

export type ClassicState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface ClassicProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinInput {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ClassicProtocol[];
  /** Who joins: the member belongs to this principal ("anonymous" with authentication off). */
  principal: string;
}

export interface JoinResult {
  generationId: number;
  protocolType: string;
  protocolName: string;
  leader: string;
  memberId: string;
  /** Every member with its metadata for the chosen protocol: for the leader only, else empty. */
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

class ClassicMember {
  readonly memberId: string;
  /** The principal that joined it: only it may rejoin, sync, heartbeat or commit as the member. */
  readonly principal: string;
  input: JoinInput;
  assignment: Buffer = Buffer.alloc(0);
  join: Waiter<JoinResult> | null = null;
  sync: Waiter<Buffer> | null = null;
  session: NodeJS.Timeout | null = null;
  readonly joinedAt = Date.now();
  lastSeenAt = Date.now();

  constructor(memberId: string, input: JoinInput) {
    this.memberId = memberId;
    this.principal = input.principal;
    this.input = input;
  }
}

export class ClassicGroup {
  readonly cluster: string;
  readonly groupId: string;
  state: ClassicState = 'Empty';
  generationId = 0;
  protocolType = '';
  protocolName = '';
  leader = '';
  readonly members: Map<string, ClassicMember>;
  rebalanceTimer: NodeJS.Timeout | null = null;

  constructor(cluster: string, groupId: string, count: MemberCount) {
    this.members = new CountedMembers(count);
    this.cluster = cluster;
    this.groupId = groupId;
  }
}

const rebalancing = (g: ClassicGroup): WebkaError => new WebkaError('REBALANCE_IN_PROGRESS', `group "${g.groupId}" is rebalancing: join again`);

export class ClassicGroupCoordinator {
  readonly #http: GroupCoordinator;
  readonly #groups = new Map<string, ClassicGroup>();

  constructor(http: GroupCoordinator) {
    this.#http = http;
    http.setForeignGroups({
      has: (cluster, groupId) => (this.find(cluster, groupId)?.members.size ?? 0) > 0,
      find: (cluster, groupId) => {
        const g = this.find(cluster, groupId);
        return g === undefined || g.members.size === 0 ? undefined : view(g);
      },
      list: (cluster) => this.list(cluster).filter((g) => g.members.size > 0).map(view),
    });
  }

  get offsets(): GroupCoordinator['offsets'] {
    return this.#http.offsets;
  }

  /** The HTTP groups of a cluster (for listings that show both kinds). */
  httpGroups(cluster: string): ReturnType<GroupCoordinator['knownGroups']> {
    return this.#http.knownGroups(cluster);
  }

  /**
   * Deletes a group's committed offsets (DeleteGroups). Refused while members of either kind
   * hold it; GROUP_NOT_FOUND when it has neither members nor offsets.
   */
  async deleteGroup(cluster: string, groupId: string): Promise<void> {
    const httpGroup = this.#http.findGroup(cluster, groupId);
    if (httpGroup !== undefined && httpGroup.members.size > 0) throw new WebkaError('GROUP_NOT_EMPTY', `group "${groupId}" has HTTP members`);
    if (!this.#http.offsets.groups(cluster).includes(groupId)) throw new WebkaError('GROUP_NOT_FOUND', `group "${groupId}" has no committed offsets`);
    await this.#http.offsets.deleteGroup(cluster, groupId);
    if (httpGroup !== undefined) this.#http.dropGroup(httpGroup);
  }

  find(cluster: string, groupId: string): ClassicGroup | undefined {
    return this.#groups.get(`${cluster}\u0000${groupId}`);
  }

  list(cluster: string): ClassicGroup[] {
    return [...this.#groups.values()].filter((g) => g.cluster === cluster);
  }

  /**
   * The caller's member: another principal's member is answered exactly as a missing one
   * (MEMBER_NOT_FOUND, Kafka's UNKNOWN_MEMBER_ID) and is not touched (docs/security.md, "Ownership").
   */
  #member(cluster: string, groupId: string, memberId: string, principal: string, generationId?: number): { g: ClassicGroup; m: ClassicMember } {
    const g = this.find(cluster, groupId);
    const m = g?.members.get(memberId);
    if (g === undefined || m === undefined || m.principal !== principal) throw new WebkaError('MEMBER_NOT_FOUND', `member "${memberId}" is not in group "${groupId}": join again`);
    if (generationId !== undefined && generationId !== g.generationId) {
      throw new WebkaError('STALE_GENERATION', `generation ${generationId} of group "${groupId}" is over; the current one is ${g.generationId}`);
    }
    this.#touch(g, m);
    return { g, m };
  }

  /** JoinGroup: resolves when the round completes, with the generation and (for the leader) every member. */
  join(cluster: string, groupId: string, input: JoinInput): Promise<JoinResult> {
    this.#http.broker.catalog.getCluster(cluster);
    const httpGroup = this.#http.findGroup(cluster, groupId);
    if (httpGroup !== undefined && httpGroup.members.size > 0) {
      throw new WebkaError('INCONSISTENT_GROUP_PROTOCOL', `group "${groupId}" is an HTTP consumer group with members; Kafka clients cannot join it`);
    }
    // a new member past the broker's limit: refused before anything is made for it
    if (input.memberId === '') this.#http.members.checkRoom();
    const key = `${cluster}\u0000${groupId}`;
    let g = this.#groups.get(key);
    if (g === undefined) this.#groups.set(key, (g = new ClassicGroup(cluster, groupId, this.#http.members)));
    if (g.members.size > 0) {
      if (input.protocolType !== g.protocolType) throw new WebkaError('INCONSISTENT_GROUP_PROTOCOL', `group "${groupId}" uses protocol type "${g.protocolType}", not "${input.protocolType}"`);
      const shared = [...g.members.values()].every((m) => m.memberId === input.memberId || m.input.protocols.some((p) => input.protocols.some((q) => q.name === p.name)));
      if (!shared) throw new WebkaError('INCONSISTENT_GROUP_PROTOCOL', `group "${groupId}" has no assignment strategy in common with ${input.protocols.map((p) => p.name).join(', ')}`);
    }
    let m = input.memberId === '' ? undefined : g.members.get(input.memberId);
    if (m !== undefined && m.principal !== input.principal) m = undefined;
    if (input.memberId !== '' && m === undefined) throw new WebkaError('MEMBER_NOT_FOUND', `member "${input.memberId}" is not in group "${groupId}": join with an empty member id`);
    if (m === undefined) {
      m = new ClassicMember(`${input.clientId || 'consumer'}-${randomUUID()}`, input);
      g.members.set(m.memberId, m);
    }
    m.input = input;
    g.protocolType = input.protocolType;
    m.join?.reject(rebalancing(g));
    const member = m;
    const result = new Promise<JoinResult>((resolve, reject) => (member.join = { resolve, reject }));
    this.#touch(g, m);
    if (g.state !== 'PreparingRebalance') this.#prepareRebalance(g);
    this.#maybeCompleteJoin(g);
    return result;
  }

  #prepareRebalance(g: ClassicGroup): void {
    for (const m of g.members.values()) {
      m.sync?.reject(rebalancing(g));
      m.sync = null;
    }
    g.state = 'PreparingRebalance';
    const timeout = Math.max(...[...g.members.values()].map((m) => m.input.rebalanceTimeoutMs), 1);
    if (g.rebalanceTimer !== null) clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = setTimeout(() => {
      // members that did not rejoin in time are out
      for (const m of [...g.members.values()]) if (m.join === null) this.#remove(g, m, false);
      this.#maybeCompleteJoin(g);
    }, timeout);
    g.rebalanceTimer.unref();
  }

  #maybeCompleteJoin(g: ClassicGroup): void {
    if (g.state !== 'PreparingRebalance') return;
    const members = [...g.members.values()];
    if (members.length === 0) return this.#empty(g);
    if (members.some((m) => m.join === null)) return;
    if (g.rebalanceTimer !== null) clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = null;
    g.generationId++;
    g.state = 'CompletingRebalance';
    g.protocolName = members[0].input.protocols.map((p) => p.name).find((name) => members.every((m) => m.input.protocols.some((p) => p.name === name)))!;
    if (!g.members.has(g.leader)) g.leader = members[0].memberId;
    const all = members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.input.groupInstanceId, metadata: m.input.protocols.find((p) => p.name === g.protocolName)!.metadata }));
    for (const m of members) {
      const waiter = m.join!;
      m.join = null;
      this.#touch(g, m);
      waiter.resolve({ generationId: g.generationId, protocolType: g.protocolType, protocolName: g.protocolName, leader: g.leader, memberId: m.memberId, members: m.memberId === g.leader ? all : [] });
    }
  }

  /** SyncGroup: the leader hands in every member's assignment; each member gets its own. */
  sync(cluster: string, groupId: string, memberId: string, principal: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }>): Promise<Buffer> {
    const { g, m } = this.#member(cluster, groupId, memberId, principal, generationId);
    if (g.state === 'PreparingRebalance') throw rebalancing(g);
    if (g.state === 'Stable') return Promise.resolve(m.assignment);
    const result = new Promise<Buffer>((resolve, reject) => (m.sync = { resolve, reject }));
    if (memberId === g.leader) {
      const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
      g.state = 'Stable';
      for (const x of g.members.values()) {
        x.assignment = given.get(x.memberId) ?? Buffer.alloc(0);
        x.sync?.resolve(x.assignment);
        x.sync = null;
      }
    }
    return result;
  }

  heartbeat(cluster: string, groupId: string, memberId: string, principal: string, generationId: number): void {
    const { g } = this.#member(cluster, groupId, memberId, principal, generationId);
    if (g.state === 'PreparingRebalance') throw rebalancing(g);
  }

  /**
   * LeaveGroup: the members go at once and the others rebalance. Removing another principal's
   * member takes `mayActForOthers` (admin on the group); without it, it is not there.
   */
  leave(cluster: string, groupId: string, memberIds: string[], principal: string, mayActForOthers = false): void {
    const g = this.find(cluster, groupId);
    for (const id of memberIds) {
      const m = g?.members.get(id);
      if (g === undefined || m === undefined || (m.principal !== principal && !mayActForOthers)) throw new WebkaError('MEMBER_NOT_FOUND', `member "${id}" is not in group "${groupId}"`);
      this.#remove(g, m, true);
    }
  }

  /**
   * OffsetCommit. A member commits within its generation; generation -1 with no member id is a
   * commit from outside the group (an admin tool, or a consumer that assigns itself), allowed
   * while the group has no members.
   */
  async commit(cluster: string, groupId: string, memberId: string, principal: string, generationId: number, offsets: OffsetCommit[]): Promise<void> {
    if (generationId < 0 && memberId === '') {
      const g = this.find(cluster, groupId);
      if (g !== undefined && g.members.size > 0) throw new WebkaError('STALE_GENERATION', `group "${groupId}" has members: commit as a member, with its generation`);
      const httpGroup = this.#http.findGroup(cluster, groupId);
      if (httpGroup !== undefined && httpGroup.members.size > 0) throw new WebkaError('INCONSISTENT_GROUP_PROTOCOL', `group "${groupId}" is an HTTP consumer group with members`);
    } else {
      this.checkMemberCommit(cluster, groupId, memberId, principal, generationId);
    }
    await this.#http.offsets.commit(cluster, groupId, offsets);
  }

  /** Throws unless the member may commit in this generation (OffsetCommit, TxnOffsetCommit). */
  checkMemberCommit(cluster: string, groupId: string, memberId: string, principal: string, generationId: number): void {
    const { g } = this.#member(cluster, groupId, memberId, principal, generationId);
    if (g.state === 'PreparingRebalance') throw rebalancing(g);
  }

  #touch(g: ClassicGroup, m: ClassicMember): void {
    m.lastSeenAt = Date.now();
    if (m.session !== null) clearTimeout(m.session);
    m.session = setTimeout(() => {
      m.session = null;
      // a member waiting in a join round is alive until the round ends
      if (m.join === null && g.members.get(m.memberId) === m) this.#remove(g, m, true);
    }, m.input.sessionTimeoutMs);
    m.session.unref();
  }

  #remove(g: ClassicGroup, m: ClassicMember, rebalance: boolean): void {
    g.members.delete(m.memberId);
    if (m.session !== null) clearTimeout(m.session);
    const gone = new WebkaError('MEMBER_NOT_FOUND', `member "${m.memberId}" left group "${g.groupId}"`);
    m.join?.reject(gone);
    m.sync?.reject(gone);
    m.join = m.sync = null;
    if (g.members.size === 0) return this.#empty(g);
    if (rebalance && g.state !== 'PreparingRebalance') this.#prepareRebalance(g);
    this.#maybeCompleteJoin(g);
  }

  #empty(g: ClassicGroup): void {
    if (g.rebalanceTimer !== null) clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = null;
    g.state = 'Empty';
    g.generationId++;
    this.#groups.delete(`${g.cluster}\u0000${g.groupId}`);
  }

  /** Ends every waiting join and sync and clears the timers. */
  close(): void {
    for (const g of [...this.#groups.values()]) for (const m of [...g.members.values()]) this.#remove(g, m, false);
  }
}

/**
 * A Kafka-protocol group as HTTP describes and lists it: its members' subscriptions and
 * assignments decoded from the consumer protocol (protocol type "consumer"; others show none).
 */
function view(g: ClassicGroup): ForeignGroup {
  const consumer = g.protocolType === 'consumer';
  return {
    groupId: g.groupId,
    state: g.state,
    generationId: g.generationId,
    strategy: g.protocolName === '' ? null : g.protocolName,
    protocolType: g.protocolType,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      client: { clientId: m.input.clientId, clientHost: m.input.clientHost, principal: m.principal },
      joinedAt: m.joinedAt,
      lastSeenAt: m.lastSeenAt,
      sessionTimeoutMs: m.input.sessionTimeoutMs,
      generation: g.generationId,
      topics: consumer ? subscribedTopics(m.input.protocols.find((p) => p.name === g.protocolName)?.metadata ?? m.input.protocols[0]?.metadata ?? Buffer.alloc(0)) : [],
      assignment: consumer ? assignedPartitions(m.assignment) : [],
    })),
  };
}
