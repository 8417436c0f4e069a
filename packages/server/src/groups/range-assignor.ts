/**
 * Kafka's RangeAssignor: per topic, the members subscribed to it (sorted by id) take contiguous
 * ranges of its partitions; the first (count % members) take one more. Co-partitioned topics
 * line up (member i gets the same partition numbers of every topic), at the price of balance
 * across many topics.
 */
import type { TopicPartition } from '@webka/protocol';
import { emptyAssignment, sortedMembers, type Assignor, type AssignmentInput } from './assignor.js';

export const rangeAssignor: Assignor = {
  name: 'range',
  assign(input: AssignmentInput): Map<string, TopicPartition[]> {
    const out = emptyAssignment(input.members);
    const members = sortedMembers(input.members);
    for (const [topic, count] of [...input.partitions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const subscribed = members.filter((m) => m.topics.includes(topic));
      if (subscribed.length === 0) continue;
      const per = Math.floor(count / subscribed.length);
      const extra = count % subscribed.length;
      let next = 0;
      subscribed.forEach((m, i) => {
        const n = per + (i < extra ? 1 : 0);
        for (let k = 0; k < n; k++) out.get(m.memberId)!.push({ topic, partition: next++ });
      });
    }
    return out;
  },
};
