/**
 * The message table, part 4: transactions (KIP-98, KIP-447), written from Kafka's published
 * message definitions like parts 1 to 3. AddPartitionsToTxn stops at version 3: version 4 is the
 * broker-to-broker batched form no client sends.
 */
import { api, arr, f } from './schema.js';

const producerFields = [f('producerId', 'int64'), f('producerEpoch', 'int16')];

export const AddPartitionsToTxn = api(24, 'AddPartitionsToTxn', '0-3', '3+', [
  f('transactionalId', 'string'),
  ...producerFields,
  arr('topics', '0+', [f('name', 'string'), f('partitions', '[]int32')]),
], [
  f('throttleTimeMs', 'int32'),
  arr('results', '0+', [
    f('name', 'string'),
    arr('results', '0+', [f('partitionIndex', 'int32'), f('errorCode', 'int16')]),
  ]),
]);

export const AddOffsetsToTxn = api(25, 'AddOffsetsToTxn', '0-3', '3+', [
  f('transactionalId', 'string'),
  ...producerFields,
  f('groupId', 'string'),
], [
  f('throttleTimeMs', 'int32'),
  f('errorCode', 'int16'),
]);

export const EndTxn = api(26, 'EndTxn', '0-3', '3+', [
  f('transactionalId', 'string'),
  ...producerFields,
  f('committed', 'bool'),
], [
  f('throttleTimeMs', 'int32'),
  f('errorCode', 'int16'),
]);

export const TxnOffsetCommit = api(28, 'TxnOffsetCommit', '0-3', '3+', [
  f('transactionalId', 'string'),
  f('groupId', 'string'),
  ...producerFields,
  f('generationId', 'int32', '3+', { default: -1 }),
  f('memberId', 'string', '3+', { default: '' }),
  f('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  arr('topics', '0+', [
    f('name', 'string'),
    arr('partitions', '0+', [
      f('partitionIndex', 'int32'),
      f('committedOffset', 'int64'),
      f('committedLeaderEpoch', 'int32', '2+', { default: -1 }),
      f('committedMetadata', 'string', '0+', { nullable: '0+' }),
    ]),
  ]),
], [
  f('throttleTimeMs', 'int32'),
  arr('topics', '0+', [
    f('name', 'string'),
    arr('partitions', '0+', [f('partitionIndex', 'int32'), f('errorCode', 'int16')]),
  ]),
]);
