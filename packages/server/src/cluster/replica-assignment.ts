/**
 * Where a new topic's replicas go, and the partition state the controller writes for them.
 * Assignment follows Kafka's rack-unaware rule (AdminUtils.assignReplicasToBrokers): partition p's
 * first replica (its preferred leader) is broker (start + p) mod n, so leaders spread evenly; the
 * others follow at a shift that grows after every n partitions, so followers spread too.
 */
import type { ClusterTopic, Coordinator, PartitionState } from './coordinator.js';

/** Thrown when a topic asks for more replicas than there are live brokers. */
export class ReplicationFactorError extends Error {
  constructor(
    readonly replicationFactor: number,
    readonly liveBrokers: number,
  ) {
    super(`replicationFactor ${replicationFactor} is more than the ${liveBrokers} live broker${liveBrokers === 1 ? '' : 's'}: use at most ${liveBrokers}, or start more brokers`);
    this.name = 'ReplicationFactorError';
  }
}

/**
 * Replicas (node ids) for each of `partitions` partitions. `start` and `shift` pick where the
 * round-robin begins (random in production, fixed in tests).
 */
export function assignReplicas(brokers: number[], partitions: number, replicationFactor: number, start = Math.floor(Math.random() * brokers.length), shift = Math.floor(Math.random() * brokers.length)): number[][] {
  const ids = [...new Set(brokers)].sort((a, b) => a - b);
  const n = ids.length;
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new RangeError(`replicationFactor must be a whole number >= 1, got ${replicationFactor}`);
  if (replicationFactor > n) throw new ReplicationFactorError(replicationFactor, n);
  const out: number[][] = [];
  let nextShift = shift;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && (start + p) % n === 0) nextShift++;
    const first = (start + p) % n;
    const replicas = [ids[first]];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(ids[(first + 1 + ((nextShift + j) % (n - 1))) % n]);
    out.push(replicas);
  }
  return out;
}

/**
 * The controller's first write for a new topic's partitions: leader = the preferred (first)
 * replica, leader epoch 0, every replica in sync (none holds data yet). Fenced by `controllerEpoch`
 * (a FencedError propagates). A partition that already has the same replicas is left as it is, so
 * a controller that retries after a failure writes nothing twice; other replicas there reject.
 * `assignment[i]` is partition `first + i`'s (partitions added to a topic start at its old count).
 */
export async function createPartitionStates(coordinator: Coordinator, controllerEpoch: number, topic: string, assignment: number[][], first = 0): Promise<PartitionState[]> {
  const states: PartitionState[] = [];
  for (const [i, replicas] of assignment.entries()) {
    const partition = first + i;
    const state: PartitionState = { leader: replicas[0], leaderEpoch: 0, replicas, isr: [...replicas], controllerEpoch };
    const r = await coordinator.writePartitionState(topic, partition, state, null);
    if (r.ok) states.push(state);
    else if (r.current !== null && r.current.value.replicas.join() === replicas.join()) states.push(r.current.value);
    else throw new Error(`partition ${topic}/${partition} already has replicas ${JSON.stringify(r.current?.value.replicas)}, not ${JSON.stringify(replicas)}`);
  }
  return states;
}

/**
 * The controller's part of creating a topic in a cluster: assigns its replicas over the live
 * brokers (ReplicationFactorError when there are too few), writes each partition's first state,
 * then the topic itself, every write fenced by `controllerEpoch`. Brokers create their copies
 * when they see the topic, so a topic that is visible always has its partition states. A retry
 * with the same topic id writes nothing twice.
 */
export async function defineTopic(coordinator: Coordinator, controllerEpoch: number, topic: ClusterTopic): Promise<PartitionState[]> {
  const live = (await coordinator.brokers()).map((b) => b.nodeId);
  const states = await createPartitionStates(coordinator, controllerEpoch, topic.id, assignReplicas(live, topic.partitions, topic.replicationFactor));
  await coordinator.writeTopic(topic, controllerEpoch);
  return states;
}
