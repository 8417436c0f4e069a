/** Transactions (docs/transactions.md): requests and answers of /v1/clusters/{cluster}/transactions. */
import { Type, type Static } from '@sinclair/typebox';

export const InitTransactionBody = Type.Object(
  {
    transactionalId: Type.String({ minLength: 1, maxLength: 249, description: 'A stable identity: initialising it again fences the older epoch and aborts what it left open' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 900000, description: 'An open transaction older than this is aborted by the broker (default 60000)' })),
  },
  { additionalProperties: false },
);
export type InitTransactionBody = Static<typeof InitTransactionBody>;

export const TransactionProducer = Type.Object({ producerId: Type.Integer(), producerEpoch: Type.Integer() });

export const EndTransactionBody = Type.Object(
  { producerId: Type.Integer({ minimum: 0 }), producerEpoch: Type.Integer({ minimum: 0, maximum: 32767 }) },
  { additionalProperties: false },
);
export type EndTransactionBody = Static<typeof EndTransactionBody>;

/** An abort without producerId and producerEpoch is an operator's: it fences the producer too. */
export const AbortTransactionBody = Type.Object(
  { producerId: Type.Optional(Type.Integer({ minimum: 0 })), producerEpoch: Type.Optional(Type.Integer({ minimum: 0, maximum: 32767 })) },
  { additionalProperties: false },
);
export type AbortTransactionBody = Static<typeof AbortTransactionBody>;

export const TxnOffsetCommitBody = Type.Object(
  {
    producerId: Type.Integer({ minimum: 0 }),
    producerEpoch: Type.Integer({ minimum: 0, maximum: 32767 }),
    groupId: Type.String({ minLength: 1, maxLength: 249 }),
    generation: Type.Integer({ minimum: 0, description: 'The generation the records were read in: a fenced member is refused (STALE_GENERATION)' }),
    memberId: Type.String({ minLength: 1, maxLength: 512 }),
    offsets: Type.Array(
      Type.Object(
        {
          topic: Type.String({ minLength: 1, maxLength: 249 }),
          partition: Type.Integer({ minimum: 0 }),
          offset: Type.Integer({ minimum: 0, description: 'The next offset to read, as for any commit' }),
          metadata: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10000 },
    ),
  },
  { additionalProperties: false },
);
export type TxnOffsetCommitBody = Static<typeof TxnOffsetCommitBody>;

export const TransactionState = Type.Union(
  ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'].map((s) => Type.Literal(s)),
);

export const TransactionDescription = Type.Object({
  transactionalId: Type.String(),
  producerId: Type.Integer(),
  producerEpoch: Type.Integer(),
  state: TransactionState,
  timeoutMs: Type.Integer(),
  partitions: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer() })),
  offsets: Type.Array(Type.Object({ groupId: Type.String(), topic: Type.String(), partition: Type.Integer(), offset: Type.Integer() })),
  startedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'When the open transaction began (ms), null when none is open' }),
  ageMs: Type.Union([Type.Integer(), Type.Null()]),
  principal: Type.String({ description: 'The principal that owns the transactional id' }),
});
export type TransactionDescription = Static<typeof TransactionDescription>;
