/**
 * The controller's planned moves of partitions, as pure functions from a partition's state to the
 * next one to write (null: nothing to write). The replica manager writes each by compare-and-swap
 * on the state's revision, fenced by the controller epoch, and calls them again on every change,
 * so a move goes on from wherever the last write left it, on this controller or the next.
 *
 * Reassignment (Kafka's KIP-455 order):
 *   replicas [1,2,3] -> target [2,3,4]:
 *   start     replicas [2,3,4,1], adding [4], removing [1]     4 follows, catches up, joins the ISR
 *   leader    leader 1 is removed: leader 2 (the first target replica in the ISR), epoch +1
 *   finish    replicas [2,3,4], ISR without 1, no adding/removing; 1 stops following, drops its copy
 *
 * Preferred leader: the first replica leads again when it is alive and in the ISR.
 * Draining a broker: leadership moves to another live ISR member; then the broker leaves the ISR
 * of every partition (or, with its replicas moving too, each partition is reassigned to a broker
 * that holds no replica of it), so that stopping it makes no acks=all write wait for it.
 */
import type { PartitionState } from './coordinator.js';

/** Why a reassignment request is refused: a stable code and what to fix. */
export class MoveInputError extends Error {
  constructor(
    readonly code: 'INVALID_REPLICATION_FACTOR' | 'INVALID_REPLICAS' | 'BROKER_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'MoveInputError';
  }
}

/** Checks a target replica list against the live brokers: throws MoveInputError, changes nothing. */
export function checkReplicas(replicas: readonly number[], live: ReadonlySet<number>): void {
  if (replicas.length > live.size) throw new MoveInputError('INVALID_REPLICATION_FACTOR', `${replicas.length} replicas are more than the ${live.size} live broker${live.size === 1 ? '' : 's'} (${[...live].sort((a, b) => a - b).join(', ')}): name at most ${live.size}`);
  const dup = replicas.find((n, i) => replicas.indexOf(n) !== i);
  if (dup !== undefined) throw new MoveInputError('INVALID_REPLICAS', `broker ${dup} appears twice in replicas ${JSON.stringify(replicas)}: name each broker once`);
  const unknown = replicas.find((n) => !live.has(n));
  if (unknown !== undefined) throw new MoveInputError('BROKER_NOT_FOUND', `broker ${unknown} is not a live broker of this cluster (live: ${[...live].sort((a, b) => a - b).join(', ')}): name live brokers only (GET /v1/brokers)`);
}

/** The replicas a running reassignment ends with, or the replicas when none runs. */
export function targetReplicas(state: PartitionState): number[] {
  const removing = state.removing ?? [];
  return state.replicas.filter((n) => !removing.includes(n));
}

export function reassigning(state: PartitionState): boolean {
  return state.adding !== undefined || state.removing !== undefined;
}

/** The first write of a reassignment to `target` (same members in another order: just reordered). */
export function startReassignment(state: PartitionState, target: readonly number[], controllerEpoch: number): PartitionState {
  const adding = target.filter((n) => !state.replicas.includes(n));
  const removing = state.replicas.filter((n) => !target.includes(n));
  if (adding.length === 0 && removing.length === 0) return { ...state, replicas: [...target], controllerEpoch };
  return { ...state, replicas: [...target, ...removing], adding, removing, controllerEpoch };
}

/**
 * The next step of a running reassignment: none while an added replica is not in the ISR yet;
 * then a new leader when the leader is being removed; then the final replica set.
 */
export function advanceReassignment(state: PartitionState, live: ReadonlySet<number>, avoid: ReadonlySet<number>, controllerEpoch: number): PartitionState | null {
  if (!reassigning(state)) return null;
  if ((state.adding ?? []).some((n) => !state.isr.includes(n))) return null;
  const target = targetReplicas(state);
  if (!target.includes(state.leader)) {
    const candidates = target.filter((n) => state.isr.includes(n) && live.has(n));
    const leader = candidates.find((n) => !avoid.has(n)) ?? candidates[0];
    if (leader === undefined) return null;
    return { ...state, leader, leaderEpoch: state.leaderEpoch + 1, controllerEpoch };
  }
  const { adding: _a, removing: _r, ...rest } = state;
  return { ...rest, replicas: target, isr: state.isr.filter((n) => target.includes(n)), controllerEpoch };
}

/** Leadership back to the first replica, when it is alive, in the ISR, not being drained and not leading already. */
export function preferredLeader(state: PartitionState, live: ReadonlySet<number>, avoid: ReadonlySet<number>, controllerEpoch: number): PartitionState | null {
  const preferred = state.replicas[0];
  if (preferred === undefined || state.leader === preferred || state.leader < 0 || !state.isr.includes(preferred) || !live.has(preferred) || avoid.has(preferred)) return null;
  return { ...state, leader: preferred, leaderEpoch: state.leaderEpoch + 1, controllerEpoch };
}

/**
 * One step of draining the brokers in `draining` from a partition that is not being reassigned:
 * move leadership off them; then take them out of the ISR (`moveReplicas` false), or reassign
 * their replicas to `spare(state)` (true). Null when there is nothing to do, or nothing possible.
 */
export function drainStep(state: PartitionState, draining: ReadonlySet<number>, live: ReadonlySet<number>, moveReplicas: (n: number) => boolean, spare: (state: PartitionState, replacing: number) => number | undefined, controllerEpoch: number): PartitionState | null {
  if (reassigning(state)) return null;
  if (draining.has(state.leader)) {
    const leader = state.isr.find((n) => live.has(n) && !draining.has(n));
    if (leader === undefined) return null;
    return { ...state, leader, leaderEpoch: state.leaderEpoch + 1, controllerEpoch };
  }
  if (state.leader < 0) return null;
  const moving = state.replicas.filter((n) => draining.has(n) && moveReplicas(n));
  if (moving.length > 0) {
    const target = [...state.replicas];
    for (const n of moving) {
      const to = spare({ ...state, replicas: target }, n);
      if (to !== undefined) target[target.indexOf(n)] = to;
    }
    return target.join() === state.replicas.join() ? null : startReassignment(state, target, controllerEpoch);
  }
  const isr = state.isr.filter((n) => !draining.has(n));
  if (isr.length === state.isr.length || isr.length === 0) return null;
  return { ...state, isr, controllerEpoch };
}
