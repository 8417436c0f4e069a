/**
 * The HTTP contract of consumer groups: joining, polling, committing, and the admin calls.
 * Kafka's names (generationId is called `generation` on the wire, memberId, group states).
 */
import { Type, type Static } from '@sinclair/typebox';
import { FetchedRecordSchema, IsolationSchema, ReadValueFormatSchema } from './schemas.js';
import { AuthorizedOperationsSchema } from './broker-info.js';

const NamePattern = '^[a-zA-Z0-9._-]{1,249}$';
/** The longest subscription pattern accepted (characters); the broker checks it again when compiling. */
export const MAX_PATTERN_LENGTH = 1000;

export const ASSIGNMENT_STRATEGIES = ['sticky', 'range', 'roundrobin'] as const;
export type AssignmentStrategy = (typeof ASSIGNMENT_STRATEGIES)[number];
export const GROUP_STATES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'] as const;
export type GroupState = (typeof GROUP_STATES)[number];

export const TopicPartitionSchema = Type.Object({ topic: Type.String(), partition: Type.Integer({ minimum: 0 }) });
export type TopicPartition = Static<typeof TopicPartitionSchema>;

export const JoinGroupBody = Type.Object(
  {
    topics: Type.Optional(Type.Array(Type.String({ pattern: NamePattern }), { maxItems: 10_000, description: 'Subscribe to these topics (missing ones are picked up when created)' })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PATTERN_LENGTH, description: 'Subscribe to every topic whose whole name matches this regular expression (RE2 syntax, matched in linear time), now and later' })),
    clientId: Type.Optional(Type.String({ pattern: NamePattern, description: 'A name for this client, shown by describe and used as the member id prefix' })),
    autoCommit: Type.Optional(Type.Boolean({ description: 'Commit what earlier polls delivered, at the next poll once autoCommitIntervalMs passed, and on leave (default true)' })),
    autoCommitIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'Default 5000' })),
    autoOffsetReset: Type.Optional(Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('none')], { description: 'Where to start without a committed offset (default latest); none answers NO_OFFSET_FOR_PARTITION' })),
    sessionTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 1_800_000, description: 'The member leaves the group when no poll, commit or heartbeat arrives for this long (default 45000)' })),
    maxPollRecords: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Records per poll when the poll does not say (default 500)' })),
    assignmentStrategy: Type.Optional(Type.Union(ASSIGNMENT_STRATEGIES.map((s) => Type.Literal(s)), { description: 'sticky (default: moves as few partitions as possible), range or roundrobin; fixed by the first member' })),
    delivery: Type.Optional(Type.Union([Type.Literal('at-least-once'), Type.Literal('at-most-once')], { description: 'at-most-once commits records as they are delivered; at-least-once (default) commits what the client acknowledges' })),
  },
  { additionalProperties: false },
);
export type JoinGroupBody = Static<typeof JoinGroupBody>;

export const SubscriptionBody = Type.Object(
  {
    topics: Type.Optional(Type.Array(Type.String({ pattern: NamePattern }), { maxItems: 10_000 })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PATTERN_LENGTH })),
  },
  { additionalProperties: false },
);
export type SubscriptionBody = Static<typeof SubscriptionBody>;

export const MembershipResponse = Type.Object({
  memberId: Type.String(),
  generation: Type.Integer({ description: 'Kafka\'s generationId: bumped by every rebalance' }),
  assignment: Type.Array(TopicPartitionSchema),
  state: Type.Optional(Type.Union(GROUP_STATES.map((s) => Type.Literal(s)))),
});

export const PollQuery = Type.Object({
  maxRecords: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Default: the member\'s maxPollRecords' })),
  maxBytes: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })),
  maxWaitMs: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Wait this long for an assignment and records when none are available' })),
  generation: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'The generation the client believes current; an older one is refused with STALE_GENERATION' })),
  keyFormat: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('binary')])),
  valueFormat: Type.Optional(ReadValueFormatSchema),
  isolation: Type.Optional(IsolationSchema),
});
export type PollQuery = Static<typeof PollQuery>;

export const PollResponse = Type.Object({
  records: Type.Array(FetchedRecordSchema),
  generation: Type.Integer(),
  assignment: Type.Array(TopicPartitionSchema),
});

export const OffsetCommitSchema = Type.Object(
  {
    topic: Type.String({ pattern: NamePattern }),
    partition: Type.Integer({ minimum: 0 }),
    offset: Type.Integer({ minimum: 0, description: 'The next offset to read, as in Kafka' }),
    metadata: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);

export const CommitBody = Type.Object(
  {
    offsets: Type.Optional(Type.Array(OffsetCommitSchema, { maxItems: 100_000 })),
    generation: Type.Optional(Type.Integer({ minimum: 0, description: 'The generation the offsets were read in (default: the last one this member learned)' })),
  },
  { additionalProperties: false, description: 'Without offsets: commit everything delivered to this member so far' },
);
export type CommitBody = Static<typeof CommitBody>;

export const StandaloneCommitBody = Type.Object({ offsets: Type.Array(OffsetCommitSchema, { minItems: 1, maxItems: 100_000 }) }, { additionalProperties: false });
export type StandaloneCommitBody = Static<typeof StandaloneCommitBody>;

export const CommittedOffsetSchema = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  offset: Type.Integer(),
  metadata: Type.Union([Type.String(), Type.Null()]),
});

export const CommitResponse = Type.Object({ offsets: Type.Array(CommittedOffsetSchema) });

export const GroupOffsetSchema = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  committed: Type.Union([Type.Integer(), Type.Null()], { description: 'The committed offset, null when none' }),
  metadata: Type.Union([Type.String(), Type.Null()]),
  highWatermark: Type.Union([Type.Integer(), Type.Null()], { description: 'null when the topic no longer exists' }),
  lag: Type.Union([Type.Integer(), Type.Null()], { description: 'highWatermark - committed; null when either is unknown' }),
});

export const GroupMemberSchema = Type.Object({
  memberId: Type.String(),
  clientId: Type.String(),
  clientHost: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  joinedAt: Type.Integer(),
  lastSeenAt: Type.Integer(),
  sessionTimeoutMs: Type.Integer(),
  generation: Type.Integer({ description: 'The last generation this member learned' }),
  subscription: Type.Object({ topics: Type.Optional(Type.Array(Type.String())), pattern: Type.Optional(Type.String()) }),
  delivery: Type.String(),
  autoCommit: Type.Boolean(),
  assignment: Type.Array(TopicPartitionSchema),
});

export const GroupDescription = Type.Object({
  group: Type.String(),
  state: Type.Union(GROUP_STATES.map((s) => Type.Literal(s))),
  generation: Type.Integer(),
  assignmentStrategy: Type.Union([Type.String(), Type.Null()]),
  protocolType: Type.Optional(Type.String({ description: 'Kafka\'s protocol type ("consumer") of a group whose members joined over the Kafka protocol; absent for HTTP groups' })),
  members: Type.Array(GroupMemberSchema),
  offsets: Type.Array(GroupOffsetSchema),
  totalLag: Type.Integer(),
  authorizedOperations: Type.Optional(AuthorizedOperationsSchema),
});

export const GroupSummary = Type.Object({ group: Type.String(), state: Type.String(), members: Type.Integer(), generation: Type.Integer() });

export const ResetOffsetsBody = Type.Object(
  {
    to: Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('timestamp'), Type.Literal('offsets')]),
    timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'With to=timestamp: the first record at or after this time (ms)' })),
    offsets: Type.Optional(Type.Array(OffsetCommitSchema, { description: 'With to=offsets: the offsets to set' })),
    topics: Type.Optional(Type.Array(Type.String({ pattern: NamePattern }), { description: 'Reset every partition of these topics (default: the partitions with committed offsets)' })),
    dryRun: Type.Optional(Type.Boolean({ description: 'Answer what would be set, change nothing' })),
  },
  { additionalProperties: false },
);
export type ResetOffsetsBody = Static<typeof ResetOffsetsBody>;

export const ResetOffsetsResponse = Type.Object({
  dryRun: Type.Boolean(),
  offsets: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer(), previous: Type.Union([Type.Integer(), Type.Null()]), offset: Type.Integer() })),
});
