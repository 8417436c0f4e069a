/**
 * The default assignor: balanced like round robin, but it starts from the current assignment
 * and moves only what balance requires (the aim of Kafka's sticky and cooperative-sticky
 * assignors). When a member joins it takes partitions from the most loaded members; when one
 * leaves, only its partitions move. Fewer moves mean fewer consumers that must drop their
 * in-flight work and fewer records delivered again under at-least-once.
 *
 * Webka needs no cooperative two-phase protocol for this: the coordinator switches generations
 * atomically (group.ts), so a moved partition never has two owners in one generation.
 *
 * Steps: keep every previous owner that still subscribes; deal the unowned partitions to the
 * least loaded eligible member; then, while some member owns two or more partitions more than
 * an eligible other, move one across. Each move lowers the sum of squared loads, so it ends.
 */
import type { TopicPartition } from '@webka/protocol';
import { byTopicPartition, emptyAssignment, sortedMembers, tpKey, type Assignor, type AssignmentInput, type AssignorMember } from './assignor.js';

export const stickyAssignor: Assignor = {
  name: 'sticky',
  assign(input: AssignmentInput): Map<string, TopicPartition[]> {
    const out = emptyAssignment(input.members);
    const members = sortedMembers(input.members);
    if (members.length === 0) return out;
    const eligible = new Map<string, AssignorMember[]>();
    for (const topic of input.partitions.keys()) eligible.set(topic, members.filter((m) => m.topics.includes(topic)));

    const owner = new Map<string, string>();
    const give = (memberId: string, tp: TopicPartition): void => {
      owner.set(tpKey(tp.topic, tp.partition), memberId);
      out.get(memberId)!.push(tp);
    };
    for (const m of members) {
      for (const tp of [...(input.previous.get(m.memberId) ?? [])].sort(byTopicPartition)) {
        const count = input.partitions.get(tp.topic);
        if (count === undefined || tp.partition >= count || !m.topics.includes(tp.topic)) continue;
        if (owner.has(tpKey(tp.topic, tp.partition))) continue;
        give(m.memberId, { topic: tp.topic, partition: tp.partition });
      }
    }

    const leastLoaded = (candidates: AssignorMember[]): AssignorMember | undefined => {
      let best: AssignorMember | undefined;
      for (const c of candidates) if (best === undefined || out.get(c.memberId)!.length < out.get(best.memberId)!.length) best = c;
      return best;
    };
    for (const [topic, count] of [...input.partitions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (let p = 0; p < count; p++) {
        if (owner.has(tpKey(topic, p))) continue;
        const m = leastLoaded(eligible.get(topic)!);
        if (m !== undefined) give(m.memberId, { topic, partition: p });
      }
    }

    for (;;) {
      let moved = false;
      const byLoad = [...members].sort((a, b) => out.get(b.memberId)!.length - out.get(a.memberId)!.length);
      search: for (const from of byLoad) {
        const owned = out.get(from.memberId)!;
        for (let i = owned.length - 1; i >= 0; i--) {
          const to = leastLoaded(eligible.get(owned[i].topic)!);
          if (to === undefined || owned.length - out.get(to.memberId)!.length < 2) continue;
          const [tp] = owned.splice(i, 1);
          give(to.memberId, tp);
          moved = true;
          break search;
        }
      }
      if (!moved) break;
    }
    for (const list of out.values()) list.sort(byTopicPartition);
    return out;
  },
};
