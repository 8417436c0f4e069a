/**
 * What a client (the web console first) reads about the broker itself: who the brokers are, what
 * the caller may see of their load, the topic configs with their docs and defaults, and the
 * operations a caller holds on a resource (Kafka's `authorizedOperations`, KIP-430).
 */
import { Type, type Static } from '@sinclair/typebox';

export const OPERATION_NAMES = ['read', 'write', 'create', 'delete', 'alter', 'describe', 'admin'] as const;

export const AuthorizedOperationsSchema = Type.Array(Type.Union(OPERATION_NAMES.map((o) => Type.Literal(o))), {
  description: 'The operations the caller may perform on this resource (Kafka\'s authorizedOperations)',
});

export const BrokerNodeSchema = Type.Object({
  brokerId: Type.Integer(),
  host: Type.String(),
  port: Type.Integer(),
  controller: Type.Boolean(),
  alive: Type.Boolean(),
});

export const BrokerInfoSchema = Type.Object({
  version: Type.String(),
  brokerId: Type.Integer(),
  startedAt: Type.Integer({ description: 'ms since the epoch' }),
  uptimeMs: Type.Integer(),
  authEnabled: Type.Boolean(),
  brokers: Type.Array(BrokerNodeSchema),
  totals: Type.Object(
    {
      clusters: Type.Integer(),
      topics: Type.Integer(),
      partitions: Type.Integer(),
      offlinePartitions: Type.Integer(),
      underReplicatedPartitions: Type.Integer(),
      sizeBytes: Type.Integer({ description: 'Bytes on disk of the visible partitions' }),
      recordsIn: Type.Integer({ description: 'Records produced since the broker started' }),
      bytesIn: Type.Integer(),
      recordsOut: Type.Integer({ description: 'Records fetched since the broker started' }),
      bytesOut: Type.Integer(),
    },
    { description: 'Over what the caller may describe: its visible clusters and topics (internal topics for superusers)' },
  ),
  authorizedOperations: AuthorizedOperationsSchema,
});
export type BrokerInfo = Static<typeof BrokerInfoSchema>;

export const TopicConfigDocSchema = Type.Object({
  name: Type.String(),
  type: Type.Union([Type.Literal('long'), Type.Literal('enum')]),
  default: Type.Union([Type.Integer(), Type.String()]),
  min: Type.Optional(Type.Integer()),
  values: Type.Optional(Type.Array(Type.String())),
  doc: Type.String(),
});
export type TopicConfigDoc = Static<typeof TopicConfigDocSchema>;
