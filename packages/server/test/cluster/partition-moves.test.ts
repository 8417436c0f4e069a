/**
 * The controller's planned partition moves (cluster/partition-moves.ts), step by step: a
 * reassignment waits for its new replicas to join the ISR, moves leadership off a removed
 * leader, then removes the old replicas; preferred-leader election; draining a broker; and the
 * checks of a target replica list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MoveInputError, advanceReassignment, checkReplicas, drainStep, preferredLeader, startReassignment } from '../../src/cluster/partition-moves.js';
import { electLeader } from '../../src/cluster/leader-election.js';
import type { PartitionState } from '../../src/cluster/coordinator.js';

const state = (leader: number, replicas: number[], isr: number[]): PartitionState => ({ leader, leaderEpoch: 3, replicas, isr, controllerEpoch: 1 });
const all = new Set([1, 2, 3, 4]);
const none = new Set<number>();

test('a reassignment: the new replica catches up, leadership moves off the removed leader, then the old replica goes', () => {
  const started = startReassignment(state(1, [1, 2, 3], [1, 2, 3]), [4, 2, 3], 2);
  assert.deepEqual(started, { leader: 1, leaderEpoch: 3, replicas: [4, 2, 3, 1], isr: [1, 2, 3], adding: [4], removing: [1], controllerEpoch: 2 });
  assert.equal(advanceReassignment(started, all, none, 2), null, 'nothing until 4 is in sync');
  const moved = advanceReassignment({ ...started, isr: [1, 2, 3, 4] }, all, none, 2)!;
  assert.equal(moved.leader, 4);
  assert.equal(moved.leaderEpoch, 4);
  assert.deepEqual(moved.removing, [1], 'the old replica stays until leadership has moved');
  assert.deepEqual(advanceReassignment(moved, all, none, 2), { leader: 4, leaderEpoch: 4, replicas: [4, 2, 3], isr: [2, 3, 4], controllerEpoch: 2 });
  assert.equal(advanceReassignment(state(1, [1, 2, 3], [1, 2, 3]), all, none, 2), null, 'no reassignment, no step');
});

test('a reassignment that keeps its leader, or only reorders, changes no leader', () => {
  const started = startReassignment(state(2, [1, 2, 3], [1, 2, 3]), [2, 3, 4], 2);
  assert.deepEqual(advanceReassignment({ ...started, isr: [1, 2, 3, 4] }, all, none, 2), { leader: 2, leaderEpoch: 3, replicas: [2, 3, 4], isr: [2, 3, 4], controllerEpoch: 2 });
  assert.deepEqual(startReassignment(state(1, [1, 2, 3], [1, 2, 3]), [3, 2, 1], 2), { leader: 1, leaderEpoch: 3, replicas: [3, 2, 1], isr: [1, 2, 3], controllerEpoch: 2 });
});

test('a target replica list is checked: count, duplicates, live brokers', () => {
  const live = new Set([1, 2, 3]);
  const code = (replicas: number[]): string | undefined => {
    try {
      checkReplicas(replicas, live);
      return undefined;
    } catch (err) {
      return (err as MoveInputError).code;
    }
  };
  assert.equal(code([1, 2, 3]), undefined);
  assert.equal(code([1, 2, 3, 4]), 'INVALID_REPLICATION_FACTOR');
  assert.equal(code([1, 1]), 'INVALID_REPLICAS');
  assert.equal(code([1, 9]), 'BROKER_NOT_FOUND');
});

test('preferred leader: the first replica leads again only when alive, in sync and not drained', () => {
  assert.deepEqual(preferredLeader(state(2, [1, 2, 3], [1, 2, 3]), all, none, 2), { leader: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 2, 3], controllerEpoch: 2 });
  assert.equal(preferredLeader(state(1, [1, 2, 3], [1, 2, 3]), all, none, 2), null);
  assert.equal(preferredLeader(state(2, [1, 2, 3], [2, 3]), all, none, 2), null);
  assert.equal(preferredLeader(state(2, [1, 2, 3], [1, 2, 3]), new Set([2, 3]), none, 2), null);
  assert.equal(preferredLeader(state(2, [1, 2, 3], [1, 2, 3]), all, new Set([1]), 2), null);
});

test('draining: leadership moves first, then the broker leaves the ISR, or its replica moves', () => {
  const draining = new Set([1]);
  const spare = (): number => 4;
  const led = drainStep(state(1, [1, 2, 3], [1, 2, 3]), draining, all, () => false, spare, 2)!;
  assert.equal(led.leader, 2);
  assert.deepEqual(drainStep(led, draining, all, () => false, spare, 2)!.isr, [2, 3]);
  assert.deepEqual(drainStep(led, draining, all, () => true, spare, 2)!.replicas, [4, 2, 3, 1], 'with its replicas: reassigned to a spare broker');
  assert.equal(drainStep(state(1, [1], [1]), draining, all, () => false, spare, 2), null, 'no other in-sync replica: blocked');
  assert.equal(electLeader(state(4, [1, 2, 3], [1, 2]), new Set([1, 2]), 2, draining)!.leader, 2, 'failover avoids a broker being drained');
});
