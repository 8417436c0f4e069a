/**
 * What a cluster's partition moves answer (docs/replication.md#moving-partitions-and-draining-brokers):
 * a partition's reassignment, a preferred-leader election's outcome per partition, and how far a
 * broker's drain has come. The broker's routes validate against these; the SDK returns them.
 */
import { Type, type Static } from '@sinclair/typebox';

const NodeIds = Type.Array(Type.Integer());
const PartitionRef = { cluster: Type.String(), topic: Type.String(), partition: Type.Integer() };

export const ReassignmentSchema = Type.Object({
  ...PartitionRef,
  inProgress: Type.Boolean({ description: 'True while replicas are being added or removed' }),
  targetReplicas: Type.Array(Type.Integer(), { description: 'The replicas it ends with, the preferred leader first (the current ones when none runs)' }),
  adding: Type.Array(Type.Object({ nodeId: Type.Integer(), inSync: Type.Boolean() }), { description: 'Replicas being added, each with whether it has caught up and joined the ISR' }),
  removing: Type.Array(Type.Integer(), { description: 'Replicas removed once every added one is in sync and leadership has moved off them' }),
  replicas: NodeIds,
  isr: NodeIds,
  leader: Type.Integer(),
  leaderEpoch: Type.Integer(),
});
export type Reassignment = Static<typeof ReassignmentSchema>;

export const PreferredLeaderResultSchema = Type.Object({
  ...PartitionRef,
  preferredLeader: Type.Integer(),
  leader: Type.Integer(),
  result: Type.Union([Type.Literal('elected'), Type.Literal('already-leader'), Type.Literal('not-available'), Type.Literal('failed')], {
    description: 'not-available: the first replica is down, out of sync or being drained; failed: the state changed meanwhile, ask again',
  }),
});
export type PreferredLeaderResult = Static<typeof PreferredLeaderResultSchema>;

export const DrainStatusSchema = Type.Object({
  nodeId: Type.Integer(),
  draining: Type.Boolean(),
  replicas: Type.Boolean({ description: 'Its replicas move to other brokers too' }),
  since: Type.Union([Type.Integer(), Type.Null()], { description: 'When the drain was asked for (ms since the epoch)' }),
  leaderships: Type.Integer({ description: 'Partitions it still leads' }),
  inSyncReplicas: Type.Integer({ description: 'Partitions whose ISR still holds it' }),
  hostedReplicas: Type.Integer({ description: 'Partitions it holds a replica of' }),
  done: Type.Boolean({ description: 'Nothing left: it can be stopped' }),
  blocked: Type.Array(Type.Object(PartitionRef), { description: 'Partitions whose leadership has nowhere to go (no other live in-sync replica)' }),
});
export type DrainStatus = Static<typeof DrainStatusSchema>;
