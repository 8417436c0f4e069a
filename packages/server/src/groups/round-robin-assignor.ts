/**
 * Kafka's RoundRobinAssignor: every partition of every subscribed topic, sorted by topic and
 * partition, is dealt in turn to the members (sorted by id), skipping members that do not
 * subscribe to its topic. Balanced when subscriptions are equal; moves many partitions when a
 * member joins or leaves.
 */
import type { TopicPartition } from '@webka/protocol';
import { emptyAssignment, sortedMembers, type Assignor, type AssignmentInput } from './assignor.js';

export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  assign(input: AssignmentInput): Map<string, TopicPartition[]> {
    const out = emptyAssignment(input.members);
    const members = sortedMembers(input.members);
    if (members.length === 0) return out;
    let turn = 0;
    for (const [topic, count] of [...input.partitions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (let p = 0; p < count; p++) {
        for (let tried = 0; tried < members.length; tried++) {
          const m = members[turn % members.length];
          turn++;
          if (m.topics.includes(topic)) {
            out.get(m.memberId)!.push({ topic, partition: p });
            break;
          }
        }
      }
    }
    return out;
  },
};
