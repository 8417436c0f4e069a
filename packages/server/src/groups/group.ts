/**
 * A consumer group: its members, its generation (Kafka's generationId) and who owns which
 * partition in it. The coordinator owns every Group; all calls run on the event loop.
 *
 * Where Webka differs from Kafka's classic protocol: a rebalance is one synchronous step. The
 * assignment of the next generation is computed at once from the members present, and the
 * generation is bumped in the same step, so a join answers immediately with its assignment and
 * nobody waits for the others to rejoin (the cause of stalled rebalances). The other members
 * learn of the new generation on their next call; a long poll already waiting is woken at once.
 *
 *            join                   every member has learned the generation
 *   Empty ----------> CompletingRebalance ------------------------------> Stable
 *     ^                 |   ^   ^                                            |
 *     | last member     |   |   +--------------------------------------------+
 *     | leaves/expires  |   |   join, leave, session expiry, new subscription,
 *     +-----------------+   |   topic created/deleted/grown: new generation
 *                           |   (PreparingRebalance lasts one synchronous step)
 *   Empty/any --delete group--> Dead (the Group object is dropped)
 *
 * Fencing: in each generation a partition has exactly one owner (the assignors guarantee it and
 * checkAssignment verifies it). Reads always use the current generation's assignment, checked in
 * the same synchronous step as the read. A commit names the generation its records were read in;
 * it is accepted for a partition only when the member has owned it without a break since that
 * generation (owners[tp].since <= generation), so a rebalance that leaves a partition in place
 * does not fail the commit, while a member whose partition moved away is refused
 * (STALE_GENERATION) and cannot overwrite the new owner's progress.
 */
import { CountedMembers, MemberCount } from './member-count.js';
import type { AssignmentStrategy, GroupState, TopicPartition } from '@webka/protocol';
import { WebkaError } from '../errors.js';
import { tpKey, byTopicPartition } from './assignor.js';
import { ASSIGNORS } from './assignors.js';
import type { GroupMember } from './group-member.js';

interface Ownership {
  memberId: string;
  /** The generation since which this member has owned the partition without a break. */
  since: number;
}

export class Group {
  readonly cluster: string;
  readonly groupId: string;
  state: GroupState = 'Empty';
  generationId = 0;
  strategy: AssignmentStrategy | null = null;
  readonly members: Map<string, GroupMember>;
  #owners = new Map<string, Ownership>();
  #listeners = new Set<() => void>();
  /** The subscribed topics and their partition counts at the last rebalance. */
  #topicsSignature = '';

  constructor(cluster: string, groupId: string, count: MemberCount = new MemberCount()) {
    this.members = new CountedMembers(count);
    this.cluster = cluster;
    this.groupId = groupId;
  }

  /**
   * Computes the next generation from the members present and the topics' partition counts
   * (topic name -> partitions, for every topic that exists), and switches to it at once.
   */
  rebalance(topics: ReadonlyMap<string, number>): void {
    if (this.state === 'Dead') return;
    this.state = 'PreparingRebalance';
    const subscribed = this.#subscribedTopics(topics);
    const members = [...this.members.values()];
    const previous = new Map<string, TopicPartition[]>();
    for (const m of members) previous.set(m.memberId, m.assignment);
    const assignment =
      members.length === 0
        ? new Map<string, TopicPartition[]>()
        : ASSIGNORS[this.strategy ?? 'sticky'].assign({
            members: members.map((m) => ({ memberId: m.memberId, topics: [...subscribed.keys()].filter((t) => m.subscribes(t)) })),
            partitions: subscribed,
            previous,
          });
    checkAssignment(assignment, this.members, subscribed);

    this.generationId++;
    const owners = new Map<string, Ownership>();
    for (const m of members) {
      const next = (assignment.get(m.memberId) ?? []).slice().sort(byTopicPartition);
      for (const tp of next) {
        const key = tpKey(tp.topic, tp.partition);
        const before = this.#owners.get(key);
        owners.set(key, { memberId: m.memberId, since: before?.memberId === m.memberId ? before.since : this.generationId });
      }
      m.assignment = next;
      for (const key of m.positions.keys()) {
        if (owners.get(key)?.memberId === m.memberId) continue;
        m.positions.delete(key);
        m.buffers.delete(key);
      }
    }
    this.#owners = owners;
    this.#topicsSignature = signature(subscribed);
    if (members.length === 0) this.strategy = null;
    this.state = members.length === 0 ? 'Empty' : 'CompletingRebalance';
    this.notify();
  }

  /** True when the subscribed topics or their partition counts differ from the last rebalance. */
  topicsChanged(topics: ReadonlyMap<string, number>): boolean {
    return signature(this.#subscribedTopics(topics)) !== this.#topicsSignature;
  }

  #subscribedTopics(topics: ReadonlyMap<string, number>): Map<string, number> {
    const out = new Map<string, number>();
    for (const [topic, count] of topics) {
      for (const m of this.members.values()) {
        if (m.subscribes(topic)) {
          out.set(topic, count);
          break;
        }
      }
    }
    return out;
  }

  /** The member has been told the current generation; the group is Stable once all have. */
  learn(member: GroupMember): void {
    member.generation = this.generationId;
    if (this.state === 'CompletingRebalance' && [...this.members.values()].every((m) => m.generation === this.generationId)) {
      this.state = 'Stable';
    }
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.#owners.get(tpKey(topic, partition))?.memberId;
  }

  /** Refuses a commit by member for tp of records read in `generation` (see the file comment). */
  checkCommit(member: GroupMember, generation: number, tp: TopicPartition): void {
    const owner = this.#owners.get(tpKey(tp.topic, tp.partition));
    const details = { generation: this.generationId, assignment: member.assignment };
    if (generation > this.generationId) {
      throw new WebkaError('STALE_GENERATION', `generation ${generation} of group "${this.groupId}" does not exist; the current one is ${this.generationId}`, details);
    }
    if (owner?.memberId === member.memberId && owner.since <= generation) return;
    if (generation < this.generationId) {
      throw new WebkaError(
        'STALE_GENERATION',
        `member ${member.memberId} read ${tp.topic}/${tp.partition} in generation ${generation}, but the group is at generation ${this.generationId} and the partition ` +
          `${owner?.memberId === member.memberId ? 'was owned by another member in between' : 'has moved'}; poll to learn the new assignment (uncommitted records are delivered again to the owner)`,
        details,
      );
    }
    throw new WebkaError('NOT_ASSIGNED', `member ${member.memberId} does not own ${tp.topic}/${tp.partition} in generation ${this.generationId}`, details);
  }

  /** Calls fn on every rebalance and membership change (waiting polls listen). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  notify(): void {
    for (const fn of [...this.#listeners]) fn();
  }

  /** Deleted: waiters wake and find it gone. */
  kill(): void {
    this.state = 'Dead';
    this.members.clear();
    this.#owners.clear();
    this.notify();
  }
}

function signature(topics: ReadonlyMap<string, number>): string {
  return [...topics].map(([t, n]) => `${t}:${n}`).sort().join(',');
}

/**
 * The invariant every generation must satisfy, checked before it is installed: each partition of
 * a subscribed topic has exactly one owner, a member that subscribes to its topic. An assignor
 * bug fails the rebalance loudly instead of letting two members read one partition.
 */
export function checkAssignment(assignment: ReadonlyMap<string, readonly TopicPartition[]>, members: ReadonlyMap<string, GroupMember>, topics: ReadonlyMap<string, number>): void {
  const seen = new Set<string>();
  for (const [memberId, tps] of assignment) {
    const m = members.get(memberId);
    for (const tp of tps) {
      const key = tpKey(tp.topic, tp.partition);
      const count = topics.get(tp.topic);
      if (m === undefined || count === undefined || tp.partition < 0 || tp.partition >= count || !m.subscribes(tp.topic) || seen.has(key)) {
        throw new WebkaError('INTERNAL', `assignor produced an invalid assignment: ${tp.topic}/${tp.partition} for ${memberId}`);
      }
      seen.add(key);
    }
  }
  if (members.size === 0) return;
  for (const [topic, count] of topics) {
    for (let p = 0; p < count; p++) {
      if (!seen.has(tpKey(topic, p))) throw new WebkaError('INTERNAL', `assignor left ${topic}/${p} without an owner`);
    }
  }
}
