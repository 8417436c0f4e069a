/**
 * The HTTP contract, written once (DESIGN decision 4): these schemas validate requests in the
 * broker, type the handlers and the SDK, and generate /openapi.json. Pure data; no Node APIs.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { AuthorizedOperationsSchema } from './broker-info.js';

const Name = (what: string) => Type.String({ pattern: '^[a-zA-Z0-9._-]{1,249}$', description: `${what} name: [a-zA-Z0-9._-], 1 to 249 characters` });

export const ErrorSchema = Type.Object(
  {
    error: Type.Object(
      { code: Type.String({ description: 'Stable machine-readable code (docs/errors.md)' }), message: Type.String() },
      { additionalProperties: true },
    ),
  },
  { $id: 'Error', description: 'Every error answer has this shape' },
);

export const ConfigsSchema = Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String(), Type.Null()]), {
  description: 'Topic configs by Kafka name (retention.ms, retention.bytes, segment.bytes, cleanup.policy, ...); null removes an override',
});

export const ClusterDefaultsSchema = Type.Object(
  {
    partitions: Type.Optional(Type.Integer({ minimum: 1 })),
    replicationFactor: Type.Optional(Type.Integer({ minimum: 1 })),
    configs: Type.Optional(ConfigsSchema),
  },
  { additionalProperties: false },
);

export const CreateClusterBody = Type.Object(
  { name: Name('Cluster'), description: Type.Optional(Type.String({ maxLength: 1000 })), defaults: Type.Optional(ClusterDefaultsSchema) },
  { additionalProperties: false },
);
export type CreateClusterBody = Static<typeof CreateClusterBody>;

export const UpdateClusterBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 1000 })), defaults: Type.Optional(ClusterDefaultsSchema) },
  { additionalProperties: false },
);
export type UpdateClusterBody = Static<typeof UpdateClusterBody>;

export const ClusterSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  createdAt: Type.Integer(),
  defaults: Type.Object({ partitions: Type.Integer(), replicationFactor: Type.Integer(), configs: Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String()])) }),
  topics: Type.Optional(Type.Integer()),
  authorizedOperations: Type.Optional(AuthorizedOperationsSchema),
});

export const CreateTopicBody = Type.Object(
  {
    name: Name('Topic'),
    partitions: Type.Optional(Type.Integer({ minimum: 1 })),
    replicationFactor: Type.Optional(Type.Integer({ minimum: 1 })),
    configs: Type.Optional(ConfigsSchema),
  },
  { additionalProperties: false },
);
export type CreateTopicBody = Static<typeof CreateTopicBody>;

export const AlterTopicBody = Type.Object(
  {
    partitions: Type.Optional(Type.Integer({ minimum: 1, description: 'New partition count; can only grow' })),
    configs: Type.Optional(ConfigsSchema),
  },
  { additionalProperties: false },
);
export type AlterTopicBody = Static<typeof AlterTopicBody>;

export const PartitionInfoSchema = Type.Object({
  partition: Type.Integer(),
  /** Node id of the leader (a single node: 0, itself); -1 while no replica can lead. */
  leader: Type.Integer(),
  /** Raised on every change of leader (docs/replication.md). */
  leaderEpoch: Type.Integer(),
  /** Node ids holding a copy, preferred leader first. */
  replicas: Type.Array(Type.Integer()),
  /** The in-sync replicas: the high watermark is the least durable end among them. */
  isr: Type.Array(Type.Integer()),
  logStartOffset: Type.Integer(),
  highWatermark: Type.Integer(),
  /** The end of this broker's copy (written, perhaps not yet durable or replicated). */
  logEndOffset: Type.Integer(),
  sizeBytes: Type.Integer(),
  segments: Type.Integer(),
  offline: Type.Union([Type.String(), Type.Null()]),
});

export const TopicSchema = Type.Object({
  name: Type.String(),
  cluster: Type.String(),
  partitions: Type.Integer(),
  replicationFactor: Type.Integer(),
  configs: Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String()])),
  createdAt: Type.Integer(),
});

export const HeadersSchema = Type.Union([
  Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])),
  Type.Array(Type.Object({ key: Type.String(), value: Type.Union([Type.String(), Type.Null()]) })),
]);

export const ProduceRecordSchema = Type.Object(
  {
    key: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'UTF-8 text, or base64 when keyFormat is binary' })),
    value: Type.Unknown({ description: 'Any JSON value (stored as its JSON text); a string of text or base64 with valueFormat text or binary; null is a tombstone' }),
    headers: Type.Optional(HeadersSchema),
    partition: Type.Optional(Type.Integer({ minimum: 0 })),
    timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'Milliseconds since the epoch; defaults to now' })),
  },
  { additionalProperties: false },
);
export type ProduceRecord = Static<typeof ProduceRecordSchema>;

export const ProduceBody = Type.Object(
  {
    records: Type.Array(ProduceRecordSchema),
    keyFormat: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('binary')])),
    valueFormat: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('binary')])),
    producerId: Type.Optional(Type.Integer({ description: 'From POST /v1/clusters/{cluster}/producers; with producerEpoch and sequence makes the request idempotent' })),
    producerEpoch: Type.Optional(Type.Integer()),
    sequence: Type.Optional(Type.Integer({ minimum: 0, description: 'This request\'s number for this producer and topic: 0, 1, 2, ...' })),
    transactionalId: Type.Optional(Type.String({ description: 'Write as part of this transactional id\'s open transaction (with producerId, producerEpoch and sequence from POST /v1/clusters/{cluster}/transactions)' })),
  },
  { additionalProperties: false, description: 'Records to append; a single record object is accepted too' },
);
export type ProduceBody = Static<typeof ProduceBody>;

export const ProduceResponse = Type.Object({
  records: Type.Array(Type.Object({ partition: Type.Integer(), offset: Type.Integer(), timestamp: Type.Integer() })),
});

/** The answer to a binary produce body: one entry per partition frame (record i is at baseOffset + i). */
export const ProduceBatchResponse = Type.Object({
  partitions: Type.Array(
    Type.Object({
      partition: Type.Integer(),
      baseOffset: Type.Integer({ description: 'offset of the batch\'s first record; record i is at baseOffset + i' }),
      count: Type.Integer(),
      logAppendTime: Type.Integer({ description: 'on a LogAppendTime topic the timestamp of every record, else -1 (records keep their own)' }),
    }),
  ),
});

export const FetchedRecordSchema = Type.Object({
  topic: Type.Optional(Type.String()),
  partition: Type.Optional(Type.Integer()),
  offset: Type.Integer(),
  timestamp: Type.Integer(),
  key: Type.Union([Type.String(), Type.Null()]),
  value: Type.Unknown(),
  headers: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])),
  keyEncoding: Type.Optional(Type.Literal('base64')),
  valueEncoding: Type.Optional(Type.Literal('base64')),
});

export const FetchResponse = Type.Object({
  records: Type.Array(FetchedRecordSchema),
  nextOffset: Type.Integer(),
  highWatermark: Type.Integer(),
  lastStableOffset: Type.Integer({ description: 'Where read_committed reads stop: below the first record of a transaction not yet decided' }),
  logStartOffset: Type.Integer(),
  scanned: Type.Optional(Type.Integer({ description: 'Search (match) only: the records looked through' })),
});

/** How a reader sees values (docs/values.md): omitted, each as it was produced. */
export const ReadValueFormatSchema = Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('binary')], {
  description: 'How values are shown. Omitted (recommended): each as it was produced: JSON as JSON, text as the same text, binary as base64 with valueEncoding. json, text or binary: every value in that format, base64 with valueEncoding where it cannot be. See docs/values.md',
});

export const IsolationSchema = Type.Union([Type.Literal('read_uncommitted'), Type.Literal('read_committed')], {
  description: 'read_committed: only records of committed transactions (and non-transactional ones), up to the last stable offset. Default read_uncommitted',
});

export const FetchQuery = Type.Object({
  offset: Type.Optional(Type.String({ pattern: '^([0-9]{1,16}|earliest|latest)$', description: 'An offset, earliest or latest (default earliest)' })),
  timestamp: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$', description: 'Start at the first record at or after this time (ms)' })),
  maxRecords: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })),
  maxBytes: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })),
  maxWaitMs: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Long-poll: wait this long for a record when none is available' })),
  keyFormat: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('binary')])),
  valueFormat: Type.Optional(ReadValueFormatSchema),
  isolation: Type.Optional(IsolationSchema),
  match: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Search: answer only the records whose key, value or headers (see matchIn) contain this text, ignoring case; the broker looks through at most maxScan records from the start' })),
  matchIn: Type.Optional(Type.Union([Type.Literal('any'), Type.Literal('key'), Type.Literal('value'), Type.Literal('headers')], { description: 'Where match looks: key, value, headers (name=value) or any of them (default)' })),
  maxScan: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Search: records to look through at most (default 10000, at most the broker setting maxFetchScanRecords); nextOffset resumes past the last one' })),
});
export type FetchQuery = Static<typeof FetchQuery>;

export const CreateProducerBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 249, description: 'A stable identity: asking again with the same name bumps the epoch and fences the old one' })) },
  { additionalProperties: false },
);

export type { TSchema, Static };
