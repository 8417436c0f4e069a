/** The controller's leader election (cluster/leader-election.ts): only an ISR member leads, unless the topic allows unclean election. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { electLeader } from '../../src/cluster/leader-election.js';
import type { PartitionState } from '../../src/cluster/coordinator.js';

const state = (leader: number, isr: number[], leaderEpoch = 3): PartitionState => ({ leader, leaderEpoch, replicas: [1, 2, 3], isr, controllerEpoch: 1 });

test('a live leader is left alone', () => {
  assert.equal(electLeader(state(1, [1, 2, 3]), new Set([1, 2]), 2), null);
});

test('a lost leader is replaced by the first live ISR member, the epoch rises, the ISR keeps its live members', () => {
  assert.deepEqual(electLeader(state(1, [1, 3, 2]), new Set([2, 3]), 2), { leader: 3, leaderEpoch: 4, replicas: [1, 2, 3], isr: [3, 2], controllerEpoch: 2 });
});

test('a replica outside the ISR never leads: with no live ISR member the partition goes offline, then returns with its ISR member', () => {
  const offline = electLeader(state(1, [1]), new Set([2, 3]), 2);
  assert.deepEqual(offline, { leader: -1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1], controllerEpoch: 2 });
  assert.equal(electLeader(offline!, new Set([2, 3]), 2), null);
  assert.deepEqual(electLeader(offline!, new Set([1, 2, 3]), 2), { leader: 1, leaderEpoch: 5, replicas: [1, 2, 3], isr: [1], controllerEpoch: 2 });
});

test('unclean election: with no live ISR member a live replica outside it leads, alone in the ISR (a drained broker last); with none live the partition stays offline', () => {
  assert.deepEqual(electLeader(state(1, [1]), new Set([2, 3]), 2, new Set(), true), { leader: 2, leaderEpoch: 4, replicas: [1, 2, 3], isr: [2], controllerEpoch: 2 });
  assert.deepEqual(electLeader(state(-1, [1]), new Set([3]), 2, new Set(), true), { leader: 3, leaderEpoch: 4, replicas: [1, 2, 3], isr: [3], controllerEpoch: 2 });
  assert.deepEqual(electLeader(state(1, [1]), new Set([2, 3]), 2, new Set([2]), true)?.leader, 3);
  assert.deepEqual(electLeader(state(1, [1]), new Set([4]), 2, new Set(), true), { leader: -1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1], controllerEpoch: 2 });
  // a live ISR member still wins over an out-of-sync replica
  assert.deepEqual(electLeader(state(1, [1, 3]), new Set([2, 3]), 2, new Set(), true)?.leader, 3);
});
