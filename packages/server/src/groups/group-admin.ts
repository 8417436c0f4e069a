/**
 * Operators' view of the groups: list, describe with lag, reset the offsets of an empty group,
 * delete an empty group. Kafka's kafka-consumer-groups tool, as calls on the coordinator.
 */
import type { GroupState, TopicPartition } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import type { ForeignGroup, ForeignMember, GroupCoordinator } from './group-coordinator.js';
import type { Group } from './group.js';
import type { GroupMember } from './group-member.js';
import { checkCommit, type CommittedOffset, type OffsetCommit } from './offset-store.js';
import { tpKey, byTopicPartition } from './assignor.js';

export interface GroupOffsetInfo {
  topic: string;
  partition: number;
  committed: number | null;
  metadata: string | null;
  highWatermark: number | null;
  lag: number | null;
}

/** What a caller may see of a group (groups.ts groupView); absent: everything. */
export interface GroupView {
  member(m: Pick<GroupMember, 'client'> | ForeignMember): boolean;
  topic(topic: string): boolean;
}

export interface ResetRequest {
  to: 'earliest' | 'latest' | 'timestamp' | 'offsets';
  timestamp?: number;
  offsets?: OffsetCommit[];
  topics?: string[];
  dryRun?: boolean;
}

export class GroupAdmin {
  #c: GroupCoordinator;

  constructor(coordinator: GroupCoordinator) {
    this.#c = coordinator;
  }

  /** HTTP groups, Kafka-protocol groups with members, and groups known only by committed offsets. */
  list(cluster: string): Array<{ group: string; state: GroupState; members: number; generation: number }> {
    const out = new Map<string, { group: string; state: GroupState; members: number; generation: number }>();
    for (const g of this.#c.knownGroups(cluster)) out.set(g.groupId, { group: g.groupId, state: g.state, members: g.members.size, generation: g.generationId });
    // a group's members are of one protocol: Kafka members leave any HTTP group of the id empty
    for (const g of this.#c.foreignGroups(cluster)) out.set(g.groupId, { group: g.groupId, state: g.state, members: g.members.length, generation: g.generationId });
    return [...out.values()].sort((a, b) => (a.group < b.group ? -1 : 1));
  }

  #known(cluster: string, groupId: string): Group {
    this.#c.knownGroups(cluster);
    const g = this.#c.findGroup(cluster, groupId);
    if (g === undefined) throw new WebkaError('GROUP_NOT_FOUND', `group "${groupId}" has no members and no committed offsets in cluster "${cluster}"`);
    return g;
  }

  describe(cluster: string, groupId: string, view?: GroupView) {
    this.#c.broker.catalog.getCluster(cluster);
    const foreign = this.#c.findForeignGroup(cluster, groupId);
    if (foreign !== undefined) return this.#describeForeign(cluster, foreign, view);
    const g = this.#known(cluster, groupId);
    const seen = (topic: string): boolean => view === undefined || view.topic(topic);
    const members = [...g.members.values()].filter((m) => view === undefined || view.member(m));
    const offsets = this.offsets(cluster, groupId, members.flatMap((m) => m.assignment)).filter((o) => seen(o.topic));
    return {
      group: g.groupId,
      state: g.state,
      generation: g.generationId,
      assignmentStrategy: g.strategy,
      members: members.map((m) => ({
        memberId: m.memberId,
        clientId: m.client.clientId,
        clientHost: m.client.clientHost,
        userAgent: m.client.userAgent,
        joinedAt: m.joinedAt,
        lastSeenAt: m.lastSeenAt,
        sessionTimeoutMs: m.settings.sessionTimeoutMs,
        generation: m.generation,
        subscription: m.subscription.topics !== undefined ? { topics: m.subscription.topics.filter(seen) } : m.subscription,
        delivery: m.settings.delivery,
        autoCommit: m.settings.autoCommit,
        assignment: m.assignment.filter((tp) => seen(tp.topic)),
      })),
      offsets,
      totalLag: offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0),
    };
  }

  /**
   * A Kafka-protocol group, in the same shape: its members' subscriptions and assignments as the
   * consumer protocol gives them; delivery "kafka" (the client reads and commits on its own, with
   * settings the broker does not see, so autoCommit reads false) and no user agent.
   */
  #describeForeign(cluster: string, g: ForeignGroup, view?: GroupView) {
    const seen = (topic: string): boolean => view === undefined || view.topic(topic);
    const members = g.members.filter((m) => view === undefined || view.member(m));
    const offsets = this.offsets(cluster, g.groupId, members.flatMap((m) => m.assignment)).filter((o) => seen(o.topic));
    return {
      group: g.groupId,
      state: g.state,
      generation: g.generationId,
      assignmentStrategy: g.strategy,
      protocolType: g.protocolType,
      members: members.map((m) => ({
        memberId: m.memberId,
        clientId: m.client.clientId,
        clientHost: m.client.clientHost,
        userAgent: null,
        joinedAt: m.joinedAt,
        lastSeenAt: m.lastSeenAt,
        sessionTimeoutMs: m.sessionTimeoutMs,
        generation: m.generation,
        subscription: { topics: m.topics.filter(seen) },
        delivery: 'kafka',
        autoCommit: false,
        assignment: m.assignment.filter((tp) => seen(tp.topic)),
      })),
      offsets,
      totalLag: offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0),
    };
  }

  /** Committed offsets with lag, for the committed partitions and any extra ones given. */
  offsets(cluster: string, groupId: string, extra: readonly TopicPartition[] = []): GroupOffsetInfo[] {
    const committed = new Map<string, CommittedOffset>();
    for (const o of this.#c.offsets.list(cluster, groupId)) committed.set(tpKey(o.topic, o.partition), o);
    const tps = new Map<string, TopicPartition>();
    for (const o of committed.values()) tps.set(tpKey(o.topic, o.partition), { topic: o.topic, partition: o.partition });
    for (const tp of extra) tps.set(tpKey(tp.topic, tp.partition), tp);
    return [...tps.values()].sort(byTopicPartition).map((tp) => {
      const c = committed.get(tpKey(tp.topic, tp.partition));
      const hw = this.#highWatermark(cluster, tp);
      return {
        topic: tp.topic,
        partition: tp.partition,
        committed: c?.offset ?? null,
        metadata: c?.metadata ?? null,
        highWatermark: hw,
        lag: c === undefined || hw === null ? null : Math.max(0, hw - c.offset),
      };
    });
  }

  #highWatermark(cluster: string, tp: TopicPartition): number | null {
    try {
      return this.#c.broker.partition(cluster, tp.topic, tp.partition).log.highWatermark;
    } catch {
      return null;
    }
  }

  #requireEmpty(g: Group, what: string): void {
    if (g.members.size > 0) {
      throw new WebkaError('GROUP_NOT_EMPTY', `group "${g.groupId}" has ${g.members.size} active member(s); ${what} needs an empty group (stop the members or wait for their sessions to end)`);
    }
  }

  #requireNoForeignMembers(cluster: string, groupId: string, what: string): void {
    if (this.#c.hasForeignMembers(cluster, groupId)) {
      throw new WebkaError('GROUP_NOT_EMPTY', `group "${groupId}" has active Kafka-protocol members; ${what} needs an empty group (stop the consumers first)`);
    }
  }

  /** Sets the offsets of an empty group (or, with dryRun, says what it would set). */
  async resetOffsets(cluster: string, groupId: string, req: ResetRequest) {
    const broker = this.#c.broker;
    broker.catalog.getCluster(cluster);
    const g = this.#c.findGroup(cluster, groupId);
    if (g !== undefined) this.#requireEmpty(g, 'resetting offsets');
    this.#requireNoForeignMembers(cluster, groupId, 'resetting offsets');
    let targets: OffsetCommit[];
    if (req.to === 'offsets') {
      if (req.offsets === undefined || req.offsets.length === 0) throw new WebkaError('INVALID_REQUEST', 'to=offsets needs "offsets": [{"topic","partition","offset"}]');
      targets = req.offsets;
    } else {
      if (req.to === 'timestamp' && req.timestamp === undefined) throw new WebkaError('INVALID_REQUEST', 'to=timestamp needs "timestamp" (ms since the epoch)');
      let tps: TopicPartition[];
      if (req.topics !== undefined) {
        tps = req.topics.flatMap((topic) => broker.topicPartitions(cluster, topic).map((_, partition) => ({ topic, partition })));
      } else {
        tps = this.#c.offsets.list(cluster, groupId).filter((o) => this.#highWatermark(cluster, o) !== null);
      }
      if (tps.length === 0) throw new WebkaError('INVALID_REQUEST', `group "${groupId}" has no committed offsets to reset: name the "topics" to reset`);
      targets = tps.map((tp) => {
        const o = broker.listOffsets(cluster, tp.topic, tp.partition, req.to === 'timestamp' ? req.timestamp : undefined);
        const offset = req.to === 'earliest' ? o.earliest : req.to === 'latest' ? o.latest : (o.offsetForTimestamp ?? o.latest);
        return { topic: tp.topic, partition: tp.partition, offset };
      });
    }
    targets.forEach((o, i) => checkCommit(o, broker.partition(cluster, o.topic, o.partition).commitLimit(), `offsets[${i}]`));
    const answer = {
      dryRun: req.dryRun === true,
      offsets: targets.map((o) => ({ topic: o.topic, partition: o.partition, previous: this.#c.offsets.get(cluster, groupId, o.topic, o.partition)?.offset ?? null, offset: o.offset })),
    };
    if (!answer.dryRun) await this.#c.commitStandalone(cluster, groupId, targets);
    return answer;
  }

  /** Deletes an empty group and its committed offsets (tombstones in __consumer_offsets). */
  async deleteGroup(cluster: string, groupId: string): Promise<void> {
    this.#requireNoForeignMembers(cluster, groupId, 'deleting the group');
    const g = this.#known(cluster, groupId);
    this.#requireEmpty(g, 'deleting the group');
    await this.#c.offsets.deleteGroup(cluster, groupId);
    this.#c.dropGroup(g);
    g.kill();
  }
}
