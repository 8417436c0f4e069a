/**
 * The seam between the group coordinator and the ways of sharing partitions among members
 * (Kafka's ConsumerPartitionAssignor). Every assignor passes one conformance suite
 * (test/groups/assignors.test.ts): each partition of a subscribed topic goes to exactly one
 * member subscribed to that topic, and the same input gives the same output.
 *
 * Assignors are pure and synchronous: the coordinator computes a whole generation's assignment
 * in one step, which is what lets a join answer at once (see group.ts).
 */
import type { TopicPartition } from '@webka/protocol';

export interface AssignorMember {
  memberId: string;
  /** The existing topics this member subscribes to. */
  topics: readonly string[];
}

export interface AssignmentInput {
  /** In any order; assignors sort by memberId where order matters. */
  members: readonly AssignorMember[];
  /** Partition count of every topic some member subscribes to. */
  partitions: ReadonlyMap<string, number>;
  /** The current assignment (members that left are absent or ignored), for sticky assignors. */
  previous: ReadonlyMap<string, readonly TopicPartition[]>;
}

export interface Assignor {
  readonly name: string;
  /** Returns every member's partitions (members without any map to []). */
  assign(input: AssignmentInput): Map<string, TopicPartition[]>;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

export function emptyAssignment(members: readonly AssignorMember[]): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>();
  for (const m of members) out.set(m.memberId, []);
  return out;
}

/** Members sorted by id, so that assignments do not depend on join order. */
export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}
