/**
 * The message table, part 4: transactions (KIP-98, KIP-447), written from Kafka's published
 * message definitions like parts 1 to 3. AddPartitionsToTxn versions 4 and 5 carry a batch of
 * transactions (Kafka meant them for brokers; @platformatic/kafka sends them as a client).
 */
import { api, arr, f } from './schema.js';

const producerFields = [f('producerId', 'int64'), f('producerEpoch', 'int16')];

export const AddPartitionsToTxn = api(24, 'AddPartitionsToTxn', '0-5', '3+', [
  arr('transactions', '4+', [
    f('transactionalId', 'string', '4+'),
    f('producerId', 'int64', '4+'),
    f('producerEpoch', 'int16', '4+'),
    f('verifyOnly', 'bool', '4+'),
    arr('topics', '4+', [f('name', 'string', '4+'), f('partitions', '[]int32', '4+')]),
  ]),
  f('transactionalId', 'string', '0-3'),
  f('producerId', 'int64', '0-3'),
  f('producerEpoch', 'int16', '0-3'),
  arr('topics', '0-3', [f('name', 'string'), f('partitions', '[]int32')]),
], [
  f('throttleTimeMs', 'int32'),
  f('errorCode', 'int16', '4+'),
  arr('resultsByTransaction', '4+', [
    f('transactionalId', 'string', '4+'),
    arr('topicResults', '4+', [
      f('name', 'string', '4+'),
      arr('resultsByPartition', '4+', [f('partitionIndex', 'int32', '4+'), f('partitionErrorCode', 'int16', '4+')]),
    ]),
  ]),
  arr('results', '0-3', [
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
