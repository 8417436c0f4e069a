/**
 * The WebSocket protocol at /v1/ws: one JSON text frame per message, written once here so that the
 * broker validates with these schemas and the SDK types its socket with them.
 * docs/websocket-protocol.md describes every frame with examples.
 *
 * Requests (client -> broker) carry an `id` chosen by the client (a string or an integer); every
 * answer to a request carries the same `id`, so answers can be matched even when they arrive out
 * of order (a produce waiting for fsync is overtaken by a ping). Pushed frames (`records`,
 * `rebalance`, a subscription's `error`) carry the `subscription` id the broker returned in
 * `subscribed` instead.
 *
 *   client                          broker
 *   hello? <--------------------- {type:"hello", limits}            on connect
 *   {type:"produce", id:1, ...} -> {type:"produced", id:1, records:[{partition,offset,timestamp}]}
 *   {type:"subscribe", id:2, ...} > {type:"subscribed", id:2, subscription:"s1"}
 *                               <-- {type:"records", subscription:"s1", partition, position, records}
 *   {type:"unsubscribe", id:3, subscription:"s1"} -> {type:"unsubscribed", id:3, subscription:"s1"}
 *   anything that fails         <-- {type:"error", id, error:{code,message}}
 */
import { Type, type Static } from '@sinclair/typebox';
import { ProduceRecordSchema, FetchedRecordSchema, IsolationSchema, ReadValueFormatSchema } from './schemas.js';
import { ASSIGNMENT_STRATEGIES, MAX_PATTERN_LENGTH } from './groups.js';

const Name = Type.String({ pattern: '^[a-zA-Z0-9._-]{1,249}$' });
export const RequestId = Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer()], {
  description: 'Chosen by the client; echoed in the answer',
});
export type RequestId = Static<typeof RequestId>;
const KeyFormat = Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('binary')]));
const ValueFormat = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('binary')]));
const Offset = Type.Integer({ minimum: 0 });

// ---- client -> broker

export const ProduceFrame = Type.Object(
  {
    type: Type.Literal('produce'),
    id: RequestId,
    cluster: Name,
    topic: Name,
    records: Type.Array(ProduceRecordSchema, { minItems: 1 }),
    keyFormat: KeyFormat,
    valueFormat: ValueFormat,
    acks: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal('all')])),
    producerId: Type.Optional(Type.Integer({ minimum: 0 })),
    producerEpoch: Type.Optional(Type.Integer({ minimum: 0, maximum: 32767 })),
    sequence: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
  },
  { additionalProperties: false, description: 'Appends records, atomically per partition as POST .../records does' },
);
export type ProduceFrame = Static<typeof ProduceFrame>;

export const SubscribeTopicFrame = Type.Object(
  {
    type: Type.Literal('subscribe'),
    id: RequestId,
    cluster: Name,
    topic: Name,
    partition: Type.Optional(Type.Integer({ minimum: 0, description: 'One partition; omitted: every partition of the topic, including ones added later' })),
    offset: Type.Optional(
      Type.Union([Offset, Type.Literal('earliest'), Type.Literal('latest'), Type.String({ pattern: '^(t:[0-9a-z.]{1,30000}|[0-9]{1,16})$', description: 'A position from a records frame' })], {
        description: 'Where to start (default earliest): earliest, latest, an offset (one partition), or a records frame\'s position to resume (a decimal string for a partition, "t:..." for a topic)',
      }),
    ),
    timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'Start at the first record at or after this time (ms); not with offset' })),
    keyFormat: KeyFormat,
    valueFormat: Type.Optional(ReadValueFormatSchema),
    isolation: Type.Optional(IsolationSchema),
  },
  { additionalProperties: false },
);
export type SubscribeTopicFrame = Static<typeof SubscribeTopicFrame>;

export const SubscribeGroupFrame = Type.Object(
  {
    type: Type.Literal('subscribe'),
    id: RequestId,
    cluster: Name,
    group: Name,
    memberId: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Follow a member that joined over REST (its settings apply; it stays when the subscription ends)' })),
    topics: Type.Optional(Type.Array(Name, { minItems: 1, maxItems: 10_000, description: 'Join with these topics (without memberId; or pattern)' })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PATTERN_LENGTH, description: 'Join with every topic whose whole name matches (RE2 syntax)' })),
    clientId: Type.Optional(Name),
    autoOffsetReset: Type.Optional(Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('none')])),
    sessionTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 1_800_000 })),
    assignmentStrategy: Type.Optional(Type.Union(ASSIGNMENT_STRATEGIES.map((s) => Type.Literal(s)))),
    delivery: Type.Optional(
      Type.Union([Type.Literal('at-most-once'), Type.Literal('at-least-once')], {
        description: 'at-most-once: offsets are committed as records are sent; at-least-once (default): committed when the client acks',
      }),
    ),
    keyFormat: KeyFormat,
    valueFormat: Type.Optional(ReadValueFormatSchema),
    isolation: Type.Optional(IsolationSchema),
  },
  { additionalProperties: false, description: 'Joins the group (and leaves it when the subscription ends), or follows memberId' },
);
export type SubscribeGroupFrame = Static<typeof SubscribeGroupFrame>;

export const UnsubscribeFrame = Type.Object(
  { type: Type.Literal('unsubscribe'), id: RequestId, subscription: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>;

export const CommitFrame = Type.Object(
  {
    type: Type.Literal('commit'),
    id: RequestId,
    subscription: Type.String({ minLength: 1, maxLength: 64, description: 'A group subscription of this socket' }),
    offsets: Type.Array(Type.Object({ topic: Name, partition: Type.Integer({ minimum: 0 }), offset: Offset }, { additionalProperties: false }), {
      minItems: 1,
      description: 'Kafka semantics: the offset of the NEXT record to consume',
    }),
  },
  { additionalProperties: false },
);
export type CommitFrame = Static<typeof CommitFrame>;

export const AckFrame = Type.Object(
  {
    type: Type.Literal('ack'),
    id: RequestId,
    subscription: Type.String({ minLength: 1, maxLength: 64 }),
    topic: Name,
    partition: Type.Integer({ minimum: 0 }),
    offset: Type.Integer({ minimum: 0, description: 'The last record processed: everything up to and including it is committed' }),
  },
  { additionalProperties: false },
);
export type AckFrame = Static<typeof AckFrame>;

export const PingFrame = Type.Object({ type: Type.Literal('ping'), id: RequestId }, { additionalProperties: false });
export type PingFrame = Static<typeof PingFrame>;

export const ClientFrame = Type.Union([ProduceFrame, SubscribeTopicFrame, SubscribeGroupFrame, UnsubscribeFrame, CommitFrame, AckFrame, PingFrame]);
export type ClientFrame = Static<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['type'];
/** Schema of each request type, so a bad frame is reported against the type it claims to be. */
export const ClientFrameSchemas = {
  produce: ProduceFrame,
  subscribe: Type.Union([SubscribeTopicFrame, SubscribeGroupFrame]),
  unsubscribe: UnsubscribeFrame,
  commit: CommitFrame,
  ack: AckFrame,
  ping: PingFrame,
} as const;

// ---- broker -> client

const ErrorObject = Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true });

export const HelloFrame = Type.Object({
  type: Type.Literal('hello'),
  limits: Type.Object({ maxFrameBytes: Type.Integer(), maxSubscriptions: Type.Integer() }),
});
export type HelloFrame = Static<typeof HelloFrame>;

export const ProducedFrame = Type.Object({
  type: Type.Literal('produced'),
  id: RequestId,
  records: Type.Array(Type.Object({ partition: Type.Integer(), offset: Type.Integer(), timestamp: Type.Integer() }), {
    description: 'One per record of the request, in order',
  }),
});
export type ProducedFrame = Static<typeof ProducedFrame>;

export const SubscribedFrame = Type.Object({ type: Type.Literal('subscribed'), id: RequestId, subscription: Type.String() });
export type SubscribedFrame = Static<typeof SubscribedFrame>;

export const RecordsFrame = Type.Object({
  type: Type.Literal('records'),
  subscription: Type.String(),
  topic: Type.String(),
  partition: Type.Integer(),
  position: Type.String({
    description: 'Where the subscription resumes after this frame: the next offset (one partition) or a topic position "t:..." (sse.ts); pass it as offset to subscribe again',
  }),
  generation: Type.Optional(Type.Integer({ description: 'Group subscriptions: the generation the records were read in (ack and commit in it)' })),
  records: Type.Array(FetchedRecordSchema),
});
export type RecordsFrame = Static<typeof RecordsFrame>;

export const RebalanceFrame = Type.Object({
  type: Type.Literal('rebalance'),
  subscription: Type.String(),
  memberId: Type.String(),
  generation: Type.Integer({ description: 'Kafka\'s generationId' }),
  assignment: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer() })),
});
export type RebalanceFrame = Static<typeof RebalanceFrame>;

export const UnsubscribedFrame = Type.Object({ type: Type.Literal('unsubscribed'), id: RequestId, subscription: Type.String() });
export type UnsubscribedFrame = Static<typeof UnsubscribedFrame>;

export const CommittedFrame = Type.Object({ type: Type.Literal('committed'), id: RequestId });
export type CommittedFrame = Static<typeof CommittedFrame>;

export const AckedFrame = Type.Object({ type: Type.Literal('acked'), id: RequestId });
export type AckedFrame = Static<typeof AckedFrame>;

export const PongFrame = Type.Object({ type: Type.Literal('pong'), id: RequestId });
export type PongFrame = Static<typeof PongFrame>;

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  id: Type.Optional(Type.Union([RequestId, Type.Null()], { description: 'The failed request\'s id; null when the frame could not be read' })),
  subscription: Type.Optional(Type.String({ description: 'Set when a subscription failed: it has ended' })),
  error: ErrorObject,
});
export type ErrorFrame = Static<typeof ErrorFrame>;

export const ServerFrame = Type.Union([
  HelloFrame,
  ProducedFrame,
  SubscribedFrame,
  RecordsFrame,
  RebalanceFrame,
  UnsubscribedFrame,
  CommittedFrame,
  AckedFrame,
  PongFrame,
  ErrorFrame,
]);
export type ServerFrame = Static<typeof ServerFrame>;

/** Close code the broker uses when it shuts down (clients reconnect and resume). */
export const WS_CLOSE_GOING_AWAY = 1001;
/** Close code for a frame larger than maxFrameBytes (RFC 6455 "message too big"). */
export const WS_CLOSE_TOO_BIG = 1009;
