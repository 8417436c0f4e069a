/**
 * The controller's leader election (clean by default: only an in-sync replica may lead). For each partition
 * whose leader is gone, the new leader is the first live member of the ISR; the ISR keeps its live
 * members; the leader epoch rises, so the old leader's epoch is fenced everywhere (replicas refuse
 * fetches of another epoch; the old leader takes no appends once it sees the state). With no live
 * ISR member the partition is offline (leader -1, ISR kept) until one comes back: never a replica
 * that may lack acknowledged records.
 *
 *   leader 1, ISR [1,2,3], broker 1 gone  ->  leader 2, epoch +1, ISR [2,3]
 *   leader 1, ISR [1],     broker 1 gone  ->  leader -1, epoch +1, ISR [1]   (offline)
 *   leader -1, ISR [1],    broker 1 back  ->  leader 1, epoch +1, ISR [1]
 *
 * Brokers in `avoid` (being drained) lead only when no other ISR member is alive.
 *
 * Unclean election (the topic's unclean.leader.election.enable, off by default) trades durability
 * for availability: with no live ISR member, a live replica outside the ISR leads, alone in the
 * ISR, and what it lacks of the old leader's log (acknowledged records included) is gone; the old
 * ISR members truncate to it when they come back.
 *
 *   leader -1, ISR [1], replicas [1,2,3], broker 1 gone, 2 live, unclean  ->  leader 2, epoch +1, ISR [2]
 */
import type { PartitionState } from './coordinator.js';

/** The state to write for a partition given the live brokers, or null when it needs no change. */
export function electLeader(state: PartitionState, live: ReadonlySet<number>, controllerEpoch: number, avoid: ReadonlySet<number> = new Set(), unclean = false): PartitionState | null {
  if (state.leader >= 0 && live.has(state.leader)) return null;
  const candidates = state.isr.filter((n) => live.has(n));
  if (candidates.length === 0) {
    const outOfSync = unclean ? state.replicas.filter((n) => live.has(n)) : [];
    if (outOfSync.length > 0) {
      const leader = outOfSync.find((n) => !avoid.has(n)) ?? outOfSync[0];
      return { ...state, leader, leaderEpoch: state.leaderEpoch + 1, isr: [leader], controllerEpoch };
    }
    if (state.leader === -1) return null;
    return { ...state, leader: -1, leaderEpoch: state.leaderEpoch + 1, controllerEpoch };
  }
  const leader = candidates.find((n) => !avoid.has(n)) ?? candidates[0];
  return { ...state, leader, leaderEpoch: state.leaderEpoch + 1, isr: candidates, controllerEpoch };
}
